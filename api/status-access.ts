import { createHmac } from 'node:crypto';
import type { Request, Response } from 'express';
import { constantTimeEqual, type Keyring } from '../lib/crypto';
import { presentedOperatorToken } from './operator-auth';

/**
 * Signed, expiring grants: what a browser holds instead of the operator token.
 *
 * - `status-read`: one account's status page, read-only; the link handed to a storage operator.
 * - `status-operate`: the same page with the full-sync controls, for the engineer's browser.
 * - `codec`: the codec endpoint only, as a cookie the Temporal Web UI sends with `includeCredentials`.
 *
 * A grant is `g1.{key id}.{scope}.{account|-}.{expires, epoch s}.{HMAC}`, keyed by a key derived
 * from ENCRYPTION_KEY (every process of the installation shares it, so any API verifies what any
 * other issued; a rotated key keeps verifying until it is removed). It reveals nothing about the
 * operator token, and is useless beyond its scope, account and expiry.
 */
export type GrantScope = 'status-read' | 'status-operate' | 'codec';

export interface Grant {
  scope: GrantScope;
  account: string | null;
  expiresAt: number;
}

const SCOPES: readonly GrantScope[] = ['status-read', 'status-operate', 'codec'];
const MAX_GRANT_LENGTH = 300;
const LABEL = 'sg-zendesk-sync:access-grants:v1';

export class AccessGrants {
  constructor(private readonly keyring: Keyring) {}

  private mac(keyId: string, body: string): string | null {
    const entry = this.keyring.byId(keyId);
    if (entry === undefined) return null;
    const key = createHmac('sha256', entry.key).update(LABEL).digest();
    return createHmac('sha256', key).update(body).digest('base64url');
  }

  issue(
    scope: GrantScope,
    account: string | null,
    ttlMs: number,
    now = Date.now(),
  ): { grant: string; expiresAt: number } {
    const expiresAt = Math.floor((now + ttlMs) / 1000) * 1000;
    const keyId = this.keyring.current.id;
    const body = ['g1', keyId, scope, account ?? '-', String(expiresAt / 1000)].join('.');
    return { grant: `${body}.${this.mac(keyId, body) ?? ''}`, expiresAt };
  }

  /** The grant a token carries, or null when it is malformed, forged, expired or signed by a key no longer held. */
  verify(token: string | undefined, now = Date.now()): Grant | null {
    if (token === undefined || token.length > MAX_GRANT_LENGTH) return null;
    const parts = token.split('.');
    if (parts.length !== 6) return null;
    const [version, keyId = '', scope = '', account = '', expires = '', mac = ''] = parts;
    if (version !== 'g1' || !SCOPES.includes(scope as GrantScope) || !/^\d{1,12}$/.test(expires)) return null;
    const expected = this.mac(keyId, parts.slice(0, 5).join('.'));
    if (expected === null || !constantTimeEqual(expected, mac)) return null;
    const expiresAt = Number(expires) * 1000;
    if (expiresAt <= now) return null;
    return { scope: scope as GrantScope, account: account === '-' ? null : account, expiresAt };
  }
}

/** A request's cookie by name (no cookie parser needed for the two cookies the API sets). */
export function cookieOf(req: Request, name: string): string | undefined {
  const header = req.get('cookie');
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at === -1) continue;
    if (pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * Sets an HttpOnly cookie. Over https it is `SameSite=None; Secure`, so a Web UI on another site
 * may send it (the codec's CORS still answers only TEMPORAL_UI_URL); over plain http (a local
 * setup, where the UI and the API share the site `localhost`) `SameSite=Lax`.
 */
export function setGrantCookie(
  res: Response,
  options: {
    name: string;
    value: string;
    path: string;
    expiresAt: number;
    secure: boolean;
    sameSite?: 'Lax' | 'Strict';
  },
): void {
  const maxAge = Math.max(0, Math.floor((options.expiresAt - Date.now()) / 1000));
  const sameSite = options.sameSite ?? (options.secure ? 'None' : 'Lax');
  const attributes = [
    `${options.name}=${options.value}`,
    `Path=${options.path}`,
    `Max-Age=${maxAge}`,
    'HttpOnly',
    `SameSite=${sameSite}`,
  ];
  if (options.secure) attributes.push('Secure');
  res.append('Set-Cookie', attributes.join('; '));
}

/** Whether the request carries the operator token in its Authorization header (never in a URL here). */
export function hasOperatorToken(req: Request, operatorToken: string | null): boolean {
  if (operatorToken === null) return false;
  const presented = presentedOperatorToken(req.get('authorization'), undefined);
  return 'token' in presented && presented.token.length <= 512 && constantTimeEqual(presented.token, operatorToken);
}

/** A CSRF token for the page's forms: bound to the grant the browser holds, so another site cannot forge one. */
export function formToken(grant: string): string {
  return createHmac('sha256', grant).update('status-form').digest('base64url').slice(0, 32);
}
