import type { ReportedEdit } from './convergence';
import { SYNC_FIELDS, type SyncField } from './records';

// Which incoming events the sync acts on, which fields a run for each compares, and which edits
// of a person each reports (the conflict model records those when the event arrives). Everything
// else is answered 200 and dropped, so subscribing broadly costs nothing.

const ZENDESK_PREFIX = 'zen:event-type:';

/** Zendesk prints some user event types with `/` and others with `:`; both mean the same event. */
export function normaliseZendeskEventType(type: string): string {
  return type.startsWith('zen:event-type/') ? `${ZENDESK_PREFIX}${type.slice('zen:event-type/'.length)}` : type;
}

/** What a Zendesk user event's `event` object says, as far as the sync reads it. */
export type ZendeskEventBody =
  | { kind: 'name'; current: string }
  | { kind: 'identity'; type: string; value: string; primary: boolean; wasPrimary: boolean }
  | { kind: 'other' };

/** What an event means to the sync. */
export interface EventEffect {
  /** What a run for it compares and writes. */
  fields: SyncField[];
  /** The two-way fields a person edited, with the value when the event carried it. */
  edits: ReportedEdit[];
  /** Zendesk's non-primary emails or phones may have changed: a run must look, whatever else agrees. */
  contactsChanged: boolean;
}

const USER_EVENTS = [
  'created',
  'name_changed',
  'identity_created',
  'identity_changed',
  'identity_deleted',
  'external_id_changed',
  'merged',
  'active_changed',
  'deleted',
] as const;

export const ZENDESK_MERGED_EVENT = `${ZENDESK_PREFIX}user.merged`;

/** Whether the sync acts on a Zendesk event type at all. */
export function isZendeskUserEvent(type: string): boolean {
  const normalised = normaliseZendeskEventType(type);
  return (
    normalised.startsWith(`${ZENDESK_PREFIX}user.`) &&
    (USER_EVENTS as readonly string[]).includes(normalised.slice(`${ZENDESK_PREFIX}user.`.length))
  );
}

/**
 * What a Zendesk user event means. `detailEmail` is the primary email the envelope's `detail`
 * reports at the event's time. Identities of other types (twitter, …) change nothing synced.
 */
export function zendeskEventEffect(
  type: string,
  body: ZendeskEventBody,
  detailEmail: string | null,
): EventEffect | null {
  const name = normaliseZendeskEventType(type).slice(`${ZENDESK_PREFIX}user.`.length);
  switch (name) {
    case 'created':
      return {
        fields: ['email', 'name', 'phone'],
        edits: [
          { field: 'email', ...(detailEmail === null ? {} : { value: detailEmail }) },
          { field: 'name' },
          { field: 'phone' },
        ],
        contactsChanged: true,
      };
    case 'name_changed':
      return {
        fields: ['name'],
        edits: [{ field: 'name', ...(body.kind === 'name' ? { value: body.current } : {}) }],
        contactsChanged: false,
      };
    case 'identity_created':
    case 'identity_changed':
    case 'identity_deleted': {
      if (body.kind !== 'identity')
        return { fields: ['email', 'phone'], edits: [{ field: 'email' }, { field: 'phone' }], contactsChanged: true };
      const field = body.type === 'email' ? 'email' : body.type === 'phone_number' ? 'phone' : null;
      if (field === null) return null;
      // Only the primary is synced both ways; a secondary only feeds the other-emails/phones list.
      if (!body.primary && !body.wasPrimary) return { fields: [field], edits: [], contactsChanged: true };
      const value =
        field === 'email'
          ? (detailEmail ?? undefined)
          : body.primary && name !== 'identity_deleted'
            ? body.value
            : undefined;
      const samePrimary = name === 'identity_changed' && body.primary && body.wasPrimary;
      return {
        fields: [field],
        edits: [{ field, ...(value === undefined ? {} : { value }) }],
        contactsChanged: !samePrimary && name !== 'identity_created',
      };
    }
    // A link changed (an agent typed a Storeganise id, the sync repaired a pointer, a merge) or the
    // user was deleted (or is back): the run brings the pointers in line, or finds the user gone and
    // records it; field values follow their own events, never overwritten here.
    case 'external_id_changed':
    case 'merged':
    case 'active_changed':
    case 'deleted':
      return { fields: [], edits: [], contactsChanged: false };
    default:
      return null;
  }
}

/** What the service subscribes its own Zendesk webhook to. */
export function zendeskWebhookSubscriptions(): string[] {
  return USER_EVENTS.map((name) => `${ZENDESK_PREFIX}user.${name}`);
}

export const STOREGANISE_USER_EVENTS = ['user.created', 'user.updated', 'user.disabled'] as const;
export const STOREGANISE_RENTAL_EVENTS = [
  'job.unit_moveIn.completed',
  'job.unit_moveOut.completed',
  'job.unit_transfer.completed',
  'unitRental.updated',
] as const;
export const STOREGANISE_ACTIVATION_EVENTS = ['addon.installed'] as const;

const STOREGANISE_KEY_FIELDS: Readonly<Record<string, SyncField>> = {
  email: 'email',
  firstName: 'name',
  lastName: 'name',
  name: 'name',
  phone: 'phone',
  disabled: 'disabled',
};

/**
 * What a Storeganise user event means, or null when nothing synced changed (e.g. only `language`,
 * or only the sync's own `zendesk_*` fields). Storeganise events carry no values: a run reads them.
 */
export function storeganiseUserEventEffect(type: string, changedKeys: readonly string[] | null): EventEffect | null {
  if (type === 'user.disabled') return { fields: ['status', 'disabled'], edits: [], contactsChanged: false };
  if (type === 'user.created' || (type === 'user.updated' && changedKeys === null)) {
    return {
      fields: [...SYNC_FIELDS],
      edits: [{ field: 'email' }, { field: 'name' }, { field: 'phone' }],
      contactsChanged: false,
    };
  }
  if (type !== 'user.updated' || changedKeys === null) return null;
  const fields = new Set(changedKeys.flatMap((key) => STOREGANISE_KEY_FIELDS[key.split('.')[0] ?? ''] ?? []));
  if (fields.size === 0) return null;
  // Disabling changes the customer status as well.
  if (fields.has('disabled')) fields.add('status');
  const edits: ReportedEdit[] = (['email', 'name', 'phone'] as const)
    .filter((f) => fields.has(f))
    .map((field) => ({ field }));
  return { fields: SYNC_FIELDS.filter((f) => fields.has(f)), edits, contactsChanged: false };
}

export function isStoreganiseUserEvent(type: string): boolean {
  return (STOREGANISE_USER_EVENTS as readonly string[]).includes(type);
}

export function isStoreganiseRentalEvent(type: string): boolean {
  return (STOREGANISE_RENTAL_EVENTS as readonly string[]).includes(type);
}

export function isStoreganiseActivationEvent(type: string): boolean {
  return (STOREGANISE_ACTIVATION_EVENTS as readonly string[]).includes(type);
}
