import { SYNC_FIELDS, type SyncField } from './records';

// Which incoming events the sync acts on, and which fields each may have changed. Everything
// else is answered 200 and dropped, so subscribing broadly costs nothing.

const ZENDESK_PREFIX = 'zen:event-type:';

/** Zendesk prints some user event types with `/` and others with `:`; both mean the same event. */
export function normaliseZendeskEventType(type: string): string {
  return type.startsWith('zen:event-type/') ? `${ZENDESK_PREFIX}${type.slice('zen:event-type/'.length)}` : type;
}

const CONTACTS: readonly SyncField[] = ['email', 'phone'];
const EVERYTHING_FROM_ZENDESK: readonly SyncField[] = ['email', 'name', 'phone'];

const ZENDESK_USER_EVENTS: Readonly<Record<string, readonly SyncField[]>> = {
  'user.created': EVERYTHING_FROM_ZENDESK,
  'user.name_changed': ['name'],
  'user.identity_created': CONTACTS,
  'user.identity_changed': CONTACTS,
  'user.identity_deleted': CONTACTS,
  // A link changed (an agent typed a Storeganise id, or the sync repaired a pointer): the
  // pointers are brought in line; field values follow their own events, never overwritten here.
  'user.external_id_changed': [],
  // The merged-away user's pointer moves to the user it was merged into; no field changes.
  'user.merged': [],
};

export const ZENDESK_MERGED_EVENT = `${ZENDESK_PREFIX}user.merged`;

/** The fields a Zendesk event may have changed, or null when the sync ignores the event. */
export function zendeskEventFields(type: string): readonly SyncField[] | null {
  const normalised = normaliseZendeskEventType(type);
  if (!normalised.startsWith(ZENDESK_PREFIX)) return null;
  return ZENDESK_USER_EVENTS[normalised.slice(ZENDESK_PREFIX.length)] ?? null;
}

/**
 * The fields to sync for a Zendesk event. A change made while the Zendesk user was not linked
 * (no external id when it happened) is not an edit of a customer: it only links the pair, so a
 * requester's record never overwrites a customer's data on first contact, however late it arrives.
 */
export function zendeskEventSyncFields(type: string, externalIdAtEvent: string | null): readonly SyncField[] | null {
  const fields = zendeskEventFields(type);
  return fields === null ? null : externalIdAtEvent === null ? [] : fields;
}

/** What the service subscribes its own Zendesk webhook to. */
export function zendeskWebhookSubscriptions(): string[] {
  return Object.keys(ZENDESK_USER_EVENTS).map((name) => `${ZENDESK_PREFIX}${name}`);
}

export const STOREGANISE_USER_EVENTS = ['user.created', 'user.updated', 'user.disabled'] as const;
export const STOREGANISE_RENTAL_EVENTS = ['job.unit_moveIn.completed', 'job.unit_moveOut.completed', 'job.unit_transfer.completed', 'unitRental.updated'] as const;
export const STOREGANISE_ACTIVATION_EVENTS = ['addon.installed'] as const;

const STOREGANISE_KEY_FIELDS: Readonly<Record<string, readonly SyncField[]>> = {
  email: ['email'],
  firstName: ['name'],
  lastName: ['name'],
  name: ['name'],
  phone: ['phone'],
  disabled: ['disabled'],
};

/**
 * The fields a Storeganise user event may have changed, or null when none matters to Zendesk
 * (e.g. only `language`, or only the sync's own `zendesk_*` fields: an echo of our own write).
 * The status is recomputed on every relevant event: it is cheap and heals missed rental events.
 */
export function storeganiseUserEventFields(type: string, changedKeys: readonly string[] | null): readonly SyncField[] | null {
  if (type === 'user.disabled') return ['status', 'disabled'];
  if (type === 'user.created') return SYNC_FIELDS;
  if (type !== 'user.updated') return null;
  if (changedKeys === null) return SYNC_FIELDS;
  const fields = new Set<SyncField>();
  for (const key of changedKeys) for (const field of STOREGANISE_KEY_FIELDS[key.split('.')[0] ?? ''] ?? []) fields.add(field);
  if (fields.size === 0) return null;
  fields.add('status');
  return SYNC_FIELDS.filter((f) => fields.has(f));
}

/** Events with the same key redo the same work: a queued one makes an earlier one unnecessary. */
export function coalesceKeyOf(direction: 'to-zendesk' | 'to-storeganise', fields: readonly SyncField[]): string {
  return `${direction}:${fields.join(',')}`;
}

export function isStoreganiseRentalEvent(type: string): boolean {
  return (STOREGANISE_RENTAL_EVENTS as readonly string[]).includes(type);
}

export function isStoreganiseActivationEvent(type: string): boolean {
  return (STOREGANISE_ACTIVATION_EVENTS as readonly string[]).includes(type);
}
