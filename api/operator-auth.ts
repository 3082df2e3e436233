import type { NextFunction, Request, Response } from 'express';
import { constantTimeEqual } from '../lib/crypto';
import { HttpError, sendError } from './http-errors';

/** Operator-only endpoints take `Authorization: Bearer OPERATOR_TOKEN` (or the token as a path segment, for the Web UI). */
export function operatorOnly(token: string | null) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (token === null) return sendError(res, new HttpError(503, 'operator_endpoints_disabled', 'Set OPERATOR_TOKEN to enable operator endpoints'));
    const header = req.get('authorization') ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : typeof req.params.token === 'string' ? req.params.token : '';
    if (presented === '' || !constantTimeEqual(presented, token)) return sendError(res, new HttpError(401, 'unauthorized', 'Operator token required'));
    next();
  };
}
