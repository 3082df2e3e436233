import { formatZendeskName, namesAgree, normaliseWhitespace, splitZendeskName } from '../../domain/names';
import { normalisePhone, phoneToWrite, samePhone } from '../../domain/phones';
import type { StoreganiseCustomer, SyncField, ZendeskContacts, ZendeskCustomer } from '../../domain/records';
import { sameEmail } from '../../domain/records';
import type { AccountSettings } from '../../domain/settings';
import type { CustomerStatus } from '../../domain/status';
import {
  suspensionNote,
  type NewZendeskUser,
  type StoreganiseUserChanges,
  type ZendeskUserChanges,
} from '../../domain/pair-plan';

export type { NewZendeskUser, StoreganiseUserChanges, ZendeskUserChanges };

/**
 * The values both sides last agreed on, per two-way field: the base of a three-way comparison.
 * A side still equal to the base did not change, so it never overwrites the other side, whose
 * own event carries the newer value. This is what keeps an echo of the sync's own write from
 * undoing an edit made meanwhile. Unknown (empty) base: the event's side wins where they differ.
 */
export interface SyncBase {
  /** Lower-cased primary email. */
  email?: string;
  /** The name as Zendesk holds it, white space normalised. */
  name?: string;
  /** E.164 when valid, else the trimmed text. */
  phone?: string;
}

export interface ZendeskPlan {
  /** One `PUT /users/{id}`; empty when nothing differs. */
  user: ZendeskUserChanges;
  /** A new primary email: goes through the identities API, never through the user update. */
  primaryEmail: string | null;
  /** `zendesk_userId` to store in Storeganise when the pointer is missing or stale. */
  storeganisePointer: string | null;
  /** The base once the writes are made. */
  base: SyncBase;
}

export interface SyncContext {
  settings: AccountSettings;
  /** Only these fields are compared; the event said nothing about the others. */
  fields: readonly SyncField[];
  base: SyncBase;
  /**
   * The record being written changed after the record being read. When both sides changed a
   * field since the base, the newer edit wins: the target keeps it and its own event carries it over.
   */
  targetIsNewer: boolean;
}

const phoneKey = (raw: string | null | undefined, callingCode: string): string => {
  const phone = normalisePhone(raw, callingCode);
  return phone.kind === 'e164' ? phone.e164 : phone.kind === 'invalid' ? phone.raw : '';
};

function appendNote(existing: string, note: string): string {
  return existing.trim() === '' ? note : `${existing.replace(/\s+$/, '')}\n\n${note}`;
}

/** The Zendesk name for a Storeganise customer; Zendesk requires one, so the email stands in for a nameless customer. */
function zendeskNameFor(sg: StoreganiseCustomer, settings: AccountSettings): string {
  return formatZendeskName(sg, settings.nameFormat) || (sg.email ?? '').trim();
}

/** Storeganise → Zendesk: the minimal writes that make Zendesk match Storeganise for the given fields. */
export function planZendeskUpdate(
  sg: StoreganiseCustomer,
  zd: ZendeskCustomer,
  status: CustomerStatus | null,
  context: SyncContext & { now: Date },
): ZendeskPlan {
  const { settings, fields, now } = context;
  const base: SyncBase = { ...context.base };
  const user: ZendeskUserChanges = {};
  let primaryEmail: string | null = null;
  const code = settings.defaultCountryCode;
  // Zendesk also changed the field since the base, and later: its edit stands.
  const zendeskKeeps = (field: keyof SyncBase, changed: (known: string) => boolean): boolean => {
    const known = base[field];
    return context.targetIsNewer && known !== undefined && changed(known);
  };

  if (fields.includes('name')) {
    const name = zendeskNameFor(sg, settings);
    const unchangedInStoreganise = (known: string) => namesAgree(sg, known, settings.nameFormat) || name === known;
    if (namesAgree(sg, zd.name, settings.nameFormat) || name === zd.name.trim())
      base.name = normaliseWhitespace(zd.name);
    else if (
      !(base.name !== undefined && unchangedInStoreganise(base.name)) &&
      name !== '' &&
      !zendeskKeeps('name', (known) => normaliseWhitespace(zd.name) !== known)
    ) {
      user.name = name;
      base.name = name;
    }
  }
  if (fields.includes('phone')) {
    const phone = phoneToWrite(sg.phone, code);
    if (samePhone(sg.phone, zd.phone, code)) base.phone = phoneKey(zd.phone, code);
    else if (
      !(base.phone !== undefined && samePhone(sg.phone, base.phone, code)) &&
      phone !== null &&
      !zendeskKeeps('phone', (known) => !samePhone(zd.phone, known, code))
    ) {
      user.phone = phone;
      base.phone = phone;
    }
  }
  if (fields.includes('email') && sg.email) {
    if (sameEmail(sg.email, zd.email)) base.email = sg.email.trim().toLowerCase();
    else if (
      !(base.email !== undefined && sameEmail(sg.email, base.email)) &&
      !zendeskKeeps('email', (known) => !sameEmail(zd.email, known))
    ) {
      primaryEmail = sg.email.trim();
      base.email = primaryEmail.toLowerCase();
    }
  }

  const disabling = fields.includes('disabled') && sg.disabled && !zd.suspended;
  if (disabling) {
    user.suspended = true;
    user.notes = appendNote(zd.notes, suspensionNote(sg.id, now));
  }
  const key = settings.statusFieldKey;
  const wanted = disabling ? 'deactivated' : status;
  if (wanted !== null && key !== null && key in zd.userFields && zd.userFields[key] !== wanted)
    user.userFields = { [key]: wanted };

  if (zd.externalId === null || zd.externalId.toLowerCase() !== sg.id.toLowerCase()) user.externalId = sg.id;
  return { user, primaryEmail, storeganisePointer: sg.zendeskUserId === zd.id ? null : zd.id, base };
}

/** The base right after a Zendesk user was created from a Storeganise customer. */
export function baseOfNewZendeskUser(user: NewZendeskUser, settings: AccountSettings): SyncBase {
  return {
    name: normaliseWhitespace(user.name),
    ...(user.email ? { email: user.email.toLowerCase() } : {}),
    ...(user.phone ? { phone: phoneKey(user.phone, settings.defaultCountryCode) } : {}),
  };
}

/** Storeganise → Zendesk for a customer with no counterpart: everything in the one create request. */
export function planNewZendeskUser(
  sg: StoreganiseCustomer,
  status: CustomerStatus,
  context: { settings: AccountSettings; now: Date },
): NewZendeskUser {
  const { settings, now } = context;
  const key = settings.statusFieldKey;
  return {
    name: zendeskNameFor(sg, settings),
    email: sg.email?.trim() || null,
    phone: phoneToWrite(sg.phone, settings.defaultCountryCode),
    externalId: sg.id,
    suspended: sg.disabled,
    notes: sg.disabled ? suspensionNote(sg.id, now) : null,
    userFields: key === null ? {} : { [key]: sg.disabled ? 'deactivated' : status },
  };
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** Zendesk → Storeganise: the minimal change set (one `PUT`) for the given fields, plus the pointer. */
export function planStoreganiseUpdate(
  zd: ZendeskCustomer,
  contacts: ZendeskContacts | null,
  sg: StoreganiseCustomer,
  context: SyncContext,
): { changes: StoreganiseUserChanges; base: SyncBase } {
  const { settings, fields } = context;
  const base: SyncBase = { ...context.base };
  const changes: StoreganiseUserChanges = {};
  const customFields: NonNullable<StoreganiseUserChanges['customFields']> = {};
  const code = settings.defaultCountryCode;
  // Storeganise also changed the field since the base, and later: its edit stands.
  const storeganiseKeeps = (field: keyof SyncBase, changed: (known: string) => boolean): boolean => {
    const known = base[field];
    return context.targetIsNewer && known !== undefined && changed(known);
  };

  if (fields.includes('email')) {
    if (zd.email && sameEmail(zd.email, sg.email)) base.email = zd.email.trim().toLowerCase();
    else if (
      zd.email &&
      !(base.email !== undefined && sameEmail(zd.email, base.email)) &&
      !storeganiseKeeps('email', (known) => !sameEmail(sg.email, known))
    ) {
      changes.email = zd.email.trim();
      base.email = changes.email.toLowerCase();
    }
    if (contacts) {
      const others = unique(
        contacts.otherEmails.map((e) => e.trim().toLowerCase()).filter((e) => e !== '' && !sameEmail(e, zd.email)),
      );
      if (
        !sameSet(
          others,
          sg.otherEmails.map((e) => e.toLowerCase()),
        )
      )
        customFields.zendesk_otherEmails = others;
    }
  }
  if (fields.includes('name') && zd.name.trim() !== '') {
    const zendeskName = normaliseWhitespace(zd.name);
    const agreesWithFallback =
      sg.email !== null && formatZendeskName(sg, settings.nameFormat) === '' && zendeskName === sg.email.trim();
    const split = splitZendeskName(zd.name, settings.nameFormat);
    const storeganiseChanged = (known: string) =>
      !namesAgree(sg, known, settings.nameFormat) && formatZendeskName(sg, settings.nameFormat) !== known;
    if (namesAgree(sg, zd.name, settings.nameFormat) || agreesWithFallback) base.name = zendeskName;
    else if (split && base.name !== zendeskName && !storeganiseKeeps('name', storeganiseChanged)) {
      if (split.firstName !== (sg.firstName ?? '')) changes.firstName = split.firstName;
      if (split.lastName !== (sg.lastName ?? '')) changes.lastName = split.lastName;
      base.name = zendeskName;
    }
  }
  if (fields.includes('phone')) {
    const phone = phoneToWrite(zd.phone, code);
    if (samePhone(zd.phone, sg.phone, code)) base.phone = phoneKey(zd.phone, code);
    else if (
      phone !== null &&
      !(base.phone !== undefined && samePhone(zd.phone, base.phone, code)) &&
      !storeganiseKeeps('phone', (known) => !samePhone(sg.phone, known, code))
    ) {
      changes.phone = phone;
      base.phone = phone;
    }
    if (contacts) {
      const others = unique(
        contacts.otherPhones
          .map((p) => normalisePhone(p, code))
          .flatMap((p) => (p.kind === 'e164' ? [p.e164] : []))
          .filter((p) => !samePhone(p, zd.phone, code)),
      );
      if (!sameSet(others, sg.otherPhones)) customFields.zendesk_otherPhones = others;
    }
  }
  if (sg.zendeskUserId !== zd.id) customFields.zendesk_userId = zd.id;
  if (Object.keys(customFields).length > 0) changes.customFields = customFields;
  return { changes, base };
}

export function hasZendeskWrites(plan: ZendeskPlan): boolean {
  return Object.keys(plan.user).length > 0 || plan.primaryEmail !== null;
}

export function hasStoreganiseWrites(changes: StoreganiseUserChanges): boolean {
  return Object.keys(changes).length > 0;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * Whether the target record changed after the source record. Zendesk stamps seconds, so both are
 * compared in whole seconds; a tie is broken by `laterEventQueued`.
 */
export function targetIsNewer(
  sourceUpdatedAt: string | null,
  targetUpdatedAt: string | null,
  laterEventQueued: boolean,
): boolean {
  const seconds = (iso: string | null): number | null => {
    const ms = iso === null ? NaN : Date.parse(iso);
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
  };
  const source = seconds(sourceUpdatedAt);
  const target = seconds(targetUpdatedAt);
  if (source === null || target === null) return laterEventQueued;
  return target > source || (target === source && laterEventQueued);
}
