import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Payload } from '@temporalio/common';
import type { Config } from '../lib/config';
import { EncryptionCodec } from '../lib/payload-codec';
import { HttpError, requireJson } from './http-errors';
import { operatorOnly } from './operator-auth';
import { CODEC_BODY_LIMIT_BYTES } from './request-guards';
import { describeIssues } from './schemas';

// Buffer.from(text, 'base64') skips what it does not understand, so garbage would decode to other bytes.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const base64 = z.string().regex(STRICT_BASE64, 'must be standard base64 (A-Z a-z 0-9 + /, padded with =)');

const PayloadsSchema = z.object(
  {
    payloads: z.array(
      z.object({ metadata: z.record(z.string(), base64).default({}), data: base64.default('') }, { error: 'must be an object { metadata, data }' }),
      { error: 'must be an array of { metadata, data }' },
    ),
  },
  { error: 'expected { payloads: [{ metadata, data }] } with base64 values' },
);

const toPayload = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});
const fromPayload = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/**
 * The remote codec the Temporal Web UI and CLI call to show decrypted payloads to operators.
 * CORS lets the Web UI at TEMPORAL_UI_URL (and no other site) call it from the browser; the
 * operator token keeps everyone else out.
 */
export function codecRouter(config: Config): Router {
  const router = express.Router();
  const codec = new EncryptionCodec(config.keyring);
  const cors = (req: Request, res: Response, next: NextFunction): void => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (config.temporalUiOrigin !== null && origin === config.temporalUiOrigin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, x-namespace');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
  const handle = (op: 'encode' | 'decode') => async (req: Request, res: Response) => {
    const parsed = PayloadsSchema.safeParse(req.body);
    if (!parsed.success) {
      const { path, message } = describeIssues(parsed.error);
      throw new HttpError(400, 'invalid_body', `${path}: ${message}`, path);
    }
    const payloads = parsed.data.payloads.map(toPayload);
    let result: Payload[];
    try {
      result = op === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
    } catch (err) {
      // A payload under a key this service does not hold, or altered: the caller's input, not our failure.
      throw new HttpError(400, 'undecodable_payload', `cannot ${op} the payloads: ${err instanceof Error ? err.message : String(err)}`);
    }
    res.json({ payloads: result.map(fromPayload) });
  };
  // No inflating: a compressed body is refused (415) before it is read, by the guards in app.ts and here.
  const json = express.json({ limit: CODEC_BODY_LIMIT_BYTES, inflate: false, type: 'application/json' });
  for (const prefix of ['/codec', '/codec/t/:token']) {
    router.options(`${prefix}/:op`, cors);
    router.post(`${prefix}/encode`, cors, operatorOnly(config.operatorToken), requireJson, json, handle('encode'));
    router.post(`${prefix}/decode`, cors, operatorOnly(config.operatorToken), requireJson, json, handle('decode'));
  }
  return router;
}
