import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { loseResponse } from './lost-response';
import { mulberry32, type Random } from './random';

export const ForcedResponseSchema = z.object({
  status: z.number().int().min(100).max(599),
  /** How many of the next requests get this answer. */
  count: z.number().int().min(1),
  /** Sent as `Retry-After` (seconds) when present. */
  retryAfterSeconds: z.number().int().min(0).optional(),
});

const DelayBoundMs = z.number().int().min(0).max(60_000);

export const DelayRangeSchema = z
  .object({ min: DelayBoundMs, max: DelayBoundMs })
  .refine((range) => range.min <= range.max, { message: 'min must not exceed max', path: ['max'] });

export const WebhookFaultsSchema = z.object({
  /** Extra copies sent of every delivery (same body, same event id). */
  duplicate: z.number().int().min(0).max(10).default(0),
  /** Deliveries are held this long and sent in shuffled order. */
  reorderWindowMs: z.number().int().min(0).max(60_000).default(0),
  /** Every delivery attempt, retries included, waits a uniformly random time in [min, max] before it is sent. */
  delayMs: DelayRangeSchema.default({ min: 0, max: 0 }),
  /** Fraction of webhooks never sent to a receiver (with none of their copies or retries). */
  dropRate: z.number().min(0).max(1).default(0),
  /** While true every delivery waits; once false again the waiting ones go out one by one in the order they were held. */
  paused: z.boolean().default(false),
});

export const FaultSettingsSchema = z.object({
  /** Fraction of API requests answered with `errorStatus` before reaching the handler. */
  errorRate: z.number().min(0).max(1).default(0),
  errorStatus: z.number().int().min(500).max(599).default(503),
  /** Added before every API answer. */
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  force: ForcedResponseSchema.optional(),
  /** Fraction of API writes (POST, PUT, PATCH, DELETE) that are applied but whose answer never arrives. */
  lostResponseRate: z.number().min(0).max(1).default(0),
  /** The next N API writes lose their answer, before `lostResponseRate` is considered. */
  loseNextResponses: z.number().int().min(0).optional(),
  /** Makes every random fault decision of the account reproducible. */
  seed: z.number().int().optional(),
  webhooks: WebhookFaultsSchema.prefault({}),
});

export type FaultSettings = z.infer<typeof FaultSettingsSchema>;
export type FaultSettingsInput = z.input<typeof FaultSettingsSchema>;
export type WebhookFaults = z.infer<typeof WebhookFaultsSchema>;

/**
 * Independent random streams per account, so the decisions about API requests do not shift those
 * about webhooks when the two interleave differently from one run to the next.
 */
export type RandomStream = 'api' | 'webhooks';

const STREAM_SALT: Record<RandomStream, number> = { api: 0x2545f491, webhooks: 0x9e3779b9 };

/** Folds a safe integer, negative or above 2^32, into 32 bits without dropping its high part. */
const seed32 = (seed: number): number => (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x85ebca6b);

const NO_FAULTS: FaultSettings = FaultSettingsSchema.parse({});

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Per-account fault injection for a sandbox API: error rate, latency, forced answers, lost answers. */
export class Faults {
  private readonly byAccount = new Map<string, FaultSettings>();
  private readonly forcedLeft = new Map<string, number>();
  private readonly lostLeft = new Map<string, number>();
  private readonly randoms = new Map<string, Record<RandomStream, Random>>();
  private readonly listeners: Array<(account: string) => void> = [];

  set(account: string, input: FaultSettingsInput): FaultSettings {
    const settings = FaultSettingsSchema.parse(input);
    this.byAccount.set(account, settings);
    this.forcedLeft.set(account, settings.force?.count ?? 0);
    this.lostLeft.set(account, settings.loseNextResponses ?? 0);
    const { seed } = settings;
    if (seed === undefined) this.randoms.delete(account);
    else
      this.randoms.set(account, {
        api: mulberry32(seed32(seed) ^ STREAM_SALT.api),
        webhooks: mulberry32(seed32(seed) ^ STREAM_SALT.webhooks),
      });
    for (const listener of this.listeners) listener(account);
    return settings;
  }

  get(account: string): FaultSettings {
    return this.byAccount.get(account) ?? NO_FAULTS;
  }

  /** The account's seeded stream when it has a seed, `Math.random` otherwise. */
  random(account: string, stream: RandomStream): Random {
    return this.randoms.get(account)?.[stream] ?? Math.random;
  }

  /** Called after every change of an account's settings (e.g. to release paused webhooks). */
  onChange(listener: (account: string) => void): void {
    this.listeners.push(listener);
  }

  clear(): void {
    this.byAccount.clear();
    this.forcedLeft.clear();
    this.lostLeft.clear();
    this.randoms.clear();
  }

  /**
   * Applies latency, then a forced answer or a random error; otherwise hands over to the real
   * handler, whose answer a write may then lose. Mounted on the product-facing APIs only, never
   * on `/_sandbox`.
   */
  middleware(accountOf: (req: Request) => string | null) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const account = accountOf(req);
      if (account === null) return next();
      const settings = this.get(account);
      const act = (): void => {
        const forced = settings.force;
        const left = this.forcedLeft.get(account) ?? 0;
        if (forced && left > 0) {
          this.forcedLeft.set(account, left - 1);
          if (forced.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(forced.retryAfterSeconds));
          res.status(forced.status).type('text/plain').send(`Sandbox fault: forced ${forced.status}`);
          return;
        }
        const random = this.random(account, 'api');
        if (settings.errorRate > 0 && random() < settings.errorRate) {
          res.status(settings.errorStatus).type('text/plain').send(`Sandbox fault: injected ${settings.errorStatus}`);
          return;
        }
        if (WRITE_METHODS.has(req.method) && this.losesAnswer(account, settings, random)) loseResponse(res);
        next();
      };
      if (settings.latencyMs > 0) setTimeout(act, settings.latencyMs);
      else act();
    };
  }

  private losesAnswer(account: string, settings: FaultSettings, random: Random): boolean {
    const left = this.lostLeft.get(account) ?? 0;
    if (left > 0) {
      this.lostLeft.set(account, left - 1);
      return true;
    }
    return settings.lostResponseRate > 0 && random() < settings.lostResponseRate;
  }
}
