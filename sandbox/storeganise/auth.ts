import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { SgApiError } from './errors';
import type { Account, AccountRegistry } from './state';

/** The business a request is addressed to, from its path: `/{subdomain}/api/...`. */
export function subdomainOfPath(req: Request): string | null {
  const match = /^\/([^/?]+)\/api(?:[/?]|$)/.exec(req.originalUrl);
  const segment = match?.[1];
  if (segment === undefined) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed %-escape cannot name a business; keeping it raw makes the lookup fail with 404.
    return segment;
  }
}

const accountOfRequest = new WeakMap<Request, Account>();

/** The business an authenticated admin API request acts on. */
export function requestAccount(req: Request): Account {
  const account = accountOfRequest.get(req);
  if (!account) throw new SgApiError(500, 'Request reached a handler without authentication');
  return account;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Which credential a request carries, or why it carries none usable. */
function credentialIsValid(header: string | undefined, account: Account): true | string {
  if (header === undefined || header.trim() === '') return 'Missing Authorization header';
  const match = /^(\S+)\s+(.+)$/.exec(header.trim());
  if (!match) return 'Malformed Authorization header';
  const [, scheme = '', value = ''] = match;
  if (scheme === 'ApiKey') {
    return account.adminApiKey !== null && sameSecret(value, account.adminApiKey) ? true : 'Invalid API key';
  }
  if (scheme === 'Addon') {
    const separator = value.indexOf('|');
    if (separator < 0) return 'Malformed add-on credentials';
    const addonId = value.slice(0, separator);
    const key = value.slice(separator + 1);
    return addonId === account.addonId && sameSecret(key, account.addonApiKey) ? true : 'Invalid add-on credentials';
  }
  return `Unsupported authorization scheme: ${scheme}`;
}

/**
 * Resolves the business from the `:subdomain` path segment and checks the caller's credentials:
 * `Addon {addonId}|{key}` for the installed add-on, `ApiKey {key}` for an admin API key.
 */
export function authenticate(registry: AccountRegistry) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const subdomain = subdomainOfPath(req) ?? '';
    const account = registry.find(subdomain);
    if (!account) throw new SgApiError(404, `Business not found: ${subdomain}`);
    const header = req.get('authorization');
    const verdict = credentialIsValid(header, account);
    if (verdict !== true) throw new SgApiError(401, verdict);
    if (header?.startsWith('Addon') && account.addonState === 'disabled') {
      throw new SgApiError(403, 'Add-on is disabled for this business');
    }
    accountOfRequest.set(req, account);
    next();
  };
}
