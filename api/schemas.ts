import { z } from 'zod';
import type { ZendeskEventBody } from '../domain/events';

// What the webhooks may carry. Every id becomes part of a workflow id or a URL, so each is checked
// for length and alphabet here, before anything starts; text a person typed (names, emails) is
// made well-formed Unicode and bounded, so no content can fail a workflow task.

/** Event ids: printable ASCII, as Zendesk's UUIDs and Storeganise's ObjectIds are. */
const EventId = z.string().regex(/^[\x21-\x7E]{1,128}$/, 'must be 1 to 128 printable ASCII characters');
const EventType = z.string().regex(/^[A-Za-z0-9_.:/-]{1,100}$/, 'must be 1 to 100 letters, digits or . _ : / -');
/** Storeganise ids are ObjectId-like. */
export const StoreganiseId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be a Storeganise id (letters, digits, _ or -, at most 64)');
const ZendeskId = z
  .union([
    z.string().regex(/^\d{1,20}$/, 'must be a Zendesk id (digits)'),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ])
  .transform(String);
/** Text typed by a person: lone surrogates replaced, length bounded. */
const PersonText = z.string().transform((s) => s.toWellFormed().slice(0, 1024));
/** An event's own timestamp; a malformed one is no reason to lose the event, so it only counts when it parses. */
const Instant = z
  .string()
  .max(64)
  .transform((s) => {
    const ms = Date.parse(s);
    return /^\d{4}-\d{2}-\d{2}T/.test(s) && Number.isFinite(ms) ? ms : null;
  });

export const StoreganiseWebhookSchema = z.object({
  id: EventId,
  type: EventType,
  /** The time of the change (Storeganise's `created`), when sent. */
  created: Instant.optional(),
  data: z.record(z.string(), z.unknown()).default({}),
  apiUrl: z.string().min(1).max(2048),
  addonId: StoreganiseId,
});

export const StoreganiseUserDataSchema = z.looseObject({
  userId: StoreganiseId,
  changedKeys: z.array(z.string().max(200)).max(200).optional(),
});

export const StoreganiseRentalDataSchema = z
  .looseObject({
    unitRentalId: StoreganiseId.optional(),
    jobId: StoreganiseId.optional(),
    oldRentalId: StoreganiseId.optional(),
    newRentalId: StoreganiseId.optional(),
  })
  .refine((d) => d.unitRentalId ?? d.jobId ?? d.oldRentalId ?? d.newRentalId, {
    message: 'one of unitRentalId, jobId, oldRentalId, newRentalId is required',
  });

export const ZendeskEnvelopeSchema = z.object({
  type: EventType,
  account_id: z.union([z.number(), z.string().max(64)]),
  id: EventId,
  time: Instant,
  zendesk_event_version: z.string().max(64).optional(),
  subject: z.string().max(256),
  detail: z.looseObject({
    id: ZendeskId,
    // "None" comes as "" in webhook payloads. An agent can type anything here, so it is text.
    external_id: z
      .union([PersonText, z.number()])
      .nullish()
      .transform((v) => (v === null || v === undefined || v === '' ? null : String(v))),
    email: PersonText.nullish().transform((v) => (v === null || v === undefined || v === '' ? null : v)),
  }),
  event: z.record(z.string(), z.unknown()).default({}),
});

/** `data.userId` style path of the first problem, for a 400 that says what is wrong. */
export function describeIssues(error: z.ZodError, prefix: string[] = []): { path: string; message: string } {
  const [issue] = error.issues;
  return {
    path: [...prefix, ...(issue?.path ?? [])].map(String).join('.') || '(body)',
    message: issue?.message ?? 'invalid',
  };
}

const Identity = z.object({ type: z.string().max(64), value: PersonText, primary: z.boolean().default(false) });
const CurrentString = z.object({ current: PersonText });

/** What a Zendesk user event's `event` object says, as far as the sync reads it; unexpected shapes read as `other`. */
export function zendeskEventBodyOf(type: string, event: Record<string, unknown>): ZendeskEventBody {
  const name = type.slice(type.lastIndexOf('.') + 1);
  if (name === 'name_changed') {
    const parsed = CurrentString.safeParse(event);
    return parsed.success ? { kind: 'name', current: parsed.data.current } : { kind: 'other' };
  }
  if (name === 'identity_created' || name === 'identity_deleted') {
    const parsed = z.object({ identity: Identity }).safeParse(event);
    if (!parsed.success) return { kind: 'other' };
    const { identity } = parsed.data;
    return {
      kind: 'identity',
      type: identity.type,
      value: identity.value,
      primary: identity.primary && name === 'identity_created',
      wasPrimary: identity.primary && name === 'identity_deleted',
    };
  }
  if (name === 'identity_changed') {
    const parsed = z.object({ current: Identity, previous: Identity.optional() }).safeParse(event);
    if (!parsed.success) return { kind: 'other' };
    const { current, previous } = parsed.data;
    return {
      kind: 'identity',
      type: current.type,
      value: current.value,
      primary: current.primary,
      wasPrimary: previous?.primary ?? current.primary,
    };
  }
  return { kind: 'other' };
}

/** A Storeganise account's subdomain as it appears in a path. */
export const SubdomainSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be a Storeganise subdomain (lower-case letters, digits and inner dashes)',
  );
