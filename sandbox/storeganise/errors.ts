import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';

/** An error answered as `{ error: { message } }` with its status, the shape Storeganise uses. */
export class SgApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SgApiError';
  }
}

export const notFound = (what: string, id: string): SgApiError => new SgApiError(404, `${what} not found: ${id}`);

/** Parses untrusted input; a violation becomes a 400 naming the failing path. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.infer<S> {
  const result = schema.safeParse(input ?? (where === 'query' ? {} : undefined));
  if (result.success) return result.data;
  const details = result.error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    })
    .join('; ');
  throw new SgApiError(400, `Invalid ${where}: ${details}`);
}

export function routeNotFound(req: Request, res: Response): void {
  res.status(404).json({ error: { message: `Not found: ${req.method} ${req.path}` } });
}

interface BodyParserError {
  status: number;
  type: string;
  message: string;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as Partial<BodyParserError>).status === 'number' &&
    typeof (err as Partial<BodyParserError>).type === 'string'
  );
}

export function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  if (err instanceof SgApiError) {
    res.status(err.status).json({ error: { message: err.message } });
    return;
  }
  if (isBodyParserError(err) && err.status >= 400 && err.status < 500) {
    const message = err.type === 'entity.parse.failed' ? `Malformed JSON body: ${err.message}` : err.message;
    res.status(err.status).json({ error: { message } });
    return;
  }
  console.error('storeganise sandbox: unexpected error', err);
  res.status(500).json({ error: { message: 'Internal server error' } });
}
