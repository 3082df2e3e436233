import { invalidField, recordNotFound } from './http';
import { isoSeconds, type IdentityRecord, type SandboxState, type UserRecord, type ZendeskAccount } from './state';
import { userFieldValues } from './user-fields';
import type { IdentityJson, IdentityType, UserJson } from './wire';

/** Record lookups, the invariants every write path shares, and the JSON views of users and identities. */

export function userFromParam(account: ZendeskAccount, param: string | undefined): UserRecord {
  const user = param !== undefined && /^\d+$/.test(param) ? account.users.get(Number(param)) : undefined;
  if (!user) throw recordNotFound();
  return user;
}

export function identityFromParam(
  account: ZendeskAccount,
  user: UserRecord,
  param: string | undefined,
): IdentityRecord {
  const identity = param !== undefined && /^\d+$/.test(param) ? account.identities.get(Number(param)) : undefined;
  if (!identity || identity.userId !== user.id) throw recordNotFound();
  return identity;
}

/** Deleted users are readable but frozen: Zendesk cannot bring them back. */
export function assertActive(user: UserRecord): void {
  if (!user.active) throw invalidField('base', `User ${user.id} is deleted and can no longer be changed`);
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Zendesk stores email addresses in lower case; other identity values are kept as typed. */
export function normalizeIdentityValue(type: IdentityType, value: string): string {
  return type === 'email' ? value.trim().toLowerCase() : value.trim();
}

/**
 * Checks a (normalized) value is well formed and, for emails, held by no other user.
 * `field` is the details key of the 422: `email` on user writes, `value` on identity writes.
 */
export function assertIdentityValueFree(
  account: ZendeskAccount,
  type: IdentityType,
  value: string,
  ownerId: number | null,
  field: 'email' | 'value' | 'phone',
): void {
  const label = field === 'email' ? 'Email' : field === 'phone' ? 'Phone' : 'Value';
  if (value === '') throw invalidField(field, `${label}: cannot be blank`, 'BlankValue');
  if (type !== 'email') return;
  if (!EMAIL_PATTERN.test(value))
    throw invalidField(field, `${label}: ${value} is not properly formatted`, 'InvalidFormat');
  const holder = account.identityByEmail(value);
  if (holder && holder.userId !== ownerId) {
    throw invalidField(field, `${label}: ${value} is already being used by another user`, 'DuplicateValue');
  }
}

export function assertExternalIdFree(account: ZendeskAccount, externalId: string, ownerId: number | null): void {
  const holder = account.userByExternalId(externalId);
  if (holder && holder.id !== ownerId) {
    throw invalidField(
      'external_id',
      `External ID: ${externalId} is already being used by another user`,
      'DuplicateValue',
    );
  }
}

/** Adds an identity; the first of its type, or one asked to be, becomes the primary. No checks, no events. */
export function insertIdentity(
  state: SandboxState,
  account: ZendeskAccount,
  user: UserRecord,
  type: IdentityType,
  value: string,
  options: { primary?: boolean | undefined; verified?: boolean | undefined } = {},
): IdentityRecord {
  const now = Date.now();
  const hasPrimary = account.primaryIdentity(user.id, type) !== undefined;
  const identity: IdentityRecord = {
    id: state.nextId(),
    userId: user.id,
    type,
    value,
    primary: false,
    verified: options.verified ?? false,
    createdAtMs: now,
    updatedAtMs: now,
  };
  account.putIdentity(identity);
  if (!hasPrimary || options.primary === true) promoteIdentity(account, identity);
  return identity;
}

export function promoteIdentity(account: ZendeskAccount, identity: IdentityRecord): void {
  const now = Date.now();
  for (const other of account.identitiesOf(identity.userId)) {
    if (other.type === identity.type && other.primary && other.id !== identity.id) {
      other.primary = false;
      other.updatedAtMs = now;
    }
  }
  if (!identity.primary) {
    identity.primary = true;
    identity.updatedAtMs = now;
  }
}

/** Removes an identity; when it was the primary, the oldest remaining one of its type takes over. */
export function dropIdentity(account: ZendeskAccount, identity: IdentityRecord): void {
  account.deleteIdentity(identity);
  if (!identity.primary) return;
  const successor = account.identitiesOf(identity.userId).find((i) => i.type === identity.type);
  if (successor) promoteIdentity(account, successor);
}

export function identityJson(base: string, identity: IdentityRecord): IdentityJson {
  return {
    url: `${base}/api/v2/users/${identity.userId}/identities/${identity.id}.json`,
    id: identity.id,
    user_id: identity.userId,
    type: identity.type,
    value: identity.value,
    verified: identity.verified,
    primary: identity.primary,
    verification_method: identity.verified ? 'low' : 'none',
    deliverable_state: identity.type === 'email' ? 'deliverable' : null,
    undeliverable_count: 0,
    created_at: isoSeconds(identity.createdAtMs),
    updated_at: isoSeconds(identity.updatedAtMs),
  };
}

export function userJson(base: string, account: ZendeskAccount, user: UserRecord): UserJson {
  return {
    url: `${base}/api/v2/users/${user.id}.json`,
    id: user.id,
    name: user.name,
    email: account.primaryIdentity(user.id, 'email')?.value ?? null,
    phone: account.primaryIdentity(user.id, 'phone_number')?.value ?? null,
    shared_phone_number: null,
    external_id: user.externalId,
    role: user.role,
    active: user.active,
    suspended: user.suspended,
    verified: user.verified,
    notes: user.notes,
    details: user.details,
    alias: '',
    organization_id: null,
    default_group_id: null,
    tags: [],
    time_zone: 'UTC',
    locale: 'en-US',
    user_fields: userFieldValues(account, user),
    created_at: isoSeconds(user.createdAtMs),
    updated_at: isoSeconds(user.updatedAtMs),
  };
}
