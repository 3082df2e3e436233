import { createHmac, randomBytes } from 'node:crypto';
import type { TestAccount, TestSystem } from './system';

export interface HttpAnswer {
  status: number;
  text: string;
  json: unknown;
}

async function answerOf(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    // An HTML page or an empty body: the text is what the test reads.
  }
  return { status: res.status, text, json };
}

/** A Storeganise add-on webhook body, as the sandbox would send it for `account`. */
export function storeganiseWebhookBody(
  system: TestSystem,
  account: Pick<TestAccount, 'subdomain' | 'addonId'>,
  event: { type: string; data?: Record<string, unknown>; id?: string; apiUrl?: string },
): string {
  return JSON.stringify({
    id: event.id ?? randomBytes(12).toString('hex'),
    type: event.type,
    data: event.data ?? {},
    apiUrl: event.apiUrl ?? system.storeganise.urlTemplate.replace('{subdomain}', account.subdomain),
    addonId: account.addonId,
  });
}

/** POSTs a raw body to `/addon/storeganise`, signed like Storeganise does with SG_WEBHOOK_SECRET. */
export async function postStoreganiseWebhook(
  system: TestSystem,
  body: string,
  secret = system.config.storeganise.webhookSecret,
): Promise<HttpAnswer> {
  const signature = createHmac('sha256', secret).update(body).digest('base64');
  const res = await fetch(`${system.apiUrl}/addon/storeganise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'sg-signature': signature },
    body,
  });
  return answerOf(res);
}

/** A Zendesk user-event envelope about one Zendesk user. */
export function zendeskEventBody(event: {
  type: string;
  zendeskUserId: number | string;
  externalId?: string | null;
  id?: string;
}): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    type: event.type,
    account_id: 1234567,
    id: event.id ?? `01${randomBytes(12).toString('hex').toUpperCase()}`,
    time: now,
    zendesk_event_version: '2022-11-06',
    subject: `zen:user:${event.zendeskUserId}`,
    detail: {
      created_at: now,
      email: '',
      external_id: event.externalId ?? '',
      default_group_id: '',
      id: String(event.zendeskUserId),
      organization_id: '',
      role: 'end-user',
      updated_at: now,
    },
    event: {},
  });
}

/** POSTs a Zendesk event to `/addon/zendesk/:subdomain`, signed with `secret` at `timestamp` (ISO), or unsigned. */
export async function postZendeskEvent(
  system: TestSystem,
  subdomain: string,
  body: string,
  signing: { secret: string; timestamp?: string } | null,
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signing !== null) {
    const timestamp = signing.timestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    headers['x-zendesk-webhook-signature-timestamp'] = timestamp;
    headers['x-zendesk-webhook-signature'] = createHmac('sha256', signing.secret)
      .update(timestamp + body)
      .digest('base64');
  }
  const res = await fetch(`${system.apiUrl}/addon/zendesk/${encodeURIComponent(subdomain)}`, {
    method: 'POST',
    headers,
    body,
  });
  return answerOf(res);
}

/** Calls an operator endpoint with the operator token (or `token`; none when null). */
export async function operatorCall(
  system: TestSystem,
  method: 'GET' | 'POST',
  path: string,
  token: string | null = system.env.OPERATOR_TOKEN ?? null,
): Promise<HttpAnswer> {
  const res = await fetch(`${system.apiUrl}${path}`, {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return answerOf(res);
}
