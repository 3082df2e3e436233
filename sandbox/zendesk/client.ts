import { z } from 'zod';
import { FaultSettingsSchema, type FaultSettings, type FaultSettingsInput } from '../common/faults';
import { fetchReadOnce } from '../common/http-server';
import {
  AccountInfoSchema,
  DeliveryRecordSchema,
  EmittedEventSchema,
  FieldChangeSchema,
  LoggedRequestSchema,
  OAuthLogSchema,
  SandboxWebhookSchema,
  SandboxZendeskUserSchema,
  TokenResponseSchema,
  VerificationEmailSchema,
  type AccountInfo,
  type AccountSettingsPatch,
  type FieldValue,
  type IdentityType,
  type OAuthLog,
  type Role,
  type SandboxWebhook,
  type SandboxZendeskUser,
  type TokenResponse,
  type UserFieldType,
  type WebhookAuthentication,
} from './wire';

export type {
  AccountInfo,
  AccountSettings,
  AccountSettingsPatch,
  EmittedEventJson,
  FieldChangeJson,
  FieldValue,
  IdentityJson,
  OAuthLog,
  SandboxWebhook,
  SandboxZendeskUser,
  TokenResponse,
  UserEventEnvelope,
  UserFieldJson,
  UserJson,
  WebhookJson,
} from './wire';

export type SandboxDelivery = z.infer<typeof DeliveryRecordSchema>;
export type SandboxRequest = z.infer<typeof LoggedRequestSchema>;
export type SandboxVerificationEmail = z.infer<typeof VerificationEmailSchema>;
export type SandboxEvent = z.infer<typeof EmittedEventSchema>;
export type SandboxFieldChange = z.infer<typeof FieldChangeSchema>;

export interface ChangeFilter {
  /** Only entries with a larger `seq`. */
  sinceSeq?: number;
  userId?: number;
}

export interface UserFieldSeed {
  key: string;
  title: string;
  type?: UserFieldType;
  description?: string;
  custom_field_options?: Array<{ name: string; value: string }>;
}

export interface CreateAccountInput extends AccountSettingsPatch {
  subdomain: string;
  accountId?: number;
  userFields?: UserFieldSeed[];
}

export interface UpdateAccountInput extends AccountSettingsPatch {
  userFields?: UserFieldSeed[];
}

/** User attributes as Zendesk names them; `email` on update replaces the primary (agent edit). */
export interface SandboxUserInput {
  name?: string;
  email?: string | null;
  phone?: string | null;
  external_id?: string | null;
  role?: Role;
  notes?: string | null;
  details?: string | null;
  suspended?: boolean;
  verified?: boolean;
  skip_verify_email?: boolean;
  user_fields?: Record<string, FieldValue>;
}

export interface OAuthClientInput {
  clientId: string;
  clientSecret: string;
  /** Empty or absent: any redirect URL is accepted. */
  redirectUris?: string[];
  name?: string;
}

export interface RequestFilter {
  account?: string;
  method?: string;
  /** Regular expression matched against the request path. */
  path?: string;
  sinceSeq?: number;
}

export interface SandboxWebhookInput {
  name: string;
  endpoint: string;
  subscriptions: string[];
  status?: 'active' | 'inactive';
  http_method?: 'POST';
  request_format?: 'json';
  authentication?: WebhookAuthentication;
  custom_headers?: Record<string, string>;
}

export class SandboxControlError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly method: string,
    readonly path: string,
  ) {
    super(`Zendesk sandbox control ${method} ${path} answered ${status}: ${JSON.stringify(body)}`);
  }
}

const Users = z.object({ users: z.array(SandboxZendeskUserSchema) });
const Merged = z.object({ user: SandboxZendeskUserSchema, into: SandboxZendeskUserSchema });
const OAuthClientAnswer = z.object({
  clientId: z.string(),
  redirectUris: z.array(z.string()),
  name: z.string().nullable(),
});
const Requests = z.object({ requests: z.array(LoggedRequestSchema), lastSeq: z.number().int() });
const Webhooks = z.object({ webhooks: z.array(SandboxWebhookSchema) });
const Deliveries = z.object({ deliveries: z.array(DeliveryRecordSchema) });
const Events = z.object({ events: z.array(EmittedEventSchema) });
const Changes = z.object({ changes: z.array(FieldChangeSchema) });
const VerificationEmails = z.object({ verificationEmails: z.array(VerificationEmailSchema) });
const Revoked = z.object({ revoked: z.number().int() });

/** Typed client of the sandbox control API (`/_sandbox`); what tests, demos and benchmarks drive it with. */
export class ZendeskSandboxClient {
  private readonly controlUrl: string;

  constructor(baseUrl: string) {
    this.controlUrl = `${baseUrl.replace(/\/+$/, '')}/_sandbox`;
  }

  /** Forgets every account, OAuth client, fault, logged request and delivery. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }

  /** Waits until every webhook delivery has been sent (or given up). */
  async idle(): Promise<void> {
    await this.call('POST', '/idle');
  }

  async registerOAuthClient(input: OAuthClientInput): Promise<z.infer<typeof OAuthClientAnswer>> {
    return OAuthClientAnswer.parse(await this.call('POST', '/oauth-clients', input));
  }

  async createAccount(input: CreateAccountInput): Promise<AccountInfo> {
    return AccountInfoSchema.parse(await this.call('POST', '/accounts', input));
  }

  async updateAccount(subdomain: string, input: UpdateAccountInput): Promise<AccountInfo> {
    return AccountInfoSchema.parse(await this.call('PATCH', this.account(subdomain), input));
  }

  async getAccount(subdomain: string): Promise<AccountInfo> {
    return AccountInfoSchema.parse(await this.call('GET', this.account(subdomain)));
  }

  /** Every user of the account, deleted ones included, each with its identities. */
  async listUsers(subdomain: string): Promise<SandboxZendeskUser[]> {
    return Users.parse(await this.call('GET', `${this.account(subdomain)}/users`)).users;
  }

  async getUser(subdomain: string, userId: number): Promise<SandboxZendeskUser> {
    return SandboxZendeskUserSchema.parse(await this.call('GET', `${this.account(subdomain)}/users/${userId}`));
  }

  /** Creates a user as an agent would (emits `user.created`). */
  async createUser(subdomain: string, input: SandboxUserInput & { name: string }): Promise<SandboxZendeskUser> {
    return SandboxZendeskUserSchema.parse(await this.call('POST', `${this.account(subdomain)}/users`, input));
  }

  /** Edits a user as an agent would; `email` replaces the primary address. */
  async updateUser(subdomain: string, userId: number, input: SandboxUserInput): Promise<SandboxZendeskUser> {
    return SandboxZendeskUserSchema.parse(
      await this.call('PATCH', `${this.account(subdomain)}/users/${userId}`, input),
    );
  }

  /** Adds a (secondary, unless it is the first of its type) identity. */
  async addIdentity(
    subdomain: string,
    userId: number,
    identity: { type: IdentityType; value: string; verified?: boolean },
  ): Promise<SandboxZendeskUser> {
    return SandboxZendeskUserSchema.parse(
      await this.call('POST', `${this.account(subdomain)}/users/${userId}/identities`, identity),
    );
  }

  async makeIdentityPrimary(subdomain: string, userId: number, identityId: number): Promise<SandboxZendeskUser> {
    const path = `${this.account(subdomain)}/users/${userId}/identities/${identityId}/make-primary`;
    return SandboxZendeskUserSchema.parse(await this.call('POST', path));
  }

  /** Soft delete, as an agent deleting the user. */
  async deleteUser(subdomain: string, userId: number): Promise<SandboxZendeskUser> {
    return SandboxZendeskUserSchema.parse(await this.call('DELETE', `${this.account(subdomain)}/users/${userId}`));
  }

  /** Merges `userId` into `intoUserId`; answers both users after the merge. */
  async mergeUser(subdomain: string, userId: number, intoUserId: number): Promise<z.infer<typeof Merged>> {
    return Merged.parse(await this.call('POST', `${this.account(subdomain)}/users/${userId}/merge`, { intoUserId }));
  }

  /** Requests the sandbox answered under `/zendesk/...`, in arrival order. */
  async requests(filter: RequestFilter = {}): Promise<z.infer<typeof Requests>> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    return Requests.parse(await this.call('GET', `/requests?${query.toString()}`));
  }

  async getFaults(subdomain: string): Promise<FaultSettings> {
    return FaultSettingsSchema.parse(await this.call('GET', `${this.account(subdomain)}/faults`));
  }

  /** Replaces the account's fault settings (omitted fields fall back to no fault). */
  async setFaults(subdomain: string, faults: FaultSettingsInput): Promise<FaultSettings> {
    return FaultSettingsSchema.parse(await this.call('PUT', `${this.account(subdomain)}/faults`, faults));
  }

  /** Revokes every live token of the account, as an admin revoking the OAuth client would. */
  async revokeOAuth(subdomain: string): Promise<number> {
    return Revoked.parse(await this.call('POST', `${this.account(subdomain)}/oauth/revoke`)).revoked;
  }

  /** Issues a token pair without the consent flow; defaults to the sync service's scopes. */
  async issueToken(subdomain: string, input: { scopes?: string[]; clientId?: string } = {}): Promise<TokenResponse> {
    return TokenResponseSchema.parse(await this.call('POST', `${this.account(subdomain)}/oauth/tokens`, input));
  }

  /** Grant lineage and refresh attempts, without any token. */
  async oauthLog(subdomain: string): Promise<OAuthLog> {
    return OAuthLogSchema.parse(await this.call('GET', `${this.account(subdomain)}/oauth/log`));
  }

  /** Registered webhooks, with their signing secrets. */
  async webhooks(subdomain: string): Promise<SandboxWebhook[]> {
    return Webhooks.parse(await this.call('GET', `${this.account(subdomain)}/webhooks`)).webhooks;
  }

  /** Creates a webhook as an admin in Admin Center would. */
  async createWebhook(subdomain: string, input: SandboxWebhookInput): Promise<SandboxWebhook> {
    const body = { status: 'active', http_method: 'POST', request_format: 'json', ...input };
    return SandboxWebhookSchema.parse(await this.call('POST', `${this.account(subdomain)}/webhooks`, body));
  }

  /** Delivery attempts of the account's webhooks, in the order they were made. */
  async deliveries(subdomain: string): Promise<SandboxDelivery[]> {
    return Deliveries.parse(await this.call('GET', `${this.account(subdomain)}/deliveries`)).deliveries;
  }

  /** Every user event the account emitted, in emission order, with the webhooks it was queued for. */
  async events(subdomain: string): Promise<SandboxEvent[]> {
    return Events.parse(await this.call('GET', `${this.account(subdomain)}/events`)).events;
  }

  /** Every value a user field took, in order, with who set it (`api` or `control`). */
  async changes(subdomain: string, filter: ChangeFilter = {}): Promise<SandboxFieldChange[]> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    return Changes.parse(await this.call('GET', `${this.account(subdomain)}/changes?${query.toString()}`)).changes;
  }

  /** Verification emails Zendesk would have sent. */
  async verificationEmails(subdomain: string): Promise<SandboxVerificationEmail[]> {
    return VerificationEmails.parse(await this.call('GET', `${this.account(subdomain)}/verification-emails`))
      .verificationEmails;
  }

  private account(subdomain: string): string {
    return `/accounts/${encodeURIComponent(subdomain)}`;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetchReadOnce(`${this.controlUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = parseJsonOrText(text);
    if (!res.ok) throw new SandboxControlError(res.status, parsed, method, path);
    return parsed;
  }
}

function parseJsonOrText(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not every failure is JSON (a proxy, a crash page); keep the text for the error message.
    return text;
  }
}
