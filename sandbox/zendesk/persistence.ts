import { z } from 'zod';
import { UnreadableStateFile } from '../common/state-file';
import { OAuthClientSchema, type OAuthStore } from './oauth';
import { ZendeskAccount, type SandboxState } from './state';
import {
  AccountSettingsSchema,
  FieldValueSchema,
  IdentityTypeSchema,
  RoleSchema,
  UserFieldTypeSchema,
  WebhookAuthenticationSchema,
  WebhookJsonSchema,
} from './wire';

// The records a restarted Zendesk sandbox needs to carry on where it stopped: accounts, users,
// identities, user fields, webhooks (with their signing secrets), OAuth clients and grants.
// Logs (requests, events, changes, deliveries, verification emails), faults and the request
// budget start empty, as after `POST /_sandbox/reset`.

const SNAPSHOT_VERSION = 1;

const UserSchema = z.object({
  id: z.number(),
  name: z.string(),
  role: RoleSchema,
  externalId: z.string().nullable(),
  notes: z.string(),
  details: z.string(),
  suspended: z.boolean(),
  active: z.boolean(),
  verified: z.boolean(),
  userFields: z.array(z.tuple([z.string(), FieldValueSchema])),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
  changeSeq: z.number(),
});

const IdentitySchema = z.object({
  id: z.number(),
  userId: z.number(),
  type: IdentityTypeSchema,
  value: z.string(),
  primary: z.boolean(),
  verified: z.boolean(),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
});

const UserFieldSchema = z.object({
  id: z.number(),
  key: z.string(),
  type: UserFieldTypeSchema,
  title: z.string(),
  description: z.string(),
  active: z.boolean(),
  position: z.number(),
  regexpForValidation: z.string().nullable(),
  options: z.array(z.object({ id: z.number(), name: z.string(), value: z.string(), position: z.number() })),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
});

const WebhookSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  status: WebhookJsonSchema.shape.status,
  endpoint: z.string(),
  httpMethod: WebhookJsonSchema.shape.http_method,
  requestFormat: WebhookJsonSchema.shape.request_format,
  subscriptions: z.array(z.string()),
  authentication: WebhookAuthenticationSchema.nullable(),
  customHeaders: z.record(z.string(), z.string()),
  signingSecret: z.string(),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
  createdBy: z.string(),
  updatedBy: z.string(),
});

const GrantSchema = z.object({
  id: z.number(),
  account: z.string(),
  clientId: z.string().nullable(),
  scopes: z.array(z.string()),
  accessToken: z.string(),
  refreshToken: z.string(),
  origin: z.enum(['authorization_code', 'refresh_token', 'control']),
  issuedAtMs: z.number(),
  expiresAtMs: z.number(),
  refreshExpiresAtMs: z.number(),
  rotatedFromId: z.number().nullable(),
  refreshedAtMs: z.number().nullable(),
  revokedAtMs: z.number().nullable(),
  lastUsedAtMs: z.number().nullable(),
});

const ZendeskSnapshotSchema = z.object({
  version: z.literal(SNAPSHOT_VERSION),
  counters: z.object({ lastId: z.number(), lastChangeSeq: z.number(), lastAccountId: z.number() }),
  accounts: z.array(
    z.object({
      subdomain: z.string(),
      accountId: z.number(),
      adminUserId: z.number(),
      settings: AccountSettingsSchema,
      users: z.array(UserSchema),
      identities: z.array(IdentitySchema),
      userFields: z.array(UserFieldSchema),
      webhooks: z.array(WebhookSchema),
    }),
  ),
  oauth: z.object({ clients: z.array(OAuthClientSchema), grants: z.array(GrantSchema), lastGrantId: z.number() }),
});
type ZendeskSnapshot = z.infer<typeof ZendeskSnapshotSchema>;

export function zendeskSnapshot(state: SandboxState, oauth: OAuthStore): ZendeskSnapshot {
  return {
    version: SNAPSHOT_VERSION,
    counters: state.counters(),
    accounts: [...state.accounts.values()].map((account) => ({
      subdomain: account.subdomain,
      accountId: account.accountId,
      adminUserId: account.adminUserId,
      settings: account.settings,
      users: [...account.users.values()].map((user) => ({ ...user, userFields: [...user.userFields.entries()] })),
      identities: [...account.identities.values()],
      userFields: [...account.userFields.values()],
      webhooks: [...account.webhooks.values()],
    })),
    oauth: oauth.snapshot(),
  };
}

/** Replaces whatever the sandbox holds with a snapshot read from `file`. */
export function restoreZendesk(state: SandboxState, oauth: OAuthStore, raw: unknown, file: string): void {
  const parsed = ZendeskSnapshotSchema.safeParse(raw);
  if (!parsed.success)
    throw new UnreadableStateFile(
      file,
      `not a Zendesk sandbox snapshot: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`,
    );
  const snapshot = parsed.data;
  state.reset();
  state.restoreCounters(snapshot.counters);
  for (const saved of snapshot.accounts) {
    const account = new ZendeskAccount(saved.subdomain, saved.accountId, saved.adminUserId, saved.settings);
    for (const user of saved.users) account.users.set(user.id, { ...user, userFields: new Map(user.userFields) });
    for (const identity of saved.identities) account.putIdentity(identity);
    for (const field of saved.userFields) account.userFields.set(field.id, field);
    for (const webhook of saved.webhooks) account.webhooks.set(webhook.id, webhook);
    state.accounts.set(account.subdomain, account);
  }
  oauth.restore(snapshot.oauth);
}
