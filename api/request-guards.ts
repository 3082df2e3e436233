import type { NextFunction, Request, Response } from 'express';
import { HttpError, sendError } from './http-errors';

/**
 * Refusals that need nothing but the request line and headers, so they cost no body read, no
 * parsing and no Temporal call. They run before every route.
 */

/** Webhooks (`/addon/*`): product spec §5.3. */
export const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;
/** The codec: the Web UI decodes a whole history page in one request. */
export const CODEC_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
/** Every other endpoint reads no body at all. */
export const OTHER_BODY_LIMIT_BYTES = 64 * 1024;

/** How many bytes of body the endpoint at `path` reads at most. */
export function bodyLimitFor(path: string): number {
  // Routes match case-insensitively, so must the limits.
  const lower = path.toLowerCase();
  if (lower.startsWith('/addon/')) return WEBHOOK_BODY_LIMIT_BYTES;
  if (lower.startsWith('/codec/')) return CODEC_BODY_LIMIT_BYTES;
  return OTHER_BODY_LIMIT_BYTES;
}

const hasBody = (req: Request): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';

const isWellFormedComponent = (text: string): boolean => {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    // A `%` not followed by two hex digits, or bytes that are not UTF-8.
    return false;
  }
};

/**
 * 400 for bad percent-encoding anywhere in the path or the query string, before any route
 * decodes a parameter (where it would be a URIError).
 */
export function rejectMalformedUrl(req: Request, res: Response, next: NextFunction): void {
  const url = req.originalUrl;
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (!path.split('/').every(isWellFormedComponent)) {
    return sendError(
      res,
      new HttpError(
        400,
        'bad_request',
        'The request path has bad percent-encoding (a % must start a valid UTF-8 escape such as %C3%A9)',
      ),
    );
  }
  const query = queryAt === -1 ? '' : url.slice(queryAt + 1);
  if (!query.replaceAll('+', ' ').split(/[&=]/).every(isWellFormedComponent)) {
    return sendError(
      res,
      new HttpError(
        400,
        'bad_request',
        'The query string has bad percent-encoding (a % must start a valid UTF-8 escape such as %C3%A9)',
      ),
    );
  }
  next();
}

/**
 * 415 for a compressed body (any Content-Encoding but identity): no endpoint inflates, so a
 * small request can never expand into a large one or fail inside a decompressor.
 */
export function rejectContentEncoding(req: Request, res: Response, next: NextFunction): void {
  const encoding = req.headers['content-encoding'];
  if (encoding === undefined || !hasBody(req)) return next();
  const codings = encoding.split(',').map((coding) => coding.trim().toLowerCase());
  if (codings.every((coding) => coding === 'identity')) return next();
  sendError(
    res,
    new HttpError(
      415,
      'unsupported_encoding',
      `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not accepted: send the body uncompressed`,
    ),
  );
}

/** 413 at once for a declared Content-Length over the endpoint's limit, before a byte of the body is read. */
export function limitDeclaredLength(limitFor: (path: string) => number = bodyLimitFor) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const declared = req.headers['content-length'];
    // Node's parser has already refused a Content-Length that is not a number.
    if (declared === undefined) return next();
    const limit = limitFor(req.path);
    if (Number(declared) <= limit) return next();
    sendError(
      res,
      new HttpError(
        413,
        'payload_too_large',
        `Body of ${declared} bytes declared; this endpoint takes at most ${limit} bytes`,
      ),
    );
  };
}

/** Every complete request is answered within this time, whatever its handler waits for; well inside the server's 30 s. */
export const ANSWER_WITHIN_MS = 20_000;
const RETRY_AFTER_SECONDS = 5;

/**
 * 503 with Retry-After for a complete request whose handler has not answered in time (Temporal
 * behind a busy worker, a slow API), so no client is left waiting. A request still arriving is the
 * server's request timeout's (408). The handler's late answer is dropped by the error handler.
 */
export function answerWithin(ms: number = ANSWER_WITHIN_MS) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const timer = setTimeout(() => {
      if (res.headersSent || !req.complete) return;
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      sendError(
        res,
        new HttpError(
          503,
          'no_answer_in_time',
          `No answer within ${ms / 1000} s (Temporal or a service it waits for is slow); retry in ${RETRY_AFTER_SECONDS} s`,
        ),
      );
    }, ms);
    res.once('close', () => clearTimeout(timer));
    next();
  };
}
