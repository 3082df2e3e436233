import type { NextFunction, Request, Response } from 'express';

export interface LoggedRequest {
  readonly seq: number;
  /** ISO-8601 with milliseconds, when the request arrived. */
  readonly at: string;
  readonly atMs: number;
  readonly method: string;
  /** Path as seen by the sandbox, without the query string. */
  readonly path: string;
  readonly query: string;
  readonly status: number;
  readonly account: string | null;
  readonly durationMs: number;
  /** The `Retry-After` the sandbox answered with, in seconds, if any. */
  readonly retryAfterSeconds: number | null;
}

export interface RequestFilter {
  account?: string | undefined;
  method?: string | undefined;
  /** Regular expression source matched against `path`. */
  path?: string | undefined;
  sinceSeq?: number | undefined;
}

/** Every request a sandbox answered, in arrival order; what tests count calls with. */
export class RequestLog {
  private entries: LoggedRequest[] = [];
  private seq = 0;

  middleware(accountOf: (req: Request) => string | null) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const atMs = Date.now();
      const [path = '', query = ''] = req.originalUrl.split('?', 2);
      res.on('finish', () => {
        this.entries.push({
          seq: ++this.seq,
          at: new Date(atMs).toISOString(),
          atMs,
          method: req.method,
          path,
          query,
          status: res.statusCode,
          account: accountOf(req),
          durationMs: Date.now() - atMs,
          retryAfterSeconds: retryAfterOf(res),
        });
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

function retryAfterOf(res: Response): number | null {
  const header = res.getHeader('retry-after');
  if (header === undefined) return null;
  const seconds = Number(header);
  return Number.isFinite(seconds) ? seconds : null;
}
