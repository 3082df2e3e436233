import { z } from 'zod';
import { fieldChangeSchema } from '../common/change-log';

/**
 * The sandbox's wire records: the server builds objects of these types, the client parses them
 * with these schemas, so both sides cannot drift apart.
 */

export const CUSTOM_FIELD_MODELS = ['user', 'unitRental', 'unit', 'unitType', 'site', 'invoice'] as const;
export const CustomFieldModelSchema = z.enum(CUSTOM_FIELD_MODELS);
export type CustomFieldModel = z.infer<typeof CustomFieldModelSchema>;

export const CUSTOM_FIELD_TYPES = ['string', 'array', 'boolean', 'number', 'date'] as const;
export const CustomFieldTypeSchema = z.enum(CUSTOM_FIELD_TYPES);
export type CustomFieldType = z.infer<typeof CustomFieldTypeSchema>;

export const OwnerAclSchema = z.enum(['none', 'read', 'write']);

export const CustomFieldValueSchema = z.union([z.string(), z.array(z.string()), z.boolean(), z.number()]);
export type CustomFieldValue = z.infer<typeof CustomFieldValueSchema>;
export const CustomFieldValuesSchema = z.record(z.string(), CustomFieldValueSchema);
export type CustomFieldValues = z.infer<typeof CustomFieldValuesSchema>;

/** A localised title (`{ en: '...' }`) or a plain string; both forms are seen in add-on code. */
export const CustomFieldTitleSchema = z.union([z.string().min(1), z.record(z.string(), z.string())]);

export const SandboxCustomFieldSchema = z.object({
  id: z.string(),
  model: CustomFieldModelSchema,
  code: z.string(),
  type: CustomFieldTypeSchema,
  title: CustomFieldTitleSchema,
  ownerAcl: OwnerAclSchema,
  created: z.string(),
});
export type SandboxCustomField = z.infer<typeof SandboxCustomFieldSchema>;

export const SandboxSgUserSchema = z.object({
  id: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  name: z.string(),
  phone: z.string().optional(),
  language: z.string(),
  /** True while the user rents at least one unit (occupied rental), as in real user dumps. */
  isActive: z.boolean(),
  /** Present only on a disabled user. */
  disabled: z.literal(true).optional(),
  roles: z.array(z.string()),
  /** Present only when asked for with `include=customFields` (always on the control API). */
  customFields: CustomFieldValuesSchema.optional(),
  created: z.string(),
  updated: z.string(),
});
export type SandboxSgUser = z.infer<typeof SandboxSgUserSchema>;

export const RENTAL_STATES = ['reserved', 'occupied', 'ended', 'cancelled'] as const;
export const RentalStateSchema = z.enum(RENTAL_STATES);
export type RentalState = z.infer<typeof RentalStateSchema>;

export const SandboxUnitSchema = z.object({
  id: z.string(),
  name: z.string(),
  siteId: z.string(),
  state: z.string(),
});

export const SandboxUnitRentalSchema = z.object({
  id: z.string(),
  unitId: z.string(),
  siteId: z.string(),
  ownerId: z.string(),
  state: RentalStateSchema,
  /** `YYYY-MM-DD`. */
  startDate: z.string(),
  endDate: z.string().optional(),
  moveInJobId: z.string().optional(),
  price: z.number(),
  deposit: z.number(),
  customFields: CustomFieldValuesSchema.optional(),
  unit: SandboxUnitSchema.optional(),
  owner: SandboxSgUserSchema.optional(),
  created: z.string(),
  updated: z.string(),
});
export type SandboxUnitRental = z.infer<typeof SandboxUnitRentalSchema>;

export const JOB_TARGET_TYPES = ['user', 'addon', 'unit', 'unitRental', 'site', 'invoice', 'job'] as const;

export const SandboxJobStepSchema = z.object({
  id: z.string(),
  type: z.string(),
  state: z.string(),
  completedAt: z.string().optional(),
  result: z.record(z.string(), z.unknown()).optional(),
});

export const SandboxJobSchema = z.object({
  id: z.string(),
  type: z.string(),
  state: z.string(),
  ownerId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  result: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(SandboxJobStepSchema).optional(),
  created: z.string(),
  updated: z.string(),
});
export type SandboxJob = z.infer<typeof SandboxJobSchema>;

export const AddonStateSchema = z.enum(['enabled', 'paused', 'disabled']);
export type AddonState = z.infer<typeof AddonStateSchema>;

export const SandboxAddonSchema = z.object({
  id: z.string(),
  name: z.string(),
  state: AddonStateSchema,
  customFields: z.record(z.string(), z.unknown()),
  created: z.string(),
  updated: z.string(),
});
export type SandboxAddon = z.infer<typeof SandboxAddonSchema>;

export const SandboxSgAccountSchema = z.object({
  subdomain: z.string(),
  apiUrl: z.string(),
  addonId: z.string(),
  addonApiKey: z.string(),
  adminApiKey: z.string().nullable(),
  addonState: AddonStateSchema,
  webhookUrl: z.string().nullable(),
  webhookSecret: z.string(),
  settings: z.record(z.string(), z.unknown()),
  siteId: z.string(),
  created: z.string(),
});
export type SandboxSgAccount = z.infer<typeof SandboxSgAccountSchema>;

/** The envelope of an add-on webhook, exactly as sent. */
export const SandboxSgWebhookBodySchema = z.object({
  id: z.string(),
  /** When the change that caused the event was made (ISO-8601, ms, UTC); a user's `updated` for user events. */
  created: z.string(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  apiUrl: z.string(),
  addonId: z.string(),
});
export type SandboxSgWebhookBody = z.infer<typeof SandboxSgWebhookBodySchema>;

export const SandboxSgEventSchema = z.object({
  seq: z.number(),
  id: z.string(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  /** The `created` of the webhook body. */
  at: z.string(),
  /** False when the account had no webhook URL, its add-on was not enabled at the time, or the webhook was dropped. */
  sent: z.boolean(),
  /** True when the `webhooks.dropRate` fault lost the webhook for good. */
  dropped: z.boolean(),
});
export type SandboxSgEvent = z.infer<typeof SandboxSgEventSchema>;

/** One entry of the field-level change log; fields are `email`, `firstName`, `lastName`, `phone`, `disabled`, `customFields.<code>`. */
export const SandboxSgFieldChangeSchema = fieldChangeSchema(z.string());
export type SandboxSgFieldChange = z.infer<typeof SandboxSgFieldChangeSchema>;
