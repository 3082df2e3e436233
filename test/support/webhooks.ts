import { createHmac } from 'node:crypto';

export const signStoreganise = (secret: string, body: string | Buffer): string =>
  createHmac('sha256', secret).update(body).digest('base64');

/** Zendesk's documented signature: base64(HMAC-SHA256(secret, timestamp + body)). */
export const signZendesk = (secret: string, timestamp: string, body: string | Buffer): string =>
  createHmac('sha256', secret).update(timestamp).update(body).digest('base64');

export const zendeskTimestamp = (at = new Date()): string => at.toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    // Some answers (413 from the body parser) are plain text.
  }
  return { status: res.status, json };
}
