import { constantTimeEqual, hmacSha256 } from '../lib/crypto';

/** Storeganise `sg-signature`: base64 HMAC-SHA256 of the raw body with the add-on signing secret. */
export function verifyStoreganiseSignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  return constantTimeEqual(hmacSha256(secret, rawBody).toString('base64'), header.trim());
}

/** How far a Zendesk signature timestamp may lie from now. */
export const ZENDESK_REPLAY_WINDOW_MS = 5 * 60_000;

export type ZendeskSignatureCheck = 'valid' | 'missing' | 'invalid' | 'stale';

/**
 * Zendesk: base64(HMAC-SHA256(key = secret as-is, message = timestamp + raw body)). The replay
 * window is checked on the signature timestamp header, never on the envelope. Every known secret
 * of the account is tried (the self-registered webhook's and the operator's).
 */
export function verifyZendeskSignature(
  rawBody: Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
  secrets: readonly string[],
  now = Date.now(),
): ZendeskSignatureCheck {
  if (!signature || !timestamp) return 'missing';
  const signedAt = Date.parse(timestamp);
  if (!Number.isFinite(signedAt)) return 'invalid';
  const matches = secrets.some((secret) => constantTimeEqual(hmacSha256(secret, timestamp, rawBody).toString('base64'), signature.trim()));
  if (!matches) return 'invalid';
  return Math.abs(now - signedAt) > ZENDESK_REPLAY_WINDOW_MS ? 'stale' : 'valid';
}
