import { formatZendeskName, namesAgree, splitZendeskName } from './names';
import { normalisePhone, phoneToWrite, samePhone } from './phones';
import type { StoreganiseCustomer, SyncField, ZendeskContacts, ZendeskCustomer } from './records';
import { sameEmail } from './records';
import type { AccountSettings } from './settings';
import type { CustomerStatus } from './status';

export interface ZendeskUserChanges {
  name?: string;
  phone?: string;
  externalId?: string;
  suspended?: true;
  notes?: string;
  userFields?: Record<string, CustomerStatus>;
}

export interface ZendeskPlan {
  /** One `PUT /users/{id}`; empty when nothing differs. */
  user: ZendeskUserChanges;
  /** A new primary email: goes through the identities API, never through the user update. */
  primaryEmail: string | null;
  /** `zendesk_userId` to store in Storeganise when the pointer is missing or stale. */
  storeganisePointer: string | null;
}

export interface NewZendeskUser {
  name: string;
  email: string | null;
  phone: string | null;
  externalId: string;
  suspended: boolean;
  notes: string | null;
  userFields: Record<string, CustomerStatus>;
}

export interface StoreganiseUserChanges {
  email?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  customFields?: { zendesk_userId?: string; zendesk_otherEmails?: string[]; zendesk_otherPhones?: string[] };
}

export interface SyncContext {
  settings: AccountSettings;
  /** Only these fields are compared; the event said nothing about the others. */
  fields: readonly SyncField[];
}

export function suspensionNote(sgUserId: string, at: Date): string {
  return `[${at.toISOString()}] Suspended by the Storeganise sync: the customer was disabled in Storeganise (user ${sgUserId}). Re-enabling in Storeganise does not unsuspend this user.`;
}

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
  const user: ZendeskUserChanges = {};
  let primaryEmail: string | null = null;

  if (fields.includes('name')) {
    const name = zendeskNameFor(sg, settings);
    const agrees = namesAgree(sg, zd.name, settings.nameFormat) || name === zd.name.trim();
    if (name !== '' && !agrees) user.name = name;
  }
  if (fields.includes('phone')) {
    const phone = phoneToWrite(sg.phone, settings.defaultCountryCode);
    if (phone !== null && !samePhone(sg.phone, zd.phone, settings.defaultCountryCode)) user.phone = phone;
  }
  if (fields.includes('email') && sg.email && !sameEmail(sg.email, zd.email)) primaryEmail = sg.email.trim();

  const disabling = fields.includes('disabled') && sg.disabled && !zd.suspended;
  if (disabling) {
    user.suspended = true;
    user.notes = appendNote(zd.notes, suspensionNote(sg.id, now));
  }
  const key = settings.statusFieldKey;
  const wanted = disabling ? 'deactivated' : status;
  if (wanted !== null && key !== null && key in zd.userFields && zd.userFields[key] !== wanted) user.userFields = { [key]: wanted };

  if (zd.externalId === null || zd.externalId.toLowerCase() !== sg.id.toLowerCase()) user.externalId = sg.id;
  return { user, primaryEmail, storeganisePointer: sg.zendeskUserId === zd.id ? null : zd.id };
}

/** Storeganise → Zendesk for a customer with no counterpart: everything in the one create request. */
export function planNewZendeskUser(sg: StoreganiseCustomer, status: CustomerStatus, context: { settings: AccountSettings; now: Date }): NewZendeskUser {
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
): StoreganiseUserChanges {
  const { settings, fields } = context;
  const changes: StoreganiseUserChanges = {};
  const customFields: NonNullable<StoreganiseUserChanges['customFields']> = {};

  if (fields.includes('email')) {
    if (zd.email && !sameEmail(zd.email, sg.email)) changes.email = zd.email.trim();
    if (contacts) {
      const others = unique(contacts.otherEmails.map((e) => e.trim().toLowerCase()).filter((e) => e !== '' && !sameEmail(e, zd.email)));
      if (!sameSet(others, sg.otherEmails.map((e) => e.toLowerCase()))) customFields.zendesk_otherEmails = others;
    }
  }
  if (fields.includes('name') && zd.name.trim() !== '') {
    const agreesWithFallback = sg.email !== null && formatZendeskName(sg, settings.nameFormat) === '' && zd.name.trim() === sg.email.trim();
    const split = splitZendeskName(zd.name, settings.nameFormat);
    if (split && !namesAgree(sg, zd.name, settings.nameFormat) && !agreesWithFallback) {
      if (split.firstName !== (sg.firstName ?? '')) changes.firstName = split.firstName;
      if (split.lastName !== (sg.lastName ?? '')) changes.lastName = split.lastName;
    }
  }
  if (fields.includes('phone')) {
    const phone = phoneToWrite(zd.phone, settings.defaultCountryCode);
    if (phone !== null && !samePhone(zd.phone, sg.phone, settings.defaultCountryCode)) changes.phone = phone;
    if (contacts) {
      const others = unique(
        contacts.otherPhones
          .map((p) => normalisePhone(p, settings.defaultCountryCode))
          .flatMap((p) => (p.kind === 'e164' ? [p.e164] : []))
          .filter((p) => !samePhone(p, zd.phone, settings.defaultCountryCode)),
      );
      if (!sameSet(others, sg.otherPhones)) customFields.zendesk_otherPhones = others;
    }
  }
  if (sg.zendeskUserId !== zd.id) customFields.zendesk_userId = zd.id;
  if (Object.keys(customFields).length > 0) changes.customFields = customFields;
  return changes;
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
