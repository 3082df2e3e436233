import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Payload } from '@temporalio/common';
import type { Config } from '../lib/config';
import { EncryptionCodec } from '../lib/payload-codec';
import { HttpError, requireJson } from './http-errors';
import { operatorOnly } from './operator-auth';
import { CODEC_BODY_LIMIT_BYTES } from './request-guards';
import { describeIssues } from './schemas';
import { AccessGrants, cookieOf, setGrantCookie } from './status-access';
import { messagePage } from './status-page';

/** The codec's own credential, as the Web UI's browser holds it: an HttpOnly cookie scoped to /codec. */
export const CODEC_COOKIE = 'sgzs_codec';
/** How long a browser's codec session lasts before the engineer opens a new codec link. */
export const CODEC_SESSION_MS = 7 * 24 * 3600 * 1000;
const BEARER = /^Bearer ([!-~]+)$/i;

// Buffer.from(text, 'base64') skips what it does not understand, so garbage would decode to other bytes.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const base64 = z.string().regex(STRICT_BASE64, 'must be standard base64 (A-Z a-z 0-9 + /, padded with =)');

const PayloadsSchema = z.object(
  {
    payloads: z.array(
      z.object(
        { metadata: z.record(z.string(), base64).default({}), data: base64.default('') },
        { error: 'must be an object { metadata, data }' },
      ),
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
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/**
 * The remote codec the Temporal Web UI and CLI call to show decrypted payloads to operators.
 * CORS lets the Web UI at TEMPORAL_UI_URL (and no other site) call it from the browser.
 *
 * Credentials, none of which is ever published in the Web UI's settings (which anyone who can load
 * the UI reads): the codec's own grant, as the cookie a browser gets by opening a codec link
 * (`POST /codec/link` with the operator token mints one; the UI sends the cookie with
 * `includeCredentials`), or as `Authorization: Bearer <grant>` or `/codec/t/<grant>` for a tool;
 * and, for the engineer's CLI, `Authorization: Bearer OPERATOR_TOKEN` (the `/codec/t/<token>` form
 * is still accepted for existing setups, but nothing here publishes it any more).
 */
export function codecRouter(config: Config): Router {
  const router = express.Router();
  const codec = new EncryptionCodec(config.keyring);
  const grants = new AccessGrants(config.keyring);
  const operator = operatorOnly(config.operatorToken);
  const codecGrant = (token: string | undefined): boolean => grants.verify(token)?.scope === 'codec';
  const authorized = (req: Request, res: Response, next: NextFunction): void => {
    const pathToken = typeof req.params.token === 'string' ? req.params.token : undefined;
    const bearer = BEARER.exec(req.get('authorization') ?? '')?.[1];
    if (
      codecGrant(pathToken) ||
      codecGrant(bearer) ||
      (pathToken === undefined && bearer === undefined && codecGrant(cookieOf(req, CODEC_COOKIE)))
    )
      return next();
    operator(req, res, next);
  };
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
      throw new HttpError(
        400,
        'undecodable_payload',
        `cannot ${op} the payloads: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    res.json({ payloads: result.map(fromPayload) });
  };
  // No inflating: a compressed body is refused (415) before it is read, by the guards in app.ts and here.
  const json = express.json({ limit: CODEC_BODY_LIMIT_BYTES, inflate: false, type: 'application/json' });
  for (const prefix of ['/codec', '/codec/t/:token']) {
    router.options(`${prefix}/:op`, cors);
    router.post(`${prefix}/encode`, cors, authorized, requireJson, json, handle('encode'));
    router.post(`${prefix}/decode`, cors, authorized, requireJson, json, handle('decode'));
  }

  /** A codec link for a browser, minted with the operator token; the link carries a codec-only grant. */
  router.post('/codec/link', operator, (_req: Request, res: Response) => {
    const { grant, expiresAt } = grants.issue('codec', null, CODEC_SESSION_MS);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ url: `${config.publicUrl}/codec/login?grant=${grant}`, expiresAt: new Date(expiresAt).toISOString() });
  });

  /** Opening a codec link: the browser keeps the grant as an HttpOnly cookie for /codec, then goes to the Web UI. */
  router.get('/codec/login', (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    const token = typeof req.query.grant === 'string' ? req.query.grant : undefined;
    const grant = grants.verify(token);
    if (grant === null || grant.scope !== 'codec' || token === undefined) {
      res
        .status(401)
        .type('html')
        .send(
          messagePage(
            'Codec link expired or invalid',
            'Ask the engineer who runs the sync for a new codec link (POST /codec/link with the operator token).',
            '',
          ),
        );
      return;
    }
    setGrantCookie(res, {
      name: CODEC_COOKIE,
      value: token,
      path: '/codec',
      expiresAt: grant.expiresAt,
      secure: config.publicUrl.startsWith('https:'),
    });
    if (config.temporalUiUrl !== null) {
      res.redirect(303, config.temporalUiUrl);
      return;
    }
    res
      .type('html')
      .send(
        messagePage(
          'Codec enabled',
          `This browser may now decode payloads through ${config.publicUrl}/codec until ${new Date(grant.expiresAt).toISOString()}.`,
          '',
        ),
      );
  });
  return router;
}
