import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import type { SandboxContext, ZendeskAccount } from './state';

/** An answer decided deep inside a handler; the error middleware writes it as is. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly format: 'json' | 'text' | 'html' = 'json',
  ) {
    super(`HTTP ${status}`);
  }
}

export interface ValidationDetail {
  description: string;
  error: string;
}

export function recordInvalid(details: Record<string, ValidationDetail[]>): HttpError {
  return new HttpError(422, { error: 'RecordInvalid', description: 'Record validation errors', details });
}

export function invalidField(field: string, description: string, error = 'InvalidValue'): HttpError {
  return recordInvalid({ [field]: [{ description, error }] });
}

export function recordNotFound(): HttpError {
  return new HttpError(404, { error: 'RecordNotFound', description: 'Not found' });
}

export function badRequest(description: string, details?: Record<string, ValidationDetail[]>): HttpError {
  return new HttpError(400, { error: 'InvalidParameter', description, ...(details ? { details } : {}) });
}

/** Zod issues in the `details` form Zendesk uses for business errors, keyed by the failing path. */
export function issueDetails(issues: readonly z.core.$ZodIssue[]): Record<string, ValidationDetail[]> {
  const details: Record<string, ValidationDetail[]> = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || 'base';
    (details[key] ??= []).push({ description: issue.message, error: 'InvalidValue' });
  }
  return details;
}

/** Parses untrusted input; a failure becomes the HttpError the caller formats for its API. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  toError: (issues: readonly z.core.$ZodIssue[]) => HttpError = (issues) =>
    badRequest('Invalid request', issueDetails(issues)),
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw toError(result.error.issues);
  return result.data;
}

const ACCOUNT_PATH = /^\/zendesk\/([^/?#]+)/;

export function subdomainOf(req: Request): string | null {
  const match = ACCOUNT_PATH.exec(req.originalUrl);
  return match?.[1] === undefined ? null : decodeURIComponent(match[1]);
}

export function accountOf(ctx: SandboxContext, req: Request): ZendeskAccount {
  const subdomain = subdomainOf(req);
  const account = subdomain === null ? undefined : ctx.state.accounts.get(subdomain);
  if (!account)
    throw new HttpError(404, { error: 'RecordNotFound', description: 'No Zendesk account with this subdomain' });
  return account;
}

/** `http://host:port/zendesk/{subdomain}`: what the real service's `https://{subdomain}.zendesk.com` is. */
export function accountBaseUrl(req: Request, account: ZendeskAccount): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}/zendesk/${encodeURIComponent(account.subdomain)}`;
}

export function sendHttpError(err: HttpError, res: Response): void {
  res.status(err.status);
  if (err.format === 'json') res.json(err.body);
  else res.type(err.format === 'html' ? 'text/html' : 'text/plain').send(String(err.body));
}

/** Last error middleware: known answers as decided, body-parser failures as 400/413, anything else as 500. */
export function errorHandler(fallback: (status: number, description: string) => HttpError) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError) return sendHttpError(err, res);
    const status = parserStatus(err);
    if (status !== null)
      return sendHttpError(fallback(status, status === 413 ? 'Request body too large' : 'Malformed request body'), res);
    console.error('sandbox zendesk: unexpected error', err);
    sendHttpError(fallback(500, 'Internal sandbox error'), res);
  };
}

function parserStatus(err: unknown): number | null {
  if (typeof err !== 'object' || err === null || !('status' in err)) return null;
  const status = err.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

// --- Pagination ---------------------------------------------------------------------------------

export interface OffsetPage<T> {
  items: T[];
  next_page: string | null;
  previous_page: string | null;
  count: number;
}

export function offsetPage<T>(
  all: T[],
  page: number,
  perPage: number,
  urlFor: (page: number) => string,
): OffsetPage<T> {
  const start = (page - 1) * perPage;
  return {
    items: all.slice(start, start + perPage),
    next_page: start + perPage < all.length ? urlFor(page + 1) : null,
    previous_page: page > 1 ? urlFor(page - 1) : null,
    count: all.length,
  };
}

export interface CursorPage<T> {
  items: T[];
  meta: { has_more: boolean; after_cursor: string | null; before_cursor: string | null };
  links: { next: string | null; prev: string | null };
}

export function encodeCursor(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/** Items must be sorted by `keyOf`; a cursor is the opaque key of the item at the page edge. */
export function cursorPage<T>(
  all: T[],
  size: number,
  position: { after?: string | undefined; before?: string | undefined },
  keyOf: (item: T) => string,
  urlFor: (params: string) => string,
): CursorPage<T> {
  let items: T[];
  let hasMore: boolean;
  if (position.before !== undefined) {
    const beforeKey = decodeCursor(position.before);
    const earlier = all.filter((item) => keyOf(item) < beforeKey);
    items = earlier.slice(-size);
    hasMore = earlier.length > items.length;
  } else {
    const afterKey = position.after === undefined ? undefined : decodeCursor(position.after);
    const rest = afterKey === undefined ? all : all.filter((item) => keyOf(item) > afterKey);
    items = rest.slice(0, size);
    hasMore = rest.length > items.length;
  }
  const first = items[0];
  const last = items[items.length - 1];
  const afterCursor = last === undefined ? null : encodeCursor(keyOf(last));
  const beforeCursor = first === undefined ? null : encodeCursor(keyOf(first));
  return {
    items,
    meta: { has_more: hasMore, after_cursor: afterCursor, before_cursor: beforeCursor },
    links: {
      next: hasMore && afterCursor ? urlFor(`page[size]=${size}&page[after]=${afterCursor}`) : null,
      prev: beforeCursor ? urlFor(`page[size]=${size}&page[before]=${beforeCursor}`) : null,
    },
  };
}

/** Fixed-width decimal so string order equals numeric order for cursor keys. */
export function idKey(id: number): string {
  return String(id).padStart(17, '0');
}
