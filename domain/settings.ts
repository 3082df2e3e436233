import { z } from 'zod';
import { NAME_FORMATS, type NameFormat } from './names';
import { CALLING_CODE_PATTERN } from './phones';

/** The operator's settings, as they sit in the add-on's `customFields`. */
export interface AccountSettings {
  zendeskInstance: string;
  /** Signing secret of a manually created Zendesk webhook, if the operator made one. */
  webhookSecret: string | null;
  statusFieldKey: string | null;
  nameFormat: NameFormat;
  defaultCountryCode: string;
}

const blank = (v: unknown): unknown =>
  v === null || (typeof v === 'string' && v.trim() === '') ? undefined : typeof v === 'string' ? v.trim() : v;

const SettingsSchema = z.object({
  zendesk_instance: z.preprocess(
    blank,
    z
      .string({ error: 'is missing; accepted: your Zendesk subdomain, e.g. `acme` for acme.zendesk.com' })
      .regex(
        /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i,
        'is not a valid subdomain; accepted: letters, digits and inner dashes, e.g. `acme` for acme.zendesk.com',
      ),
  ),
  zendesk_webhookSecret: z.preprocess(blank, z.string({ error: 'must be text' }).optional()),
  zendesk_statusFieldKey: z.preprocess(
    blank,
    z
      .string({ error: 'must be text' })
      .regex(
        /^(?!\d+$)\w+$/,
        'is not a Zendesk user-field key; accepted: letters, digits and underscores (not only digits), e.g. `customer_status`, or blank',
      )
      .optional(),
  ),
  zendesk_nameFormat: z.preprocess(
    blank,
    z
      .enum(NAME_FORMATS, {
        error: `is not a known name format; accepted: ${NAME_FORMATS.map((f) => `\`${f}\``).join(' or ')}`,
      })
      .default('first_last'),
  ),
  zendesk_defaultCountryCode: z.preprocess(
    blank,
    z
      .string({ error: 'is missing; accepted: an E.164 calling code such as `+1`, `+44` or `+81`' })
      .regex(
        CALLING_CODE_PATTERN,
        'is not a calling code; accepted: `+` followed by 1 to 3 digits, such as `+1`, `+44` or `+81`',
      ),
  ),
});

export type SettingsResult = { ok: true; settings: AccountSettings } | { ok: false; problems: string[] };

/** Validates the add-on's custom fields; problems name the setting and what it accepts. */
export function parseAccountSettings(customFields: unknown): SettingsResult {
  const parsed = SettingsSchema.safeParse(customFields ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => `\`${issue.path.join('.') || 'settings'}\` ${issue.message}`),
    };
  }
  const s = parsed.data;
  return {
    ok: true,
    settings: {
      zendeskInstance: s.zendesk_instance.toLowerCase(),
      webhookSecret: s.zendesk_webhookSecret ?? null,
      statusFieldKey: s.zendesk_statusFieldKey ?? null,
      nameFormat: s.zendesk_nameFormat,
      defaultCountryCode: s.zendesk_defaultCountryCode,
    },
  };
}
