import { constantTimeEqual, hmacSha256 } from '../lib/crypto';

// A SHA-256 MAC in standard base64: 32 bytes are 43 characters and one `=`. No base64url, no whitespace.
const HMAC_SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * The 32 bytes of a signature header, or null when it is not strict standard base64 of 32 bytes.
 * The last character must also be canonical (its unused low bits zero), so exactly one spelling passes.
 */
export function signatureBytes(header: string): Buffer | null {
  if (!HMAC_SHA256_BASE64.test(header)) return null;
  const bytes = Buffer.from(header, 'base64');
  return bytes.length === 32 && bytes.toString('base64') === header ? bytes : null;
}

/** Storeganise `sg-signature`: base64 HMAC-SHA256 of the raw body with the add-on signing secret. */
export function verifyStoreganiseSignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const presented = signatureBytes(header);
  if (presented === null) return false;
  return constantTimeEqual(hmacSha256(secret, rawBody), presented);
}

/** How far a Zendesk signature timestamp may lie from now. */
export const ZENDESK_REPLAY_WINDOW_MS = 5 * 60_000;

// What Zendesk sends (`2021-03-25T05:09:27Z`): ISO-8601 in UTC, `Z` only, optional fraction of a second.
const ZENDESK_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** Milliseconds since the epoch of a Zendesk signature timestamp, or null when it is not one. */
export function parseZendeskTimestamp(timestamp: string): number | null {
  const match = ZENDESK_TIMESTAMP.exec(timestamp);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = match[7] ?? '';
  const at = Date.UTC(year, month - 1, day, hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3)));
  const parsed = new Date(at);
  // Date.UTC rolls 2021-02-30 over into March and 24:00 into the next day: such a date is not a timestamp.
  const exact =
    parsed.getUTCFullYear() === year &&
    parsed.getUTCMonth() === month - 1 &&
    parsed.getUTCDate() === day &&
    parsed.getUTCHours() === hour &&
    parsed.getUTCMinutes() === minute &&
    parsed.getUTCSeconds() === second;
  return exact ? at : null;
}

export type ZendeskSignatureCheck = 'valid' | 'missing' | 'invalid' | 'stale';

/**
 * Zendesk: base64(HMAC-SHA256(key = secret as-is, message = timestamp + raw body)). The replay
 * window is checked on the signature timestamp header, never on the envelope. Every known secret
 * of the account is tried (the self-registered webhook's and the operator's). A timestamp or a
 * signature in any other format than Zendesk's is 'invalid', whatever it would verify to.
 */
export function verifyZendeskSignature(
  rawBody: Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
  secrets: readonly string[],
  now = Date.now(),
): ZendeskSignatureCheck {
  if (!signature || !timestamp) return 'missing';
  const signedAt = parseZendeskTimestamp(timestamp);
  const presented = signatureBytes(signature);
  if (signedAt === null || presented === null) return 'invalid';
  const matches = secrets.some((secret) => constantTimeEqual(hmacSha256(secret, timestamp, rawBody), presented));
  if (!matches) return 'invalid';
  return Math.abs(now - signedAt) > ZENDESK_REPLAY_WINDOW_MS ? 'stale' : 'valid';
}
