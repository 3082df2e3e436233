import type { NextFunction, Request, Response } from 'express';
import { constantTimeEqual } from '../lib/crypto';
import { HttpError, sendError } from './http-errors';

// `Bearer` (any case, RFC 7235), one space, one run of visible ASCII. Wider than RFC 6750's b64token
// so an OPERATOR_TOKEN with punctuation keeps working; whitespace, control and non-ASCII bytes never pass.
const BEARER = /^Bearer ([!-~]+)$/i;
// Far above the 16+ characters a token has; longer input is refused before it is compared.
const MAX_TOKEN_LENGTH = 512;

/** The token an operator request presents, or why it presents none. */
export function presentedOperatorToken(
  authorization: string | undefined,
  pathToken: string | undefined,
): { token: string } | { problem: string } {
  // On `/codec/t/:token/…` the path carries the credential: the Web UI cannot send a header.
  if (pathToken !== undefined) return pathToken === '' ? { problem: 'Operator token required' } : { token: pathToken };
  if (authorization === undefined || authorization === '')
    return { problem: 'Operator token required: send Authorization: Bearer <OPERATOR_TOKEN>' };
  const match = BEARER.exec(authorization);
  if (match?.[1] === undefined) return { problem: 'Authorization must be "Bearer <OPERATOR_TOKEN>"' };
  return { token: match[1] };
}

/** Operator-only endpoints take `Authorization: Bearer OPERATOR_TOKEN` (or the token as a path segment, for the Web UI). */
export function operatorOnly(token: string | null) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (token === null)
      return sendError(
        res,
        new HttpError(503, 'operator_endpoints_disabled', 'Set OPERATOR_TOKEN to enable operator endpoints'),
      );
    const pathToken = typeof req.params.token === 'string' ? req.params.token : undefined;
    const presented = presentedOperatorToken(req.get('authorization'), pathToken);
    if ('problem' in presented) return sendError(res, new HttpError(401, 'unauthorized', presented.problem));
    if (presented.token.length > MAX_TOKEN_LENGTH || !constantTimeEqual(presented.token, token)) {
      return sendError(res, new HttpError(401, 'unauthorized', 'Operator token required'));
    }
    next();
  };
}
