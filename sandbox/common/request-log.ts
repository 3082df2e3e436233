import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { responseLostAt } from './lost-response';

export const LoggedRequestSchema = z.object({
  seq: z.number().int(),
  /** ISO-8601 with milliseconds, when the request arrived. */
  at: z.string(),
  atMs: z.number(),
  /** When the answer was sent, or the socket destroyed for a lost answer. */
  finishedAtMs: z.number(),
  method: z.string(),
  /** Path as seen by the sandbox, without the query string. */
  path: z.string(),
  query: z.string(),
  /** For a lost answer: the status the handler answered, which the client never saw. */
  status: z.number().int(),
  account: z.string().nullable(),
  durationMs: z.number(),
  /** The `Retry-After` the sandbox answered with, in seconds, if any. */
  retryAfterSeconds: z.number().nullable(),
  /** True when the request was applied but its answer dropped (`lostResponseRate`, `loseNextResponses`). */
  lost: z.boolean(),
  /**
   * Writes only: the parsed JSON body; null when there was none, it was not JSON or it was larger
   * than `MAX_LOGGED_BODY_BYTES`. Absent on reads.
   */
  body: z.unknown().optional(),
});
export type LoggedRequest = z.infer<typeof LoggedRequestSchema>;

export interface RequestFilter {
  account?: string | undefined;
  method?: string | undefined;
  /** Regular expression source matched against `path`. */
  path?: string | undefined;
  sinceSeq?: number | undefined;
}

/** Larger bodies are logged as null: the log lives in memory for a whole benchmark run. */
export const MAX_LOGGED_BODY_BYTES = 64 * 1024;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every request a sandbox answered (or whose answer it lost), in arrival order; what tests count calls with. */
export class RequestLog {
  private entries: LoggedRequest[] = [];
  private seq = 0;

  middleware(accountOf: (req: Request) => string | null) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const atMs = Date.now();
      const [path = '', query = ''] = req.originalUrl.split('?', 2);
      let logged = false;
      const log = (finishedAtMs: number, lost: boolean): void => {
        if (logged) return;
        logged = true;
        this.entries.push({
          seq: ++this.seq,
          at: new Date(atMs).toISOString(),
          atMs,
          finishedAtMs,
          method: req.method,
          path,
          query,
          status: res.statusCode,
          account: accountOf(req),
          durationMs: finishedAtMs - atMs,
          retryAfterSeconds: retryAfterOf(res),
          lost,
          ...(WRITE_METHODS.has(req.method) ? { body: loggedBody(req) } : {}),
        });
      };
      res.on('finish', () => log(Date.now(), false));
      res.on('close', () => {
        const lostAt = responseLostAt(res);
        if (lostAt !== undefined) log(lostAt, true);
      });
      next();
    };
  }

  list(filter: RequestFilter = {}): LoggedRequest[] {
    const pathPattern = filter.path === undefined ? undefined : new RegExp(filter.path);
    return this.entries.filter(
      (e) =>
        (filter.account === undefined || e.account === filter.account) &&
        (filter.method === undefined || e.method === filter.method.toUpperCase()) &&
        (pathPattern === undefined || pathPattern.test(e.path)) &&
        (filter.sinceSeq === undefined || e.seq > filter.sinceSeq),
    );
  }

  get lastSeq(): number {
    return this.seq;
  }

  clear(): void {
    this.entries = [];
  }
}

function loggedBody(req: Request): unknown {
  // API writes carry JSON; a form body (an OAuth token request) is logged as null.
  if (!req.is('application/json')) return null;
  const body: unknown = req.body;
  if (body === undefined) return null;
  const text = JSON.stringify(body);
  // A copy, so a handler that mutates what it was given cannot rewrite history.
  return Buffer.byteLength(text) > MAX_LOGGED_BODY_BYTES ? null : (JSON.parse(text) as unknown);
}

function retryAfterOf(res: Response): number | null {
  const header = res.getHeader('retry-after');
  if (header === undefined) return null;
  const seconds = Number(header);
  return Number.isFinite(seconds) ? seconds : null;
}
