import type { WebhookFaults } from './faults';

export interface OutgoingWebhook {
  readonly account: string;
  readonly url: string;
  readonly eventType: string;
  readonly eventId: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface DeliveryRecord {
  readonly seq: number;
  readonly account: string;
  readonly url: string;
  readonly eventType: string;
  readonly eventId: string;
  readonly attempts: number;
  /** HTTP status of the last attempt, or null when the request itself failed. */
  readonly status: number | null;
  readonly error: string | null;
  readonly sentAt: string;
}

/** Decides whether a failed attempt is retried, and after how long (ms); null = give up. */
export type RetryRule = (outcome: { status: number | null; retryAfterSeconds: number | null }, attempt: number) => number | null;

/**
 * Asynchronous webhook delivery, as the real services do it: the API call that caused the event
 * has already been answered when the webhook goes out. Honours duplicate and reorder faults.
 */
export class WebhookOutbox {
  private readonly log: DeliveryRecord[] = [];
  private seq = 0;
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private held: Array<{ webhook: OutgoingWebhook; release: () => void }> = [];
  private holdTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly retryRule: RetryRule,
    private readonly timeoutMs = 12_000,
  ) {}

  enqueue(webhook: OutgoingWebhook, faults: WebhookFaults): void {
    if (this.closed) return;
    const copies = 1 + faults.duplicate;
    for (let i = 0; i < copies; i++) {
      this.pending++;
      if (faults.reorderWindowMs > 0) this.hold(webhook, faults.reorderWindowMs);
      else setImmediate(() => void this.deliver(webhook));
    }
  }

  /** Resolves when nothing is queued, held or in flight. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  deliveries(account?: string): DeliveryRecord[] {
    return account === undefined ? [...this.log] : this.log.filter((d) => d.account === account);
  }

  clear(): void {
    this.log.length = 0;
  }

  close(): void {
    this.closed = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.held = [];
  }

  private hold(webhook: OutgoingWebhook, windowMs: number): void {
    this.held.push({ webhook, release: () => void this.deliver(webhook) });
    if (this.holdTimer) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = null;
      const arrival = this.held;
      this.held = [];
      const batch = [...arrival];
      for (let i = batch.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [batch[i], batch[j]] = [batch[j] as (typeof batch)[number], batch[i] as (typeof batch)[number]];
      }
      // A shuffle may keep the arrival order; reversing then guarantees a visible reorder.
      if (batch.every((entry, i) => entry === arrival[i])) batch.reverse();
      for (const entry of batch) entry.release();
    }, windowMs);
  }

  private async deliver(webhook: OutgoingWebhook, attempt = 1): Promise<void> {
    if (this.closed) return this.settle();
    let status: number | null = null;
    let error: string | null = null;
    let retryAfterSeconds: number | null = null;
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: webhook.headers,
        body: webhook.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.status;
      const retryAfter = res.headers.get('retry-after');
      retryAfterSeconds = retryAfter === null ? null : Number(retryAfter);
      await res.arrayBuffer();
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    this.log.push({
      seq: ++this.seq,
      account: webhook.account,
      url: webhook.url,
      eventType: webhook.eventType,
      eventId: webhook.eventId,
      attempts: attempt,
      status,
      error,
      sentAt: new Date().toISOString(),
    });
    const ok = status !== null && status >= 200 && status < 300;
    const delay = ok || this.closed ? null : this.retryRule({ status, retryAfterSeconds }, attempt);
    if (delay !== null) {
      setTimeout(() => void this.deliver(webhook, attempt + 1), delay);
      return;
    }
    this.settle();
  }

  private settle(): void {
    this.pending--;
    if (this.pending === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
