import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Payload } from '@temporalio/common';
import type { Config } from '../lib/config';
import { EncryptionCodec } from '../lib/payload-codec';
import { HttpError } from './http-errors';
import { operatorOnly } from './operator-auth';

const PayloadsSchema = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).default({}), data: z.string().default('') })),
});

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
 * CORS lets the browser call it; the operator token keeps everyone else out.
 */
export function codecRouter(config: Config): Router {
  const router = express.Router();
  const codec = new EncryptionCodec(config.keyring);
  const cors = (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get('origin');
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, x-namespace');
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
  const handle = (op: 'encode' | 'decode') => async (req: Request, res: Response) => {
    const parsed = PayloadsSchema.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_body', 'expected { payloads: [{ metadata, data }] } with base64 values');
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
  const json = express.json({ limit: '4mb' });
  for (const prefix of ['/codec', '/codec/t/:token']) {
    router.options(`${prefix}/:op`, cors);
    router.post(`${prefix}/encode`, cors, operatorOnly(config.operatorToken), json, handle('encode'));
    router.post(`${prefix}/decode`, cors, operatorOnly(config.operatorToken), json, handle('decode'));
  }
  return router;
}
