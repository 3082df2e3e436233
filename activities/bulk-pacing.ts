import type { ZendeskBudgetBoard } from '../adapters/zendesk';

/** How bulk work spends a Zendesk instance's request budget. */
export interface PacingOptions {
  /** Share of the budget the account may use in all, live traffic included; the rest is headroom for live bursts. */
  utilization: number;
  /** The budget's window (Zendesk: a minute). */
  windowMs: number;
  /** How far ahead of the even line bulk work may run, so a window's start is not wasted. */
  leadMs: number;
  /** Calls allowed before any answer has said what the budget is. */
  probeCalls: number;
  /** Calls bulk work may start at once, in time at the budget's pace: the size of its bursts. */
  burstMs: number;
}

export const DEFAULT_PACING: PacingOptions = {
  utilization: 0.94,
  windowMs: 60_000,
  leadMs: 3_000,
  probeCalls: 3,
  burstMs: 1_000,
};

/** After a 429 the share drops by this much (at least to `MIN_UTILIZATION`), and creeps back per quiet window. */
const BACKOFF_STEP = 0.1;
const RECOVERY_STEP = 0.02;
const MIN_UTILIZATION = 0.5;

/**
 * Decides how many Zendesk calls bulk work may start now, from what the answers' rate-limit
 * headers said (`ZendeskBudgetBoard`): live events never wait on it, so whatever they use is
 * simply not left for the bulk. With a known window (`ratelimit-reset`) the account's use is kept
 * under an even line through the window (`utilization` of the budget by its end, `leadMs` ahead),
 * so live events always find budget left; without one, the remaining budget is kept above the
 * headroom. Nothing starts before a `Retry-After` has passed, and a 429 lowers the share.
 */
export class BudgetPacer {
  private windowEnd: number | null = null;
  private used = 0;
  private lastReadingAt = 0;
  private blockSeen = 0;
  private utilization: number;
  /** The pace bucket: calls bulk work may start at once, as of `tokensAt`; null until the budget is known. */
  private tokens: number | null = null;
  private tokensAt = 0;

  constructor(
    private readonly board: ZendeskBudgetBoard,
    private readonly instance: string,
    private readonly options: PacingOptions = DEFAULT_PACING,
  ) {
    this.utilization = options.utilization;
  }

  /** Until when a 429 asked for silence (epoch ms); 0 when it did not. */
  blockedUntil(): number {
    return this.board.blockedUntil(this.instance);
  }

  /**
   * Calls bulk work may start now, `inflight` being the calls reserved for runs queued and not
   * finished; what it starts is reported with `spend`. Besides the budget's line, bulk work never
   * goes faster than the budget's own pace (a bucket of `burstMs` worth of calls): a window's
   * unused budget is not spent in one burst of runs, which would crowd out live events' work.
   */
  allowance(inflight: number, now = Date.now()): number {
    const line = this.lineAllowance(inflight, now);
    const rate = this.ratePerMs();
    if (rate === null) return line;
    return Math.min(line, Math.floor(this.refill(rate, now)));
  }

  /** Bulk work started calls (queued a run reserving them, or made a read). */
  spend(calls: number, now = Date.now()): void {
    const rate = this.ratePerMs();
    if (rate === null) return;
    this.tokens = this.refill(rate, now) - calls;
  }

  /** The budget's pace for bulk work (calls per ms), once an answer said what the budget is. */
  private ratePerMs(): number | null {
    const reading = this.board.reading(this.instance);
    return reading === null ? null : (this.utilization * reading.limit) / this.options.windowMs;
  }

  private refill(ratePerMs: number, now: number): number {
    const capacity = Math.max(1, ratePerMs * this.options.burstMs);
    const tokens =
      this.tokens === null ? capacity : Math.min(capacity, this.tokens + (now - this.tokensAt) * ratePerMs);
    this.tokens = tokens;
    this.tokensAt = now;
    return tokens;
  }

  /** What the even line through the window leaves for bulk work now (see the class comment). */
  private lineAllowance(inflight: number, now: number): number {
    const blocked = this.board.blockedUntil(this.instance);
    if (blocked > this.blockSeen) {
      this.blockSeen = blocked;
      this.utilization = Math.max(MIN_UTILIZATION, this.utilization - BACKOFF_STEP);
    }
    if (now < blocked) return 0;
    const reading = this.board.reading(this.instance);
    const { windowMs, leadMs } = this.options;
    // Without a reset time, a reading a window old says nothing about the budget now; and since
    // bulk calls are what renews it, waiting for a fresher one could wait for ever.
    if (reading === null || (reading.resetAt === null && now - reading.at >= windowMs))
      return Math.max(0, this.options.probeCalls - inflight);
    const cap = this.utilization * reading.limit;
    if (reading.resetAt === null) return Math.floor(cap - (reading.limit - reading.remaining) - inflight);

    if (reading.at > this.lastReadingAt) {
      this.lastReadingAt = reading.at;
      const spent = reading.limit - reading.remaining;
      if (this.windowEnd === null || reading.resetAt > this.windowEnd + windowMs / 2) {
        if (this.windowEnd !== null && blocked <= this.windowEnd - windowMs)
          this.utilization = Math.min(this.options.utilization, this.utilization + RECOVERY_STEP);
        this.windowEnd = reading.resetAt;
        this.used = spent;
      } else {
        // Readings round the reset up to whole seconds: the earliest is the closest.
        this.windowEnd = Math.min(this.windowEnd, reading.resetAt);
        this.used = Math.max(this.used, spent);
      }
    }
    const windowEnd = this.windowEnd ?? reading.resetAt;
    // The window has turned and no answer of the new one came yet: it starts with the next call,
    // and at least one call goes, or no answer would ever come.
    if (now >= windowEnd) return Math.max(1, Math.floor(cap * Math.min(1, leadMs / windowMs))) - inflight;
    const elapsed = Math.min(1, Math.max(0, (now - (windowEnd - windowMs) + leadMs) / windowMs));
    return Math.floor(cap * elapsed - this.used - inflight);
  }
}

/**
 * The incremental export allows 10 calls a minute per Zendesk account, whoever makes them: one
 * call per `EXPORT_SPACING_MS` stays under it even across a window's edge.
 */
export const EXPORT_SPACING_MS = 6_500;

/** When this process last called each instance's incremental export. */
const lastExportByInstance = new Map<string, number>();

/** When the next export call to the instance may go out, given the last one a job remembers. */
export function nextExportAt(instance: string, rememberedLastAt: number): number {
  return Math.max(lastExportByInstance.get(instance) ?? 0, rememberedLastAt) + EXPORT_SPACING_MS;
}

export function exportCalled(instance: string, at = Date.now()): void {
  lastExportByInstance.set(instance, Math.max(lastExportByInstance.get(instance) ?? 0, at));
}
