import { z } from 'zod';
import type { Side } from '../oracle';

/** One delivery attempt from a sandbox to the api, timed the way the sender times it. */
export interface TimedDelivery {
  source: Side;
  eventId: string;
  sentAtMs: number;
  /** Until the answer's status line arrived, or until the attempt failed. */
  elapsedMs: number;
  status: number | null;
  /** `timeout` when the sender gave up waiting (Zendesk: about 12 s), `network` for a refused or dropped connection. */
  failure: 'timeout' | 'network' | null;
}

const EnvelopeIdSchema = z.object({ id: z.string() });

function eventIdOf(body: RequestInit['body']): string {
  if (typeof body !== 'string') return '';
  try {
    const parsed = EnvelopeIdSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data.id : '';
  } catch {
    // Not JSON: the delivery is still timed, just not matched to an event.
    return '';
  }
}

/**
 * The sandboxes run in this process and deliver with the global `fetch`: wrapping it times every
 * webhook attempt to the api from the sender's side, failures included (which `bench`'s tap does
 * not need to see, and a chaos run is mostly about).
 */
export class WebhookTimer {
  readonly deliveries: TimedDelivery[] = [];
  private original: typeof fetch | null = null;

  constructor(private readonly apiUrl: string) {}

  install(): void {
    if (this.original !== null) return;
    const original = globalThis.fetch;
    this.original = original;
    const prefixes: Record<Side, string> = {
      storeganise: `${this.apiUrl}/addon/storeganise`,
      zendesk: `${this.apiUrl}/addon/zendesk/`,
    };
    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const source = url.startsWith(prefixes.storeganise)
        ? 'storeganise'
        : url.startsWith(prefixes.zendesk)
          ? 'zendesk'
          : null;
      if (source === null) return original(input, init);
      const delivery: TimedDelivery = {
        source,
        eventId: eventIdOf(init?.body),
        sentAtMs: Date.now(),
        elapsedMs: 0,
        status: null,
        failure: null,
      };
      this.deliveries.push(delivery);
      const started = performance.now();
      try {
        const res = await original(input, init);
        delivery.status = res.status;
        return res;
      } catch (err) {
        delivery.failure = err instanceof Error && err.name === 'TimeoutError' ? 'timeout' : 'network';
        throw err;
      } finally {
        delivery.elapsedMs = performance.now() - started;
      }
    };
  }

  uninstall(): void {
    if (this.original === null) return;
    globalThis.fetch = this.original;
    this.original = null;
  }

  since(sentAtMs: number): TimedDelivery[] {
    return this.deliveries.filter((d) => d.sentAtMs >= sentAtMs);
  }
}
