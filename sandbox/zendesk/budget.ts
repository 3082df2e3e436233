import type { NextFunction, Request, Response } from 'express';
import { accountOf, HttpError } from './http';
import type { SandboxContext } from './state';

/**
 * The account-wide request budget: a fixed window of `rateLimitWindowSeconds` holding
 * `rateLimitPerMinute` requests. Refused requests do not count, so a client that honours
 * `Retry-After` always gets through once the window turns.
 */
export function requestBudget(ctx: SandboxContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const account = accountOf(ctx, req);
    const { rateLimitPerMinute: limit, rateLimitWindowSeconds } = account.settings;
    const budget = account.budget;
    const now = Date.now();
    const windowMs = rateLimitWindowSeconds * 1000;
    if (now >= budget.windowStartMs + windowMs) {
      budget.windowStartMs = now;
      budget.used = 0;
    }
    res.setHeader('X-Rate-Limit', String(limit));
    if (budget.used >= limit) {
      const waitSeconds = Math.max(1, Math.ceil((budget.windowStartMs + windowMs - now) / 1000));
      res.setHeader('X-Rate-Limit-Remaining', '0');
      res.setHeader('Retry-After', String(waitSeconds));
      throw new HttpError(429, `Rate limit for users exceeded. Please wait ${waitSeconds} seconds.`, 'text');
    }
    budget.used++;
    res.setHeader('X-Rate-Limit-Remaining', String(limit - budget.used));
    next();
  };
}
