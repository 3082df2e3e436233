import type { NextFunction, Request, Response } from 'express';
import { redactUrl, type Logger } from '../lib/logger';

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
  res
    .status(err.status)
    .json({ error: { code: err.code, message: err.message, ...(err.path ? { path: err.path } : {}) } });
}

/** Requires `application/json` before any byte of the body is read. */
export function requireJson(req: Request, res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    sendError(
      res,
      new HttpError(
        415,
        'unsupported_media_type',
        `Content-Type must be application/json, got ${req.headers['content-type'] ?? 'none'}`,
      ),
    );
    return;
  }
  next();
}

/** What body-parser (and http-errors) attach to the errors they raise. */
interface ParserError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
  limit?: unknown;
  charset?: unknown;
  message?: unknown;
}

const asParserError = (err: unknown): ParserError => (typeof err === 'object' && err !== null ? err : {});
const messageOf = (err: ParserError): string => (typeof err.message === 'string' ? err.message : 'invalid request');

/**
 * The one mapping from a failure while reading a request to its 4xx. Null when the error is not
 * the client's (then it is ours: 500) and for a request the client aborted (nobody to answer).
 */
export function clientErrorOf(err: unknown): HttpError | 'aborted' | null {
  if (err instanceof HttpError) return err;
  // Express decodes route parameters with decodeURIComponent.
  if (err instanceof URIError)
    return new HttpError(
      400,
      'bad_request',
      'The request path has bad percent-encoding (a % must start a valid UTF-8 escape such as %C3%A9)',
    );
  const parser = asParserError(err);
  switch (parser.type) {
    case 'request.aborted':
      return 'aborted';
    case 'entity.too.large':
      return new HttpError(
        413,
        'payload_too_large',
        typeof parser.limit === 'number' ? `Body larger than ${parser.limit} bytes` : 'Body too large',
      );
    case 'encoding.unsupported':
      return new HttpError(415, 'unsupported_encoding', 'Content-Encoding is not accepted: send the body uncompressed');
    case 'charset.unsupported':
      return new HttpError(
        415,
        'unsupported_charset',
        `Charset ${typeof parser.charset === 'string' ? JSON.stringify(parser.charset.slice(0, 40)) : ''} is not accepted: send UTF-8`,
      );
    case 'entity.parse.failed':
      return new HttpError(400, 'malformed_json', `Body is not valid JSON: ${messageOf(parser)}`);
    case 'request.size.invalid':
      return new HttpError(400, 'bad_request', 'The body is not as long as its Content-Length says');
    case 'parameters.too.many':
      return new HttpError(413, 'payload_too_large', 'Too many parameters in the body');
    default:
      break;
  }
  // Any other http-errors error a parser marks as the client's (`expose`), with its own 4xx.
  if (typeof parser.status === 'number' && parser.status >= 400 && parser.status < 500 && parser.expose === true) {
    return new HttpError(parser.status, 'bad_request', messageOf(parser));
  }
  return null;
}

/**
 * Answers every failure: the client's with its 4xx, anything else (ours) with 500. Ours is logged
 * with the method, the redacted path and the error's name and message: never the body, a header
 * or the raw path (the codec path carries the operator token).
 */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) return;
    const clientError = clientErrorOf(err);
    if (clientError === 'aborted') return;
    if (clientError !== null) return sendError(res, clientError);
    logger.error('unexpected error', { method: req.method, path: redactUrl(req.originalUrl), error: err });
    res
      .status(500)
      .json({ error: { code: 'internal', message: 'Internal error; the event was not recorded, please retry' } });
  };
}
