import { z } from 'zod';
import type { NewZendeskUser, ZendeskUserChanges } from '../domain/pair-plan';
import type { ZendeskContacts, ZendeskCustomer } from '../domain/records';
import { parseJson, pathSegment, requestLine, send, type HttpResponse } from './http';

/**
 * A failed Zendesk call. The message names the request, the status and Zendesk's error code only:
 * response bodies quote names, emails and phones, so their text stays in `detail`, which goes into
 * an admin task and never into a log or a failure message.
 */
export class ZendeskApiError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
    readonly detail: string | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** 401: the grant is revoked or expired beyond refresh; the sync pauses for a new authorization. */
/** 401: access missing or revoked. `tokenVersion`: the grant the call used (0 when unknown: the account re-checks). */
export class ZendeskUnauthorized extends ZendeskApiError {
  constructor(
    message: string,
    readonly tokenVersion = 0,
  ) {
    super(401, message);
  }
}
/** 429: the budget is per Zendesk account, so every caller waits `retryAfterSeconds`. */
export class ZendeskRateLimited extends ZendeskApiError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, `Zendesk rate limit reached; retry after ${retryAfterSeconds}s`);
  }
}
/** 422 DuplicateValue: the value (an email, an external id) belongs to another user. */
export class ZendeskDuplicateValue extends ZendeskApiError {
  constructor(
    readonly field: string,
    request: string,
    detail: string | null,
  ) {
    super(422, `${request} → 422 DuplicateValue (${field})`, detail);
  }
}
/** A 4xx a person has to look at (validation, permissions). */
export class ZendeskRejected extends ZendeskApiError {}
/** 5xx, timeouts, network: worth retrying. */
export class ZendeskUnavailable extends ZendeskApiError {}

const Id = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(String);
const FieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const UserSchema = z.looseObject({
  id: Id,
  name: z.string().nullish(),
  email: z.string().nullish(),
  phone: z.string().nullish(),
  external_id: z.union([z.string(), z.number()]).nullish(),
  active: z.boolean().default(true),
  suspended: z.boolean().nullish(),
  notes: z.string().nullish(),
  user_fields: z.record(z.string(), FieldValue.or(z.array(z.string()))).nullish(),
  updated_at: z.string().nullish(),
});
const IdentitySchema = z.looseObject({
  id: Id,
  type: z.string(),
  value: z.string(),
  primary: z.boolean(),
  updated_at: z.string().nullish(),
});
const WebhookSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  endpoint: z.string(),
  status: z.string(),
  subscriptions: z.array(z.string()).nullish(),
});

export type ZendeskIdentity = z.infer<typeof IdentitySchema>;
export type ZendeskWebhook = z.infer<typeof WebhookSchema>;

function toCustomer(user: z.infer<typeof UserSchema>): ZendeskCustomer {
  const userFields: ZendeskCustomer['userFields'] = {};
  for (const [key, value] of Object.entries(user.user_fields ?? {}))
    userFields[key] = Array.isArray(value) ? value.join(' ') : value;
  const externalId = user.external_id === null || user.external_id === undefined ? '' : String(user.external_id);
  return {
    id: user.id,
    name: user.name ?? '',
    email: user.email ?? null,
    phone: user.phone ?? null,
    externalId: externalId === '' ? null : externalId,
    active: user.active,
    suspended: user.suspended ?? false,
    notes: user.notes ?? '',
    userFields,
    updatedAt: user.updated_at ?? null,
  };
}

export function contactsOf(identities: readonly ZendeskIdentity[]): ZendeskContacts {
  const others = (type: string): string[] =>
    identities.filter((i) => i.type === type && !i.primary).map((i) => i.value);
  return { otherEmails: others('email'), otherPhones: others('phone_number') };
}

/**
 * What a Zendesk client asks before every call and tells after a 429. The budget is per Zendesk
 * account, so a gate may share what it learns beyond this process (see `SyncServices.withZendesk`).
 */
export interface ZendeskGate {
  /** Throws `ZendeskRateLimited` while calls to the instance must wait. */
  check(instance: string): void | Promise<void>;
  /** Zendesk answered 429: no call to the instance before `seconds` have passed. */
  block(instance: string, seconds: number): void | Promise<void>;
}

/**
 * Per-process memory of 429s per Zendesk instance: once Zendesk says wait, no call to that
 * instance leaves this process before `Retry-After` has passed.
 */
export class RateGate implements ZendeskGate {
  private readonly blockedUntil = new Map<string, number>();

  check(instance: string, now = Date.now()): void {
    const until = this.blockedUntil.get(instance);
    if (until !== undefined && until > now) throw new ZendeskRateLimited(Math.max(1, Math.ceil((until - now) / 1000)));
  }

  block(instance: string, seconds: number, now = Date.now()): void {
    this.blockUntil(instance, now + seconds * 1000);
  }

  /** Blocks until an epoch-ms moment learnt elsewhere (another worker's 429); never shortens a block. */
  blockUntil(instance: string, untilMs: number): void {
    this.blockedUntil.set(instance, Math.max(this.blockedUntil.get(instance) ?? 0, untilMs));
  }
}

/** What a Zendesk answer said about the account-wide request budget. */
export interface ZendeskBudgetReading {
  /** `X-Rate-Limit`: requests allowed per minute. */
  limit: number;
  /** `X-Rate-Limit-Remaining` when the answer came. */
  remaining: number;
  /** When the budget's window turns (epoch ms), from `ratelimit-reset`; null when Zendesk did not say. */
  resetAt: number | null;
  /** When the answer was read, epoch ms. */
  at: number;
}

const headerNumber = (headers: Headers, name: string): number | null => {
  const raw = headers.get(name);
  const value = raw === null ? NaN : Number(raw);
  return Number.isFinite(value) ? value : null;
};

/**
 * What this process has learnt about each Zendesk instance's request budget from the answers'
 * rate-limit headers, and the latest 429 block. Bulk work paces itself from it (live runs never
 * wait on it): every call of every `ZendeskClient` of the process reports here.
 */
export class ZendeskBudgetBoard {
  private readonly readings = new Map<string, ZendeskBudgetReading>();
  private readonly blocks = new Map<string, number>();

  observe(instance: string, headers: Headers, now = Date.now()): void {
    const limit = headerNumber(headers, 'x-rate-limit') ?? headerNumber(headers, 'ratelimit-limit');
    const remaining = headerNumber(headers, 'x-rate-limit-remaining') ?? headerNumber(headers, 'ratelimit-remaining');
    if (limit === null || remaining === null) return;
    const reset = headerNumber(headers, 'ratelimit-reset');
    this.readings.set(instance, { limit, remaining, resetAt: reset === null ? null : now + reset * 1000, at: now });
  }

  blocked(instance: string, untilMs: number): void {
    this.blocks.set(instance, Math.max(this.blocks.get(instance) ?? 0, untilMs));
  }

  /** The latest reading of the instance's budget, or null when no answer carried one. */
  reading(instance: string): ZendeskBudgetReading | null {
    return this.readings.get(instance) ?? null;
  }

  /** Until when (epoch ms) a 429 asked this process to wait; 0 when never. */
  blockedUntil(instance: string): number {
    return this.blocks.get(instance) ?? 0;
  }
}

/** The process's board: every `ZendeskClient` reports to it. */
export const zendeskBudgets = new ZendeskBudgetBoard();

const ErrorBodySchema = z.looseObject({
  error: z
    .union([z.string(), z.looseObject({ title: z.string().optional(), message: z.string().optional() })])
    .optional(),
  description: z.string().optional(),
  error_description: z.string().optional(),
  details: z
    .record(z.string(), z.array(z.looseObject({ error: z.string().optional(), description: z.string().optional() })))
    .optional(),
});

/** Zendesk's error code and the fields it names: safe to log. */
function errorCode(res: HttpResponse): string {
  const body = ErrorBodySchema.safeParse(parseJson(res.text));
  if (!body.success) return `HTTP ${res.status}`;
  const { error, details } = body.data;
  const code = typeof error === 'string' ? error : (error?.title ?? `HTTP ${res.status}`);
  const fields = Object.entries(details ?? {}).map(
    ([field, problems]) => `${field}: ${problems.map((p) => p.error ?? '?').join(', ')}`,
  );
  return fields.length > 0 ? `${code} (${fields.join('; ')})` : code;
}

/** Zendesk's own words about the failure, which may quote personal data: for admin tasks only. */
function errorDetail(res: HttpResponse): string | null {
  const body = ErrorBodySchema.safeParse(parseJson(res.text));
  if (!body.success) return null;
  const { description, error_description, details } = body.data;
  const texts = [
    description,
    error_description,
    ...Object.entries(details ?? {}).flatMap(([field, problems]) =>
      problems.map((p) => `${field}: ${p.description ?? p.error ?? '?'}`),
    ),
  ];
  const text = texts.filter((t): t is string => typeof t === 'string' && t !== '').join('; ');
  return text === '' ? null : text.slice(0, 500);
}

/** The field of a 422 DuplicateValue, if that is what the body says. */
function duplicateField(res: HttpResponse): string | null {
  const body = parseJson(res.text);
  const details = (body as { details?: Record<string, Array<{ error?: string }>> } | null)?.details;
  if (!details || typeof details !== 'object') return null;
  for (const [field, problems] of Object.entries(details)) {
    if (Array.isArray(problems) && problems.some((p) => p?.error === 'DuplicateValue')) return field;
  }
  return null;
}

// Zendesk ids are integers (sent as strings here); webhook ids are ULID-like.
const userId = (id: string): string => pathSegment(id, 'Zendesk user', /^\d{1,20}$/);
const identityId = (id: string): string => pathSegment(id, 'Zendesk identity', /^\d{1,20}$/);
const webhookId = (id: string): string => pathSegment(id, 'Zendesk webhook', /^[A-Za-z0-9]{1,64}$/);

function parseOr<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new ZendeskUnavailable(
      null,
      `unexpected Zendesk ${what} at ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return parsed.data;
}

/** The latest change among identities Zendesk answered with, epoch ms. */
function stampOf(identities: ReadonlyArray<{ updated_at?: string | null | undefined }>): number | null {
  const stamps = identities.map((i) => Date.parse(i.updated_at ?? '')).filter(Number.isFinite);
  return stamps.length === 0 ? null : Math.max(...stamps);
}

export class ZendeskClient {
  constructor(
    /** e.g. `https://acme.zendesk.com` */
    private readonly baseUrl: string,
    private readonly accessToken: string,
    private readonly gate: ZendeskGate,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    await this.gate.check(this.baseUrl);
    let res: HttpResponse;
    try {
      res = await send(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.accessToken}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (err) {
      throw new ZendeskUnavailable(null, err instanceof Error ? err.message : String(err));
    }
    zendeskBudgets.observe(this.baseUrl, res.headers);
    if (res.status >= 200 && res.status < 300)
      return res.status === 204 || res.text === '' ? null : parseJson(res.text);
    if (res.status === 429) {
      const seconds = Math.max(1, Math.ceil(Number(res.headers.get('retry-after') ?? '60') || 60));
      zendeskBudgets.blocked(this.baseUrl, Date.now() + seconds * 1000);
      await this.gate.block(this.baseUrl, seconds);
      throw new ZendeskRateLimited(seconds);
    }
    const request = requestLine(method, path);
    if (res.status === 401) throw new ZendeskUnauthorized(`${request} → 401 ${errorCode(res)}`);
    if (res.status === 404) return undefined;
    if (res.status === 422) {
      const field = duplicateField(res);
      if (field !== null) throw new ZendeskDuplicateValue(field, request, errorDetail(res));
    }
    const failure = `${request} → ${res.status} ${errorCode(res)}`;
    if (res.status >= 500 || res.status === 409 || res.status === 408)
      throw new ZendeskUnavailable(res.status, failure);
    throw new ZendeskRejected(res.status, failure, errorDetail(res));
  }

  private async expect<T>(schema: z.ZodType<T>, method: string, path: string, body?: unknown): Promise<T> {
    const raw = await this.call(method, path, body);
    if (raw === undefined) throw new ZendeskRejected(404, `${requestLine(method, path)} → 404 RecordNotFound`);
    const parsed = schema.safeParse(raw);
    // zod's message quotes the offending values; only the paths are kept.
    if (!parsed.success)
      throw new ZendeskUnavailable(
        null,
        `unexpected Zendesk answer to ${requestLine(method, path)} at ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      );
    return parsed.data;
  }

  async getUser(id: string): Promise<ZendeskCustomer | null> {
    const raw = await this.call('GET', `/api/v2/users/${userId(id)}`);
    if (raw === undefined) return null;
    return toCustomer(parseOr(z.object({ user: UserSchema }), raw, 'user').user);
  }

  /** Active users holding the address as any of their email identities. */
  async findUsersByEmail(email: string): Promise<ZendeskCustomer[]> {
    const query = encodeURIComponent(`email:${email.trim()}`);
    const { users } = await this.expect(
      z.object({ users: z.array(UserSchema) }),
      'GET',
      `/api/v2/users/search?query=${query}`,
    );
    return users.map(toCustomer).filter((u) => u.active);
  }

  async findUserByExternalId(externalId: string): Promise<ZendeskCustomer | null> {
    const { users } = await this.expect(
      z.object({ users: z.array(UserSchema) }),
      'GET',
      `/api/v2/users/search?external_id=${encodeURIComponent(externalId)}`,
    );
    return users.map(toCustomer).find((u) => u.active) ?? null;
  }

  async createUser(user: NewZendeskUser): Promise<ZendeskCustomer> {
    const body = {
      user: {
        name: user.name,
        ...(user.email ? { email: user.email } : {}),
        ...(user.phone ? { phone: user.phone } : {}),
        external_id: user.externalId,
        role: 'end-user',
        // The customer already confirmed the address with the storage operator.
        skip_verify_email: true,
        verified: true,
        ...(user.suspended ? { suspended: true } : {}),
        ...(user.notes ? { notes: user.notes } : {}),
        ...(Object.keys(user.userFields).length > 0 ? { user_fields: user.userFields } : {}),
      },
    };
    return toCustomer((await this.expect(z.object({ user: UserSchema }), 'POST', '/api/v2/users', body)).user);
  }

  /** Never carries `email`: on an update Zendesk would add a secondary identity, not change the primary. */
  async updateUser(id: string, changes: ZendeskUserChanges): Promise<ZendeskCustomer> {
    const user: Record<string, unknown> = {};
    if (changes.name !== undefined) user.name = changes.name;
    if (changes.phone !== undefined) user.phone = changes.phone;
    if (changes.externalId !== undefined) user.external_id = changes.externalId;
    if (changes.suspended !== undefined) user.suspended = changes.suspended;
    if (changes.notes !== undefined) user.notes = changes.notes;
    if (changes.userFields !== undefined) user.user_fields = changes.userFields;
    return toCustomer(
      (await this.expect(z.object({ user: UserSchema }), 'PUT', `/api/v2/users/${userId(id)}`, { user })).user,
    );
  }

  /** The user's identities, or null when the user does not exist. */
  async identitiesOf(zendeskUserId: string): Promise<ZendeskIdentity[] | null> {
    const raw = await this.call('GET', `/api/v2/users/${userId(zendeskUserId)}/identities?per_page=100`);
    return raw === undefined
      ? null
      : parseOr(z.object({ identities: z.array(IdentitySchema) }), raw, 'identities').identities;
  }

  async listIdentities(zendeskUserId: string): Promise<ZendeskIdentity[]> {
    const { identities } = await this.expect(
      z.object({ identities: z.array(IdentitySchema) }),
      'GET',
      `/api/v2/users/${userId(zendeskUserId)}/identities?per_page=100`,
    );
    return identities;
  }

  /**
   * Makes `email` the user's primary address through the identities API: an existing identity of
   * the user is promoted, otherwise the primary identity's value is replaced. Answers when the
   * change was stamped (epoch ms), or null when Zendesk did not say.
   */
  async changePrimaryEmail(
    zendeskUserId: string,
    email: string,
    identities: readonly ZendeskIdentity[],
  ): Promise<number | null> {
    const emails = identities.filter((i) => i.type === 'email');
    const existing = emails.find((i) => i.value.toLowerCase() === email.toLowerCase());
    const base = `/api/v2/users/${userId(zendeskUserId)}/identities`;
    const identity = z.object({ identity: IdentitySchema });
    const collection = z.object({ identities: z.array(IdentitySchema) });
    if (existing) {
      if (existing.primary) return null;
      return stampOf(
        (await this.expect(collection, 'PUT', `${base}/${identityId(existing.id)}/make_primary`)).identities,
      );
    }
    const primary = emails.find((i) => i.primary);
    if (primary)
      return stampOf([
        (await this.expect(identity, 'PUT', `${base}/${identityId(primary.id)}`, { identity: { value: email } }))
          .identity,
      ]);
    const created = await this.expect(identity, 'POST', base, {
      identity: { type: 'email', value: email, skip_verify_email: true, verified: true },
    });
    return stampOf(
      (await this.expect(collection, 'PUT', `${base}/${identityId(created.identity.id)}/make_primary`)).identities,
    );
  }

  async listWebhooks(): Promise<ZendeskWebhook[]> {
    const { webhooks } = await this.expect(
      z.object({ webhooks: z.array(WebhookSchema) }),
      'GET',
      '/api/v2/webhooks?page[size]=100',
    );
    return webhooks;
  }

  async createWebhook(webhook: {
    name: string;
    endpoint: string;
    subscriptions: readonly string[];
    description: string;
  }): Promise<ZendeskWebhook> {
    const body = { webhook: { ...webhook, status: 'active', http_method: 'POST', request_format: 'json' } };
    return (await this.expect(z.object({ webhook: WebhookSchema }), 'POST', '/api/v2/webhooks', body)).webhook;
  }

  async updateWebhookSubscriptions(webhook: ZendeskWebhook, subscriptions: readonly string[]): Promise<void> {
    const body = {
      webhook: {
        name: webhook.name,
        endpoint: webhook.endpoint,
        status: 'active',
        http_method: 'POST',
        request_format: 'json',
        subscriptions,
      },
    };
    await this.call('PUT', `/api/v2/webhooks/${webhookId(webhook.id)}`, body);
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.call('DELETE', `/api/v2/webhooks/${webhookId(id)}`);
  }

  async webhookSigningSecret(id: string): Promise<string> {
    const schema = z.object({ signing_secret: z.object({ secret: z.string().min(1) }) });
    return (await this.expect(schema, 'GET', `/api/v2/webhooks/${webhookId(id)}/signing_secret`)).signing_secret.secret;
  }

  async revokeCurrentToken(): Promise<void> {
    await this.call('DELETE', '/api/v2/oauth/tokens/current');
  }

  /**
   * One page of the incremental user export (cursor-based): the users changed since the position,
   * deleted ones included, each with its identities (sideloaded). Zendesk allows 10 of these calls
   * a minute and leaves out the last minute's changes; the caller paces itself.
   */
  async exportUsers(position: ExportPosition, perPage = EXPORT_PAGE_SIZE): Promise<ExportPage> {
    const from =
      'cursor' in position
        ? `cursor=${encodeURIComponent(position.cursor)}`
        : `start_time=${Math.max(0, Math.floor(position.startTime))}`;
    const answer = await this.expect(
      ExportSchema,
      'GET',
      `/api/v2/incremental/users/cursor.json?${from}&per_page=${perPage}&include=identities`,
    );
    return {
      users: withIdentities(answer.users, answer.identities),
      afterCursor: answer.after_cursor ?? null,
      endOfStream: answer.end_of_stream,
    };
  }

  /** Up to 100 users by id in one call (`show_many`), each with its identities; unknown ids are left out. */
  async showManyUsers(ids: readonly string[]): Promise<ExportedUser[]> {
    if (ids.length === 0) return [];
    if (ids.length > SHOW_MANY_MAX) throw new RangeError(`show_many takes at most ${SHOW_MANY_MAX} ids`);
    const list = ids.map((id) => userId(id)).join(',');
    const answer = await this.expect(
      ShowManySchema,
      'GET',
      `/api/v2/users/show_many.json?ids=${list}&include=identities`,
    );
    return withIdentities(answer.users, answer.identities);
  }
}

/** Where an incremental export reads from: a moment (first call, epoch seconds), then the cursor Zendesk handed out. */
export type ExportPosition = { startTime: number } | { cursor: string };

/** A user as the bulk reads give it: the record and its identities (sideloaded; null when Zendesk sent none). */
export interface ExportedUser {
  user: ZendeskCustomer;
  identities: ZendeskIdentity[] | null;
}

export interface ExportPage {
  users: ExportedUser[];
  /** Where the next call starts; persisted between polls. */
  afterCursor: string | null;
  endOfStream: boolean;
}

export const EXPORT_PAGE_SIZE = 1000;
export const SHOW_MANY_MAX = 100;

const SideloadedIdentitySchema = IdentitySchema.extend({ user_id: Id });
const ExportSchema = z.object({
  users: z.array(UserSchema),
  identities: z.array(SideloadedIdentitySchema).optional(),
  after_cursor: z.string().nullish(),
  end_of_stream: z.boolean(),
});
const ShowManySchema = z.object({
  users: z.array(UserSchema),
  identities: z.array(SideloadedIdentitySchema).optional(),
});

function withIdentities(
  users: ReadonlyArray<z.infer<typeof UserSchema>>,
  identities: ReadonlyArray<z.infer<typeof SideloadedIdentitySchema>> | undefined,
): ExportedUser[] {
  if (identities === undefined) return users.map((u) => ({ user: toCustomer(u), identities: null }));
  const byUser = new Map<string, ZendeskIdentity[]>();
  for (const { user_id, ...identity } of identities) {
    const list = byUser.get(user_id) ?? [];
    list.push(identity);
    byUser.set(user_id, list);
  }
  return users.map((u) => ({ user: toCustomer(u), identities: byUser.get(u.id) ?? [] }));
}

export const OAUTH_SCOPES = 'users:read users:write webhooks:read webhooks:write';

const TokenSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).nullish(),
  expires_in: z.number().nullish(),
  refresh_token_expires_in: z.number().nullish(),
  scope: z.string().nullish(),
});

export interface ZendeskTokens {
  accessToken: string;
  refreshToken: string | null;
  /** Epoch ms; null when the token does not expire. */
  accessExpiresAt: number | null;
  refreshExpiresAt: number | null;
  scope: string;
}

/** `invalid_grant` and friends: the refresh token or code is spent, revoked or wrong. */
export class ZendeskGrantRefused extends ZendeskApiError {}

export class ZendeskOAuth {
  constructor(
    private readonly baseUrl: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
  ) {}

  authorizeUrl(params: { redirectUri: string; state: string; codeChallenge: string }): string {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: this.clientId,
      redirect_uri: params.redirectUri,
      scope: OAUTH_SCOPES,
      state: params.state,
      code_challenge: params.codeChallenge,
      code_challenge_method: 'S256',
    });
    return `${this.baseUrl}/oauth/authorizations/new?${query.toString()}`;
  }

  exchangeCode(code: string, redirectUri: string, codeVerifier: string, now = Date.now()): Promise<ZendeskTokens> {
    return this.token(
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: codeVerifier,
        scope: OAUTH_SCOPES,
      },
      now,
    );
  }

  refresh(refreshToken: string, now = Date.now()): Promise<ZendeskTokens> {
    return this.token({ grant_type: 'refresh_token', refresh_token: refreshToken }, now);
  }

  private async token(params: Record<string, string>, now: number): Promise<ZendeskTokens> {
    let res: HttpResponse;
    try {
      res = await send(`${this.baseUrl}/oauth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ ...params, client_id: this.clientId, client_secret: this.clientSecret }),
      });
    } catch (err) {
      throw new ZendeskUnavailable(null, err instanceof Error ? err.message : String(err));
    }
    if (res.status >= 500 || res.status === 429)
      throw new ZendeskUnavailable(res.status, `POST /oauth/tokens → ${res.status} ${errorCode(res)}`);
    if (res.status !== 200 && res.status !== 201)
      throw new ZendeskGrantRefused(res.status, `POST /oauth/tokens → ${res.status} ${errorCode(res)}`);
    const parsed = TokenSchema.safeParse(parseJson(res.text));
    if (!parsed.success) throw new ZendeskUnavailable(res.status, 'unexpected token response from Zendesk');
    const t = parsed.data;
    return {
      accessToken: t.access_token,
      refreshToken: t.refresh_token ?? null,
      accessExpiresAt: t.expires_in ? now + t.expires_in * 1000 : null,
      refreshExpiresAt: t.refresh_token_expires_in ? now + t.refresh_token_expires_in * 1000 : null,
      scope: t.scope ?? OAUTH_SCOPES,
    };
  }
}
