import {
  decideField,
  type FieldDecision,
  type FieldOutcome,
  type PairFacts,
  type Side,
  type SideState,
  type TwoWayField,
  TWO_WAY_FIELDS,
} from './convergence';
import { formatZendeskName, namesAgree, normaliseWhitespace, splitZendeskName } from './names';
import { normalisePhone, phoneToWrite, samePhone } from './phones';
import {
  sameEmail,
  type StoreganiseCustomer,
  type SyncField,
  type ZendeskContacts,
  type ZendeskCustomer,
} from './records';
import type { AccountSettings } from './settings';
import type { CustomerStatus } from './status';

/** One `PUT /users/{id}` in Zendesk; `email` is never part of it (that would only add a secondary). */
export interface ZendeskUserChanges {
  name?: string;
  phone?: string;
  externalId?: string;
  suspended?: true;
  notes?: string;
  userFields?: Record<string, CustomerStatus>;
}

/** One `PUT /users/{id}` in Storeganise; custom fields merge. */
export interface StoreganiseUserChanges {
  email?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  customFields?: { zendesk_userId?: string; zendesk_otherEmails?: string[]; zendesk_otherPhones?: string[] };
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

/** Both records of a linked pair, read together just before the plan is made. */
export interface PairRead {
  storeganise: StoreganiseCustomer;
  zendesk: ZendeskCustomer;
  /** Zendesk's non-primary emails and phones, when the run reads them. */
  contacts: ZendeskContacts | null;
  /** The customer status from the rentals, when the run computes it. */
  status: CustomerStatus | null;
}

export interface FieldPlan {
  field: TwoWayField;
  decision: FieldDecision;
  /** The side this run writes the field to, if it does. */
  writes: Side | null;
  /** Why nothing is written although the sides differ (an empty or invalid winner). */
  kept?: string;
}

export interface PairPlan {
  fields: FieldPlan[];
  zendesk: ZendeskUserChanges;
  /** A new Zendesk primary email: goes through the identities API. */
  zendeskPrimaryEmail: string | null;
  storeganise: StoreganiseUserChanges;
}

export interface PlanContext {
  settings: AccountSettings;
  /** The fields this run is about; the others are left to their own events. */
  fields: ReadonlySet<SyncField>;
  facts: PairFacts;
  /** Workflow time, epoch ms. */
  now: number;
  /** First contact with a Zendesk user: link the pair, copy nothing. */
  linkOnly: boolean;
  /** How long a conflict may wait for an event still on its way; the model's default when absent. */
  settleMs?: number;
}

/** The key a value of the field is compared and kept in. */
export function fieldKey(field: TwoWayField, raw: string | null | undefined, callingCode: string): string {
  if (field === 'email') return (raw ?? '').trim().toLowerCase();
  if (field === 'name') return normaliseWhitespace(raw ?? '');
  const phone = normalisePhone(raw, callingCode);
  return phone.kind === 'e164' ? phone.e164 : phone.kind === 'invalid' ? phone.raw : '';
}

/** The Zendesk name of a Storeganise customer; Zendesk requires one, so the email stands in for a nameless customer. */
export function zendeskNameOf(sg: StoreganiseCustomer, settings: AccountSettings): string {
  return formatZendeskName(sg, settings.nameFormat) || (sg.email ?? '').trim();
}

export function suspensionNote(sgUserId: string, at: Date): string {
  return `[${at.toISOString()}] Suspended by the Storeganise sync: the customer was disabled in Storeganise (user ${sgUserId}). Re-enabling in Storeganise does not unsuspend this user.`;
}

const appendNote = (existing: string, note: string): string =>
  existing.trim() === '' ? note : `${existing.replace(/\s+$/, '')}\n\n${note}`;

const epochMs = (iso: string | null): number | null => {
  const ms = iso === null ? NaN : Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
};

/** Both sides of one field in comparable form. */
function sidesOf(
  field: TwoWayField,
  read: PairRead,
  facts: PairFacts,
  settings: AccountSettings,
): { sides: Record<Side, SideState>; agree: boolean } {
  const { storeganise: sg, zendesk: zd } = read;
  const base = facts.base[field];
  const code = settings.defaultCountryCode;
  const state = (
    side: Side,
    value: string,
    equalsBase: boolean,
    isCurrent: (reported: string) => boolean,
  ): SideState => ({
    value,
    updatedAt: epochMs(side === 'storeganise' ? sg.updatedAt : zd.updatedAt),
    equalsBase,
    isCurrent,
  });
  switch (field) {
    case 'email':
      return {
        agree: sameEmail(sg.email, zd.email),
        sides: {
          storeganise: state(
            'storeganise',
            fieldKey('email', sg.email, code),
            base !== undefined && sameEmail(sg.email, base),
            (r) => sameEmail(r, sg.email),
          ),
          zendesk: state(
            'zendesk',
            fieldKey('email', zd.email, code),
            base !== undefined && sameEmail(zd.email, base),
            (r) => sameEmail(r, zd.email),
          ),
        },
      };
    case 'name': {
      const sgName = zendeskNameOf(sg, settings);
      const zdName = normaliseWhitespace(zd.name);
      const sgHolds = (name: string): boolean =>
        namesAgree(sg, name, settings.nameFormat) || sgName === normaliseWhitespace(name);
      return {
        agree: sgHolds(zd.name),
        sides: {
          storeganise: state('storeganise', sgName, base !== undefined && sgHolds(base), sgHolds),
          zendesk: state('zendesk', zdName, zdName === base, (r) => normaliseWhitespace(r) === zdName),
        },
      };
    }
    case 'phone':
      return {
        agree: samePhone(sg.phone, zd.phone, code),
        sides: {
          storeganise: state(
            'storeganise',
            fieldKey('phone', sg.phone, code),
            base !== undefined && samePhone(sg.phone, base, code),
            (r) => samePhone(r, sg.phone, code),
          ),
          zendesk: state(
            'zendesk',
            fieldKey('phone', zd.phone, code),
            base !== undefined && samePhone(zd.phone, base, code),
            (r) => samePhone(r, zd.phone, code),
          ),
        },
      };
  }
}

/**
 * The minimal writes that converge a linked pair for the fields of this run: each two-way field
 * decided by the conflict model, the one-way fields copied from their source, the pointers kept.
 */
export function planPair(read: PairRead, context: PlanContext): PairPlan {
  const { settings, fields, facts, now, linkOnly } = context;
  const { storeganise: sg, zendesk: zd, contacts, status } = read;
  const plan: PairPlan = { fields: [], zendesk: {}, zendeskPrimaryEmail: null, storeganise: {} };
  const customFields: NonNullable<StoreganiseUserChanges['customFields']> = {};
  const code = settings.defaultCountryCode;

  if (zd.externalId === null || zd.externalId.toLowerCase() !== sg.id.toLowerCase()) plan.zendesk.externalId = sg.id;
  if (sg.zendeskUserId !== zd.id) customFields.zendesk_userId = zd.id;

  if (!linkOnly) {
    for (const field of TWO_WAY_FIELDS) {
      if (!fields.has(field)) continue;
      const { sides, agree } = sidesOf(field, read, facts, settings);
      const decision = decideField(facts, field, sides, agree, now, context.settleMs);
      plan.fields.push(writeDecision(field, decision, read, settings, plan));
    }

    const disabling = fields.has('disabled') && sg.disabled && !zd.suspended;
    if (disabling) {
      plan.zendesk.suspended = true;
      plan.zendesk.notes = appendNote(zd.notes, suspensionNote(sg.id, new Date(now)));
    }
    const key = settings.statusFieldKey;
    const wanted = disabling ? 'deactivated' : status;
    if (
      (fields.has('status') || disabling) &&
      wanted !== null &&
      key !== null &&
      key in zd.userFields &&
      zd.userFields[key] !== wanted
    ) {
      plan.zendesk.userFields = { [key]: wanted };
    }

    if (contacts && fields.has('email')) {
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
    if (contacts && fields.has('phone')) {
      const others = unique(
        contacts.otherPhones.flatMap((p) => phoneToWrite(p, code) ?? []).filter((p) => !samePhone(p, zd.phone, code)),
      );
      if (!sameSet(others, sg.otherPhones)) customFields.zendesk_otherPhones = others;
    }
  }
  if (Object.keys(customFields).length > 0) plan.storeganise.customFields = customFields;
  return plan;
}

/** Turns a field's decision into the write it needs; an empty or invalid winner is never written. */
function writeDecision(
  field: TwoWayField,
  decision: FieldDecision,
  read: PairRead,
  settings: AccountSettings,
  plan: PairPlan,
): FieldPlan {
  if (decision.kind !== 'copy') return { field, decision, writes: null };
  const { storeganise: sg, zendesk: zd } = read;
  const keep = (why: string): FieldPlan => ({ field, decision, writes: null, kept: why });
  const target: Side = decision.from === 'storeganise' ? 'zendesk' : 'storeganise';
  switch (field) {
    case 'email': {
      const email = (decision.from === 'storeganise' ? sg.email : zd.email)?.trim() ?? '';
      if (email === '') return keep('an empty email never erases one');
      if (target === 'zendesk') plan.zendeskPrimaryEmail = email;
      else plan.storeganise.email = email;
      break;
    }
    case 'name': {
      if (target === 'zendesk') {
        const name = zendeskNameOf(sg, settings);
        if (name === '') return keep('an empty name never erases one');
        plan.zendesk.name = name;
      } else {
        const split = splitZendeskName(zd.name, settings.nameFormat);
        if (split === null) return keep('an empty name never erases one');
        // Both parts, always: a person's edit of the other part landing between the read and this
        // write would otherwise leave a name neither side holds, which the sync believes agreed.
        plan.storeganise.firstName = split.firstName;
        plan.storeganise.lastName = split.lastName;
      }
      break;
    }
    case 'phone': {
      const phone = phoneToWrite(decision.from === 'storeganise' ? sg.phone : zd.phone, settings.defaultCountryCode);
      if (phone === null) return keep('an empty or invalid phone is never written');
      if (target === 'zendesk') plan.zendesk.phone = phone;
      else plan.storeganise.phone = phone;
      break;
    }
  }
  return { field, decision, writes: target };
}

/** What actually got written, per side, with the record's change time after the write. */
export interface WriteReceipt {
  storeganise: { written: boolean; email: 'written' | 'conflict' | null; updatedAt: number | null };
  zendesk: { written: boolean; email: 'written' | 'conflict' | null; updatedAt: number | null };
}

/** What the run established per field, once the writes are known. */
export function outcomesOf(plan: PairPlan, read: PairRead, receipt: WriteReceipt): FieldOutcome[] {
  const readAt: Record<Side, number | null> = {
    storeganise: epochMs(read.storeganise.updatedAt),
    zendesk: epochMs(read.zendesk.updatedAt),
  };
  return plan.fields.map((fp): FieldOutcome => {
    const { field, decision } = fp;
    if (decision.kind === 'agree') return { field, kind: 'agreed', value: decision.value, at: readAt };
    if (decision.kind !== 'copy' || fp.writes === null) return { field, kind: 'unchanged' };
    const written = receipt[fp.writes];
    const landed = field === 'email' ? written.email === 'written' : written.written;
    if (!landed) return { field, kind: 'unchanged' };
    return { field, kind: 'agreed', value: decision.value, at: { ...readAt, [fp.writes]: written.updatedAt } };
  });
}

/** A copy an attempt sent whose answer never came (lost, or the attempt failed beside it): it may have landed. */
export interface UnconfirmedWrite {
  field: TwoWayField;
  /** The side written to. */
  side: Side;
  /** The value copied, in the form the base keeps. */
  value: string;
  /** The source side's change time in the read the value was copied from. */
  sourceAt: number | null;
}

const otherSide = (side: Side): Side => (side === 'zendesk' ? 'storeganise' : 'zendesk');

export function unconfirmedWrites(plan: PairPlan, read: PairRead): UnconfirmedWrite[] {
  return plan.fields.flatMap(({ field, decision, writes }): UnconfirmedWrite[] =>
    decision.kind === 'copy' && writes !== null
      ? [{ field, side: writes, value: decision.value, sourceAt: epochMs(read[otherSide(writes)].updatedAt) }]
      : [],
  );
}

/**
 * The agreements that unconfirmed copies made, where the written side holds the copied value
 * now. Without them the copy's echo would count as a person's edit made when it landed, and win
 * over an edit the source side made after the copy was read.
 */
export function landedWrites(
  read: PairRead,
  facts: PairFacts,
  settings: AccountSettings,
  writes: readonly UnconfirmedWrite[],
): FieldOutcome[] {
  return writes.flatMap(({ field, side, value, sourceAt }): FieldOutcome[] => {
    const { sides } = sidesOf(field, read, { ...facts, base: { ...facts.base, [field]: value } }, settings);
    const written = sides[side];
    if (!written.equalsBase) return [];
    const at: Record<Side, number | null> =
      side === 'storeganise'
        ? { storeganise: written.updatedAt, zendesk: sourceAt }
        : { storeganise: sourceAt, zendesk: written.updatedAt };
    return [{ field, kind: 'agreed', value, at }];
  });
}

/** Storeganise → Zendesk for a customer with no counterpart: everything in the one create request. */
export function planNewZendeskUser(
  sg: StoreganiseCustomer,
  status: CustomerStatus | null,
  context: { settings: AccountSettings; now: number },
): NewZendeskUser {
  const { settings, now } = context;
  const key = settings.statusFieldKey;
  const wanted = sg.disabled ? 'deactivated' : (status ?? 'new_prospect');
  return {
    name: zendeskNameOf(sg, settings),
    email: sg.email?.trim() || null,
    phone: phoneToWrite(sg.phone, settings.defaultCountryCode),
    externalId: sg.id,
    suspended: sg.disabled,
    notes: sg.disabled ? suspensionNote(sg.id, new Date(now)) : null,
    userFields: key === null ? {} : { [key]: wanted },
  };
}

/** The agreement right after a Zendesk user was created from a Storeganise customer. */
export function outcomesOfNewUser(
  user: NewZendeskUser,
  sg: StoreganiseCustomer,
  zendeskCreatedAt: number | null,
  settings: AccountSettings,
): FieldOutcome[] {
  const at = { storeganise: epochMs(sg.updatedAt), zendesk: zendeskCreatedAt };
  const code = settings.defaultCountryCode;
  return [
    { field: 'name', kind: 'agreed', value: normaliseWhitespace(user.name), at },
    ...(user.email
      ? [{ field: 'email' as const, kind: 'agreed' as const, value: fieldKey('email', user.email, code), at }]
      : []),
    ...(user.phone
      ? [{ field: 'phone' as const, kind: 'agreed' as const, value: fieldKey('phone', user.phone, code), at }]
      : []),
  ];
}

export const hasWrites = (changes: object): boolean => Object.keys(changes).length > 0;

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

const unique = (values: string[]): string[] => [...new Set(values)];
