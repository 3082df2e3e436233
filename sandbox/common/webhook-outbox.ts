import type { Faults, WebhookFaults } from './faults';
import { randomBetween, shuffle } from './random';

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
export type RetryRule = (
  outcome: { status: number | null; retryAfterSeconds: number | null },
  attempt: number,
) => number | null;

/** `dropped`: the drop fault chose this webhook; it will never be sent. */
export type EnqueueOutcome = 'queued' | 'dropped';

/** One copy of a webhook on its way, and the number of the attempt it is waiting for. */
interface Delivery {
  readonly webhook: OutgoingWebhook;
  readonly attempt: number;
}

/** Deliveries of one account waiting for a pause to end, or for those held before them to go out. */
interface Gate {
  readonly waiting: Delivery[];
  draining: boolean;
}

/**
 * Asynchronous webhook delivery, as the real services do it: the API call that caused the event
 * has already been answered when the webhook goes out. Each copy of a webhook passes, in order:
 * the reorder window, the random delay (again before every retry), the pause gate, then the wire.
 * Fault settings are read live, so pausing or unpausing acts on deliveries already queued.
 */
export class WebhookOutbox {
  private readonly log: DeliveryRecord[] = [];
  private seq = 0;
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly reorderBatches = new Map<string, Delivery[]>();
  private readonly gates = new Map<string, Gate>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly retryRule: RetryRule,
    private readonly faults: Faults,
    private readonly timeoutMs = 12_000,
  ) {
    faults.onChange((account) => void this.drain(account));
  }

  enqueue(webhook: OutgoingWebhook): EnqueueOutcome {
    if (this.closed) return 'queued';
    const faults = this.webhookFaults(webhook.account);
    if (faults.dropRate > 0 && this.random(webhook.account) < faults.dropRate) return 'dropped';
    for (let copy = 0; copy <= faults.duplicate; copy++) {
      this.pending++;
      const delivery: Delivery = { webhook, attempt: 1 };
      if (faults.reorderWindowMs > 0) this.holdForReorder(delivery, faults.reorderWindowMs);
      else this.schedule(delivery);
    }
    return 'queued';
  }

  /** Resolves when nothing is queued, held or in flight. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  deliveries(account?: string): DeliveryRecord[] {
    return account === undefined ? [...this.log] : this.log.filter((d) => d.account === account);
  }

  /** Forgets the log and discards deliveries held by a pause: their accounts are being forgotten too. */
  clear(): void {
    this.log.length = 0;
    for (const gate of this.gates.values()) {
      const discarded = gate.waiting.splice(0);
      for (let i = 0; i < discarded.length; i++) this.settle();
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.reorderBatches.clear();
    this.gates.clear();
    this.pending = 0;
    this.wakeIdleWaiters();
  }

  private webhookFaults(account: string): WebhookFaults {
    return this.faults.get(account).webhooks;
  }

  private random(account: string): number {
    return this.faults.random(account, 'webhooks')();
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private holdForReorder(delivery: Delivery, windowMs: number): void {
    const account = delivery.webhook.account;
    const batch = this.reorderBatches.get(account);
    if (batch) {
      batch.push(delivery);
      return;
    }
    this.reorderBatches.set(account, [delivery]);
    this.later(windowMs, () => {
      const arrival = this.reorderBatches.get(account) ?? [];
      this.reorderBatches.delete(account);
      const shuffled = shuffle([...arrival], () => this.random(account));
      // A shuffle may keep the arrival order; reversing then guarantees a visible reorder.
      if (shuffled.every((entry, i) => entry === arrival[i])) shuffled.reverse();
      for (const entry of shuffled) this.schedule(entry);
    });
  }

  /** Waits the delay fault's random time, if any, then goes to the gate. */
  private schedule(delivery: Delivery): void {
    const { min, max } = this.webhookFaults(delivery.webhook.account).delayMs;
    const delayMs = max > 0 ? randomBetween(() => this.random(delivery.webhook.account), min, max) : 0;
    if (delayMs > 0) this.later(delayMs, () => this.pass(delivery));
    else setImmediate(() => this.pass(delivery));
  }

  /** Sends at once, unless the account is paused or older deliveries are still waiting their turn. */
  private pass(delivery: Delivery): void {
    if (this.closed) return;
    const account = delivery.webhook.account;
    let gate = this.gates.get(account);
    if (!gate) this.gates.set(account, (gate = { waiting: [], draining: false }));
    if (gate.waiting.length === 0 && !gate.draining && !this.webhookFaults(account).paused) {
      void this.attempt(delivery);
      return;
    }
    gate.waiting.push(delivery);
    void this.drain(account);
  }

  /** Sends held deliveries one at a time, so they reach the receiver in the order they were held. */
  private async drain(account: string): Promise<void> {
    const gate = this.gates.get(account);
    if (!gate || gate.draining) return;
    gate.draining = true;
    while (!this.closed && !this.webhookFaults(account).paused) {
      const next = gate.waiting.shift();
      if (!next) break;
      await this.attempt(next);
    }
    gate.draining = false;
  }

  /** One HTTP attempt; a failure the retry rule accepts goes back through delay and gate. */
  private async attempt(delivery: Delivery): Promise<void> {
    const { webhook, attempt } = delivery;
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
    if (this.closed) return;
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
    const retryInMs = ok ? null : this.retryRule({ status, retryAfterSeconds }, attempt);
    if (retryInMs === null) {
      this.settle();
      return;
    }
    this.later(retryInMs, () => this.schedule({ webhook, attempt: attempt + 1 }));
  }

  private settle(): void {
    if (this.closed) return;
    this.pending--;
    if (this.pending === 0) this.wakeIdleWaiters();
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
