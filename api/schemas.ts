import { z } from 'zod';
import type { ZendeskChange } from '../domain/echo';

export const StoreganiseWebhookSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  data: z.record(z.string(), z.unknown()).default({}),
  apiUrl: z.string().min(1),
  addonId: z.string().min(1),
});

export const StoreganiseUserDataSchema = z.looseObject({
  userId: z.string().min(1),
  changedKeys: z.array(z.string()).optional(),
});

export const StoreganiseRentalDataSchema = z
  .looseObject({
    unitRentalId: z.string().min(1).optional(),
    jobId: z.string().min(1).optional(),
    oldRentalId: z.string().min(1).optional(),
    newRentalId: z.string().min(1).optional(),
  })
  .refine((d) => d.unitRentalId ?? d.jobId ?? d.oldRentalId ?? d.newRentalId, { message: 'one of unitRentalId, jobId, oldRentalId, newRentalId is required' });

const ZendeskId = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String);

export const ZendeskEnvelopeSchema = z.object({
  type: z.string().min(1),
  account_id: z.union([z.number(), z.string()]),
  id: z.string().min(1),
  time: z.string(),
  zendesk_event_version: z.string().optional(),
  subject: z.string(),
  detail: z.looseObject({
    id: ZendeskId,
    // "None" comes as "" in webhook payloads.
    external_id: z.union([z.string(), z.number()]).nullish().transform((v) => (v === null || v === undefined || v === '' ? null : String(v))),
  }),
  event: z.record(z.string(), z.unknown()).default({}),
});

export const ZendeskMergedEventSchema = z.object({ user: z.object({ id: ZendeskId }) });

/** `data.userId` style path of the first problem, for a 400 that says what is wrong. */
export function describeIssues(error: z.ZodError, prefix: string[] = []): { path: string; message: string } {
  const [issue] = error.issues;
  return { path: [...prefix, ...(issue?.path ?? [])].map(String).join('.') || '(body)', message: issue?.message ?? 'invalid' };
}

const Identity = z.object({ type: z.string(), value: z.string() });
const IdentityChange = z.object({ identity: Identity });
const CurrentIdentity = z.object({ current: Identity });
const CurrentString = z.object({ current: z.string() });

/** What a Zendesk user event says changed; null when its `event` object has an unexpected shape. */
export function zendeskChangeOf(type: string, event: Record<string, unknown>): ZendeskChange | null {
  const fromIdentity = (identity: z.infer<typeof Identity>): ZendeskChange =>
    identity.type === 'email' ? { field: 'email', value: identity.value } : identity.type === 'phone_number' ? { field: 'phone', value: identity.value } : { field: 'other' };
  const name = type.slice('zen:event-type:user.'.length);
  switch (name) {
    case 'created':
      return { field: 'created' };
    case 'name_changed': {
      const parsed = CurrentString.safeParse(event);
      return parsed.success ? { field: 'name', value: parsed.data.current } : null;
    }
    case 'external_id_changed': {
      const parsed = CurrentString.safeParse(event);
      return parsed.success ? { field: 'external_id', value: parsed.data.current } : null;
    }
    case 'identity_created':
    case 'identity_deleted': {
      const parsed = IdentityChange.safeParse(event);
      return parsed.success ? (name === 'identity_created' ? fromIdentity(parsed.data.identity) : { field: 'other' }) : null;
    }
    case 'identity_changed': {
      const parsed = CurrentIdentity.safeParse(event);
      return parsed.success ? fromIdentity(parsed.data.current) : null;
    }
    default:
      return { field: 'other' };
  }
}
