import type { NextFunction, Request, Response } from 'express';

/** An answer to bad client input: the status and a message saying exactly what is wrong. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

export function sendError(res: Response, err: HttpError): void {
  res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.path ? { path: err.path } : {}) } });
}

/** Requires `application/json` before any byte of the body is read. */
export function requireJson(req: Request, res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    sendError(res, new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, got ${req.headers['content-type'] ?? 'none'}`));
    return;
  }
  next();
}

/** Maps body-parser failures (size, encoding) to their status; anything else is ours: 500. */
export function errorHandler(onUnexpected: (err: unknown, req: Request) => void) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) return;
    if (err instanceof HttpError) return sendError(res, err);
    const type = (err as { type?: unknown }).type;
    if (type === 'entity.too.large') return sendError(res, new HttpError(413, 'payload_too_large', 'Body larger than 1 MiB'));
    if (typeof type === 'string' && type.startsWith('encoding.')) return sendError(res, new HttpError(415, 'unsupported_encoding', 'Unsupported body encoding'));
    if (type === 'request.aborted') return;
    onUnexpected(err, req);
    res.status(500).json({ error: { code: 'internal', message: 'Internal error; the event was not recorded, please retry' } });
  };
}
