import { z } from 'zod';
import { fieldChangeSchema } from '../common/change-log';
export { LoggedRequestSchema } from '../common/request-log';

/** JSON shapes the sandbox answers with; the server builds them and the typed client parses them. */

export const RoleSchema = z.enum(['end-user', 'agent', 'admin']);
export type Role = z.infer<typeof RoleSchema>;

export const IdentityTypeSchema = z.enum([
  'email',
  'phone_number',
  'twitter',
  'facebook',
  'google',
  'agent_forwarding',
  'any_channel',
  'foreign',
  'sdk',
]);
export type IdentityType = z.infer<typeof IdentityTypeSchema>;

export const UserFieldTypeSchema = z.enum([
  'text',
  'textarea',
  'checkbox',
  'date',
  'integer',
  'decimal',
  'regexp',
  'dropdown',
  'multiselect',
]);
export type UserFieldType = z.infer<typeof UserFieldTypeSchema>;

export const FieldValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]);
export type FieldValue = z.infer<typeof FieldValueSchema>;

export const IdentityJsonSchema = z.object({
  url: z.string(),
  id: z.number().int(),
  user_id: z.number().int(),
  type: IdentityTypeSchema,
  value: z.string(),
  verified: z.boolean(),
  primary: z.boolean(),
  verification_method: z.enum(['none', 'low', 'sso', 'embed', 'full']),
  deliverable_state: z.string().nullable(),
  undeliverable_count: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type IdentityJson = z.infer<typeof IdentityJsonSchema>;

export const UserJsonSchema = z.object({
  url: z.string(),
  id: z.number().int(),
  name: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  shared_phone_number: z.boolean().nullable(),
  external_id: z.string().nullable(),
  role: RoleSchema,
  active: z.boolean(),
  suspended: z.boolean(),
  verified: z.boolean(),
  notes: z.string(),
  details: z.string(),
  alias: z.string(),
  organization_id: z.number().int().nullable(),
  default_group_id: z.number().int().nullable(),
  tags: z.array(z.string()),
  time_zone: z.string(),
  locale: z.string(),
  user_fields: z.record(z.string(), FieldValueSchema),
  created_at: z.string(),
  updated_at: z.string(),
});
export type UserJson = z.infer<typeof UserJsonSchema>;

export const UserFieldOptionJsonSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  raw_name: z.string(),
  value: z.string(),
  position: z.number().int(),
});

export const UserFieldJsonSchema = z.object({
  url: z.string(),
  id: z.number().int(),
  type: UserFieldTypeSchema,
  key: z.string(),
  title: z.string(),
  raw_title: z.string(),
  description: z.string(),
  raw_description: z.string(),
  position: z.number().int(),
  active: z.boolean(),
  system: z.boolean(),
  regexp_for_validation: z.string().nullable(),
  custom_field_options: z.array(UserFieldOptionJsonSchema).optional(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type UserFieldJson = z.infer<typeof UserFieldJsonSchema>;

export const WebhookAuthenticationSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('api_key'),
    data: z.object({ name: z.string().min(1), value: z.string() }),
    add_position: z.literal('header'),
  }),
  z.object({
    type: z.literal('basic_auth'),
    data: z.object({ username: z.string(), password: z.string() }),
    add_position: z.literal('header'),
  }),
  z.object({
    type: z.literal('bearer_token'),
    data: z.object({ token: z.string() }),
    add_position: z.literal('header'),
  }),
]);
export type WebhookAuthentication = z.infer<typeof WebhookAuthenticationSchema>;

export const WebhookJsonSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  status: z.enum(['active', 'inactive']),
  endpoint: z.string(),
  http_method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  request_format: z.enum(['json', 'xml', 'form_encoded']),
  subscriptions: z.array(z.string()),
  // Credentials are never echoed back, only which kind is configured.
  authentication: z.object({ type: z.string(), add_position: z.string() }).nullable(),
  custom_headers: z.record(z.string(), z.string()),
  created_at: z.string(),
  created_by: z.string(),
  updated_at: z.string(),
  updated_by: z.string(),
});
export type WebhookJson = z.infer<typeof WebhookJsonSchema>;

export const TokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  scope: z.string(),
  expires_in: z.number().int(),
  refresh_token: z.string(),
  refresh_token_expires_in: z.number().int(),
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

export const EventIdentitySchema = z.object({
  id: z.string(),
  primary: z.boolean(),
  type: z.string(),
  value: z.string(),
});

export const UserEventEnvelopeSchema = z.object({
  type: z.string(),
  account_id: z.number().int(),
  id: z.string(),
  time: z.string(),
  zendesk_event_version: z.string(),
  subject: z.string(),
  detail: z.object({
    created_at: z.string(),
    email: z.string(),
    external_id: z.string(),
    default_group_id: z.string(),
    id: z.string(),
    organization_id: z.string(),
    role: z.string(),
    updated_at: z.string(),
  }),
  event: z.record(z.string(), z.unknown()),
});
export type UserEventEnvelope = z.infer<typeof UserEventEnvelopeSchema>;

// --- Control API (/_sandbox) -------------------------------------------------------------------

export const AccountSettingsSchema = z.object({
  /** Shown on the OAuth consent page; the subdomain when null. */
  name: z.string().nullable(),
  /** Requests allowed per window (the window is a minute unless changed). */
  rateLimitPerMinute: z.number().int().min(1),
  rateLimitWindowSeconds: z.number().int().min(1),
  /** May be far below Zendesk's 300 s minimum so tests can watch a token expire. */
  accessTokenTtlSeconds: z.number().int().min(1),
  /** Skip the consent page: the authorize URL redirects back with a code at once. */
  autoApprove: z.boolean(),
  /** How old a change (and `start_time`) must be before the incremental export hands it out. */
  exportMinAgeSeconds: z.number().int().min(0),
  /** Incremental export calls allowed per minute, besides the account-wide budget (Zendesk: 10). */
  exportRateLimitPerMinute: z.number().int().min(1).default(10),
});
export type AccountSettings = z.infer<typeof AccountSettingsSchema>;

export const AccountSettingsPatchSchema = AccountSettingsSchema.partial().strict();
export type AccountSettingsPatch = z.infer<typeof AccountSettingsPatchSchema>;

export const AccountInfoSchema = z.object({
  subdomain: z.string(),
  accountId: z.number().int(),
  settings: AccountSettingsSchema,
  userFields: z.array(UserFieldJsonSchema),
  userCount: z.number().int(),
  webhookCount: z.number().int(),
});
export type AccountInfo = z.infer<typeof AccountInfoSchema>;

export const SandboxZendeskUserSchema = UserJsonSchema.extend({ identities: z.array(IdentityJsonSchema) });
export type SandboxZendeskUser = z.infer<typeof SandboxZendeskUserSchema>;

export const SandboxWebhookSchema = WebhookJsonSchema.extend({ signingSecret: z.string() });
export type SandboxWebhook = z.infer<typeof SandboxWebhookSchema>;

export const EmittedEventSchema = z.object({
  envelope: UserEventEnvelopeSchema,
  webhookIds: z.array(z.string()),
  droppedWebhookIds: z.array(z.string()),
});
export type EmittedEventJson = z.infer<typeof EmittedEventSchema>;

export const DeliveryRecordSchema = z.object({
  seq: z.number().int(),
  account: z.string(),
  url: z.string(),
  eventType: z.string(),
  eventId: z.string(),
  attempts: z.number().int(),
  status: z.number().int().nullable(),
  error: z.string().nullable(),
  sentAt: z.string(),
});

/**
 * One entry of the field-level change log. Fields: `name`, `email` (primary), `phone` (primary),
 * `external_id`, `suspended`, `notes`, `active` and `user_fields.<key>`.
 */
export const FieldChangeSchema = fieldChangeSchema(z.number().int());
export type FieldChangeJson = z.infer<typeof FieldChangeSchema>;

export const VerificationEmailSchema = z.object({
  at: z.string(),
  userId: z.number().int(),
  identityId: z.number().int(),
  address: z.string(),
  reason: z.enum(['user_created', 'identity_created', 'email_added_by_update']),
});

export const OAuthLogSchema = z.object({
  grants: z.array(
    z.object({
      id: z.number().int(),
      clientId: z.string().nullable(),
      scopes: z.array(z.string()),
      origin: z.enum(['authorization_code', 'refresh_token', 'control']),
      issuedAt: z.string(),
      expiresAt: z.string(),
      refreshExpiresAt: z.string(),
      rotatedFromId: z.number().int().nullable(),
      /** When the refresh token was exchanged (the pair died then); null while unused. */
      refreshedAt: z.string().nullable(),
      used: z.boolean(),
      revoked: z.boolean(),
      revokedAt: z.string().nullable(),
      lastUsedAt: z.string().nullable(),
    }),
  ),
  refreshAttempts: z.array(
    z.object({ at: z.string(), grantId: z.number().int().nullable(), outcome: z.enum(['rotated', 'invalid_grant']) }),
  ),
});
export type OAuthLog = z.infer<typeof OAuthLogSchema>;
