import type { NextFunction, Request, Response } from 'express';
import { accountOf, HttpError } from './http';
import type { SandboxContext } from './state';

/** A fixed window of requests: how many were used since it started. */
interface Window {
  windowStartMs: number;
  used: number;
}

/**
 * Takes one request out of a fixed window of `limit` requests per `windowMs`; answers how many are
 * left and when the window turns, or null when the window is spent (the request does not count).
 */
export function takeFromWindow(
  window: Window,
  limit: number,
  windowMs: number,
  now = Date.now(),
): { remaining: number; resetSeconds: number } | null {
  if (now >= window.windowStartMs + windowMs) {
    window.windowStartMs = now;
    window.used = 0;
  }
  const resetSeconds = Math.max(1, Math.ceil((window.windowStartMs + windowMs - now) / 1000));
  if (window.used >= limit) return null;
  window.used++;
  return { remaining: limit - window.used, resetSeconds };
}

/**
 * The account-wide request budget: a fixed window of `rateLimitWindowSeconds` holding
 * `rateLimitPerMinute` requests. Refused requests do not count, so a client that honours
 * `Retry-After` always gets through once the window turns. Every answer carries the account-wide
 * headers (`X-Rate-Limit`, `X-Rate-Limit-Remaining`) and, as the Users API does, `ratelimit-limit`,
 * `ratelimit-remaining` and `ratelimit-reset` (seconds until the window turns).
 */
export function requestBudget(ctx: SandboxContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const account = accountOf(ctx, req);
    const { rateLimitPerMinute: limit, rateLimitWindowSeconds } = account.settings;
    const windowMs = rateLimitWindowSeconds * 1000;
    const taken = takeFromWindow(account.budget, limit, windowMs);
    res.setHeader('X-Rate-Limit', String(limit));
    res.setHeader('ratelimit-limit', String(limit));
    if (taken === null) {
      const waitSeconds = Math.max(1, Math.ceil((account.budget.windowStartMs + windowMs - Date.now()) / 1000));
      res.setHeader('X-Rate-Limit-Remaining', '0');
      res.setHeader('ratelimit-remaining', '0');
      res.setHeader('ratelimit-reset', String(waitSeconds));
      res.setHeader('Retry-After', String(waitSeconds));
      throw new HttpError(429, `Rate limit for users exceeded. Please wait ${waitSeconds} seconds.`, 'text');
    }
    res.setHeader('X-Rate-Limit-Remaining', String(taken.remaining));
    res.setHeader('ratelimit-remaining', String(taken.remaining));
    res.setHeader('ratelimit-reset', String(taken.resetSeconds));
    next();
  };
}
