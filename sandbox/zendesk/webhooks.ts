import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { EVENT_TYPE_PATTERN } from './events';
import { accountOf, cursorPage, HttpError, parseInput } from './http';
import { isoSeconds, type SandboxContext, type WebhookRecord, type ZendeskAccount } from './state';
import { WebhookAuthenticationSchema, type WebhookJson } from './wire';

export const WebhookFieldsSchema = z.object({
  name: z.string().min(1),
  description: z.string().default(''),
  endpoint: z.url({ protocol: /^https?$/ }),
  http_method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  request_format: z.enum(['json', 'xml', 'form_encoded']),
  status: z.enum(['active', 'inactive']),
  subscriptions: z.array(z.string()).default([]),
  authentication: WebhookAuthenticationSchema.nullable().default(null),
  custom_headers: z.record(z.string(), z.string()).default({}),
});
export type WebhookFields = z.infer<typeof WebhookFieldsSchema>;
export type WebhookFieldsInput = z.input<typeof WebhookFieldsSchema>;

interface WebhookApiError {
  code: string;
  title: string;
  source?: { pointer: string };
}

/** The Webhooks API answers errors as a JSON:API-style `errors` array, unlike the Support API. */
function webhookError(status: number, errors: WebhookApiError[]): HttpError {
  return new HttpError(status, { errors });
}

/** `within` is the JSON pointer of the object the failing schema parsed, e.g. `/webhook`. */
function invalidWebhook(within = '') {
  return (issues: readonly z.core.$ZodIssue[]): HttpError =>
    webhookError(
      400,
      issues.map((issue) => ({
        code:
          issue.code === 'invalid_type' && /received undefined/.test(issue.message)
            ? 'RequiredFieldMissing'
            : 'InvalidValue',
        title: issue.message,
        source: { pointer: [within, ...issue.path.map(String)].join('/') || '/' },
      })),
    );
}

const CONDITIONAL = 'conditional_ticket_events';

function isEventSubscribed(subscriptions: readonly string[]): boolean {
  return subscriptions.length > 0 && !subscriptions.includes(CONDITIONAL);
}

/** Rules zod cannot express alone: how subscriptions, method and format fit together. */
function assertCoherent(fields: WebhookFields): void {
  const errors: WebhookApiError[] = [];
  const pointer = { pointer: '/webhook/subscriptions' };
  if (fields.subscriptions.includes(CONDITIONAL) && fields.subscriptions.length > 1) {
    errors.push({
      code: 'InvalidValue',
      title: `${CONDITIONAL} cannot be combined with event subscriptions`,
      source: pointer,
    });
  }
  for (const s of fields.subscriptions) {
    if (s !== CONDITIONAL && !EVENT_TYPE_PATTERN.test(s)) {
      errors.push({ code: 'InvalidValue', title: `Unknown subscription: ${s}`, source: pointer });
    }
  }
  if (isEventSubscribed(fields.subscriptions) && (fields.http_method !== 'POST' || fields.request_format !== 'json')) {
    errors.push({
      code: 'InvalidValue',
      title: 'A webhook subscribed to Zendesk events must use http_method POST and request_format json',
      source: { pointer: '/webhook/http_method' },
    });
  }
  if (errors.length > 0) throw webhookError(400, errors);
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 26 characters, time first, like the ULIDs Zendesk uses for webhook ids. */
function ulid(nowMs = Date.now()): string {
  let time = '';
  for (let t = nowMs, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = (CROCKFORD[t % 32] ?? '0') + time;
  const random = [...randomBytes(16)].map((b) => CROCKFORD[b % 32] ?? '0').join('');
  return time + random;
}

function newSigningSecret(): string {
  return `${randomBytes(32).toString('base64url')}=`;
}

export function registerWebhook(account: ZendeskAccount, input: unknown): WebhookRecord {
  const fields = parseInput(WebhookFieldsSchema, input, invalidWebhook('/webhook'));
  assertCoherent(fields);
  const now = Date.now();
  const webhook: WebhookRecord = {
    id: ulid(now),
    name: fields.name,
    description: fields.description,
    status: fields.status,
    endpoint: fields.endpoint,
    httpMethod: fields.http_method,
    requestFormat: fields.request_format,
    subscriptions: fields.subscriptions,
    authentication: fields.authentication,
    customHeaders: fields.custom_headers,
    signingSecret: newSigningSecret(),
    createdAtMs: now,
    updatedAtMs: now,
    createdBy: String(account.adminUserId),
    updatedBy: String(account.adminUserId),
  };
  account.webhooks.set(webhook.id, webhook);
  return webhook;
}

function fieldsOf(webhook: WebhookRecord): WebhookFields {
  return {
    name: webhook.name,
    description: webhook.description,
    endpoint: webhook.endpoint,
    http_method: webhook.httpMethod,
    request_format: webhook.requestFormat,
    status: webhook.status,
    subscriptions: webhook.subscriptions,
    authentication: webhook.authentication,
    custom_headers: webhook.customHeaders,
  };
}

function replaceFields(account: ZendeskAccount, webhook: WebhookRecord, input: unknown): void {
  const fields = parseInput(WebhookFieldsSchema, input, invalidWebhook('/webhook'));
  assertCoherent(fields);
  if (
    isEventSubscribed(fields.subscriptions) !== isEventSubscribed(webhook.subscriptions) &&
    webhook.subscriptions.length > 0
  ) {
    throw webhookError(400, [
      {
        code: 'InvalidValue',
        title: "A webhook's connection method (events or triggers) cannot change",
        source: { pointer: '/webhook/subscriptions' },
      },
    ]);
  }
  Object.assign(webhook, {
    name: fields.name,
    description: fields.description,
    endpoint: fields.endpoint,
    httpMethod: fields.http_method,
    requestFormat: fields.request_format,
    status: fields.status,
    subscriptions: fields.subscriptions,
    authentication: fields.authentication,
    customHeaders: fields.custom_headers,
    updatedAtMs: Date.now(),
    updatedBy: String(account.adminUserId),
  } satisfies Partial<WebhookRecord>);
}

export function webhookJson(webhook: WebhookRecord): WebhookJson {
  return {
    id: webhook.id,
    name: webhook.name,
    description: webhook.description,
    status: webhook.status,
    endpoint: webhook.endpoint,
    http_method: webhook.httpMethod,
    request_format: webhook.requestFormat,
    subscriptions: webhook.subscriptions,
    authentication: webhook.authentication
      ? { type: webhook.authentication.type, add_position: webhook.authentication.add_position }
      : null,
    custom_headers: webhook.customHeaders,
    created_at: isoSeconds(webhook.createdAtMs),
    created_by: webhook.createdBy,
    updated_at: isoSeconds(webhook.updatedAtMs),
    updated_by: webhook.updatedBy,
  };
}

const BodySchema = z.object({ webhook: z.record(z.string(), z.unknown()) });

const ListQuerySchema = z.object({
  'filter[name_contains]': z.string().optional(),
  'filter[status]': z.enum(['active', 'inactive']).optional(),
  'page[size]': z.coerce.number().int().min(1).max(100).default(100),
  'page[after]': z.string().optional(),
  'page[before]': z.string().optional(),
});

export function webhooksApi(ctx: SandboxContext): Router {
  const router = Router();
  const webhookOf = (account: ZendeskAccount, id: string | undefined): WebhookRecord => {
    const webhook = id === undefined ? undefined : account.webhooks.get(id);
    if (!webhook) throw webhookError(404, [{ code: 'WebhookNotFound', title: `Webhook ${id ?? ''} not found` }]);
    return webhook;
  };
  const body = (value: unknown): Record<string, unknown> => parseInput(BodySchema, value, invalidWebhook()).webhook;

  router.get('/webhooks', (req, res) => {
    const account = accountOf(ctx, req);
    const query = parseInput(ListQuerySchema, req.query, invalidWebhook());
    const needle = query['filter[name_contains]']?.toLowerCase();
    const webhooks = [...account.webhooks.values()]
      .filter((w) => needle === undefined || w.name.toLowerCase().includes(needle))
      .filter((w) => query['filter[status]'] === undefined || w.status === query['filter[status]'])
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const self = `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}/webhooks`;
    const page = cursorPage(
      webhooks,
      query['page[size]'],
      { after: query['page[after]'], before: query['page[before]'] },
      (w) => w.id,
      (params) => `${self}?${params}`,
    );
    res.json({ webhooks: page.items.map(webhookJson), meta: page.meta, links: page.links });
  });

  router.post('/webhooks', (req, res) => {
    const account = accountOf(ctx, req);
    const webhook = registerWebhook(account, body(req.body));
    res
      .status(201)
      .location(`/api/v2/webhooks/${webhook.id}`)
      .json({ webhook: webhookJson(webhook) });
  });

  router.get('/webhooks/:webhookId', (req, res) => {
    res.json({ webhook: webhookJson(webhookOf(accountOf(ctx, req), req.params.webhookId)) });
  });

  router.put('/webhooks/:webhookId', (req, res) => {
    const account = accountOf(ctx, req);
    replaceFields(account, webhookOf(account, req.params.webhookId), body(req.body));
    res.status(204).end();
  });

  router.patch('/webhooks/:webhookId', (req, res) => {
    const account = accountOf(ctx, req);
    const webhook = webhookOf(account, req.params.webhookId);
    replaceFields(account, webhook, { ...fieldsOf(webhook), ...body(req.body) });
    res.status(204).end();
  });

  router.delete('/webhooks/:webhookId', (req, res) => {
    const account = accountOf(ctx, req);
    account.webhooks.delete(webhookOf(account, req.params.webhookId).id);
    res.status(204).end();
  });

  router.get('/webhooks/:webhookId/signing_secret', (req, res) => {
    const webhook = webhookOf(accountOf(ctx, req), req.params.webhookId);
    res.json({ signing_secret: { algorithm: 'sha256', secret: webhook.signingSecret } });
  });

  router.post('/webhooks/:webhookId/signing_secret', (req, res) => {
    const webhook = webhookOf(accountOf(ctx, req), req.params.webhookId);
    webhook.signingSecret = newSigningSecret();
    webhook.updatedAtMs = Date.now();
    res.json({ signing_secret: { algorithm: 'sha256', secret: webhook.signingSecret } });
  });

  return router;
}
