import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';

export const ForcedResponseSchema = z.object({
  status: z.number().int().min(100).max(599),
  /** How many of the next requests get this answer. */
  count: z.number().int().min(1),
  /** Sent as `Retry-After` (seconds) when present. */
  retryAfterSeconds: z.number().int().min(0).optional(),
});

export const WebhookFaultsSchema = z.object({
  /** Extra copies sent of every delivery (same body, same event id). */
  duplicate: z.number().int().min(0).max(10).default(0),
  /** Deliveries are held this long and sent in shuffled order. */
  reorderWindowMs: z.number().int().min(0).max(60_000).default(0),
});

export const FaultSettingsSchema = z.object({
  /** Fraction of API requests answered with `errorStatus` before reaching the handler. */
  errorRate: z.number().min(0).max(1).default(0),
  errorStatus: z.number().int().min(500).max(599).default(503),
  /** Added before every API answer. */
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  force: ForcedResponseSchema.optional(),
  webhooks: WebhookFaultsSchema.default({ duplicate: 0, reorderWindowMs: 0 }),
});

export type FaultSettings = z.infer<typeof FaultSettingsSchema>;
export type FaultSettingsInput = z.input<typeof FaultSettingsSchema>;
export type WebhookFaults = z.infer<typeof WebhookFaultsSchema>;

const NO_FAULTS: FaultSettings = FaultSettingsSchema.parse({});

/** Per-account fault injection for a sandbox API: error rate, latency, forced answers. */
export class Faults {
  private readonly byAccount = new Map<string, FaultSettings>();
  private forcedLeft = new Map<string, number>();

  set(account: string, input: FaultSettingsInput): FaultSettings {
    const settings = FaultSettingsSchema.parse(input);
    this.byAccount.set(account, settings);
    this.forcedLeft.set(account, settings.force?.count ?? 0);
    return settings;
  }

  get(account: string): FaultSettings {
    return this.byAccount.get(account) ?? NO_FAULTS;
  }

  clear(): void {
    this.byAccount.clear();
    this.forcedLeft.clear();
  }

  /** Applies latency, then a forced answer or a random error; otherwise hands over to the real handler. */
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
        if (settings.errorRate > 0 && Math.random() < settings.errorRate) {
          res.status(settings.errorStatus).type('text/plain').send(`Sandbox fault: injected ${settings.errorStatus}`);
          return;
        }
        next();
      };
      if (settings.latencyMs > 0) setTimeout(act, settings.latencyMs);
      else act();
    };
  }
}
