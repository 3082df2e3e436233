/** One webhook delivery from a sandbox to the service, timed by the sender. */
export interface TappedWebhook {
  source: 'storeganise' | 'zendesk';
  /** Epoch ms when the sandbox handed the delivery to `fetch`: the moment the webhook is sent. */
  sentAtMs: number;
  /** Time until the service's answer arrived (status line and headers), in ms. */
  answerMs: number | null;
  status: number | null;
  eventId: string;
  type: string;
  /** Storeganise `data.userId` or Zendesk `detail.id`. */
  userId: string;
  /** Storeganise `data.changedKeys`; empty for Zendesk. */
  changedKeys: string[];
}

function describe(
  source: TappedWebhook['source'],
  body: string,
): Pick<TappedWebhook, 'eventId' | 'type' | 'userId' | 'changedKeys'> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = null;
  }
  const record = (value: unknown): Record<string, unknown> =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const root = record(parsed);
  const inner = record(source === 'storeganise' ? root.data : root.detail);
  const userId = source === 'storeganise' ? inner.userId : inner.id;
  const keys =
    source === 'storeganise' && Array.isArray(inner.changedKeys)
      ? inner.changedKeys.filter((k): k is string => typeof k === 'string')
      : [];
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    eventId: text(root.id),
    type: text(root.type),
    userId: typeof userId === 'string' ? userId : '',
    changedKeys: keys,
  };
}

/**
 * Watches the sandboxes' webhook deliveries to the service. The sandboxes run in this process and
 * deliver with the global `fetch`, so wrapping it sees each delivery exactly when it leaves the
 * sender, with its body (to match it to an edit) and the time the service took to answer, the
 * way Zendesk and Storeganise measure it against their timeouts.
 */
export class WebhookTap {
  readonly deliveries: TappedWebhook[] = [];
  private original: typeof fetch | null = null;

  constructor(private readonly apiUrl: string) {}

  install(): void {
    if (this.original !== null) return;
    const original = globalThis.fetch;
    this.original = original;
    const storeganisePrefix = `${this.apiUrl}/addon/storeganise`;
    const zendeskPrefix = `${this.apiUrl}/addon/zendesk/`;
    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const source = url.startsWith(storeganisePrefix)
        ? 'storeganise'
        : url.startsWith(zendeskPrefix)
          ? 'zendesk'
          : null;
      if (source === null || typeof init?.body !== 'string') return original(input, init);
      const delivery: TappedWebhook = {
        source,
        sentAtMs: Date.now(),
        answerMs: null,
        status: null,
        ...describe(source, init.body),
      };
      this.deliveries.push(delivery);
      const started = performance.now();
      const res = await original(input, init);
      delivery.answerMs = performance.now() - started;
      delivery.status = res.status;
      return res;
    };
  }

  uninstall(): void {
    if (this.original === null) return;
    globalThis.fetch = this.original;
    this.original = null;
  }
}
