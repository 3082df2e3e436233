import { SYNC_FIELDS, type SyncField } from '../../domain/records';

// The event classification of this version, frozen: the code that replays must decide as it did.

const ZENDESK_PREFIX = 'zen:event-type:';
export const ZENDESK_MERGED_EVENT = `${ZENDESK_PREFIX}user.merged`;

const CONTACTS: readonly SyncField[] = ['email', 'phone'];
const ZENDESK_USER_EVENTS: Readonly<Record<string, readonly SyncField[]>> = {
  'user.created': ['email', 'name', 'phone'],
  'user.name_changed': ['name'],
  'user.identity_created': CONTACTS,
  'user.identity_changed': CONTACTS,
  'user.identity_deleted': CONTACTS,
  'user.external_id_changed': [],
  'user.merged': [],
};

export function zendeskEventSyncFields(type: string, externalIdAtEvent: string | null): readonly SyncField[] | null {
  const normalised = type.startsWith('zen:event-type/')
    ? `${ZENDESK_PREFIX}${type.slice('zen:event-type/'.length)}`
    : type;
  if (!normalised.startsWith(ZENDESK_PREFIX)) return null;
  const fields = ZENDESK_USER_EVENTS[normalised.slice(ZENDESK_PREFIX.length)] ?? null;
  return fields === null ? null : externalIdAtEvent === null ? [] : fields;
}

const STOREGANISE_KEY_FIELDS: Readonly<Record<string, readonly SyncField[]>> = {
  email: ['email'],
  firstName: ['name'],
  lastName: ['name'],
  name: ['name'],
  phone: ['phone'],
  disabled: ['disabled'],
};

export function storeganiseUserEventFields(
  type: string,
  changedKeys: readonly string[] | null,
): readonly SyncField[] | null {
  if (type === 'user.disabled') return ['status', 'disabled'];
  if (type === 'user.created') return SYNC_FIELDS;
  if (type !== 'user.updated') return null;
  if (changedKeys === null) return SYNC_FIELDS;
  const fields = new Set<SyncField>();
  for (const key of changedKeys)
    for (const field of STOREGANISE_KEY_FIELDS[key.split('.')[0] ?? ''] ?? []) fields.add(field);
  if (fields.size === 0) return null;
  fields.add('status');
  return SYNC_FIELDS.filter((f) => fields.has(f));
}
