import { contactsOf, type ZendeskIdentity } from '../adapters/zendesk';
import { emptyFacts, TWO_WAY_FIELDS, type PairFacts, type TwoWayField } from '../domain/convergence';
import { fieldKey, hasWrites, planPair, zendeskNameOf, type PairPlan, type PairRead } from '../domain/pair-plan';
import { normaliseWhitespace } from '../domain/names';
import { SYNC_FIELDS, type StoreganiseCustomer, type SyncField, type ZendeskCustomer } from '../domain/records';
import type { AccountSettings } from '../domain/settings';
import type { CustomerStatus } from '../domain/status';
import type { CustomerEvent, SyncRunResult } from '../workflows/definitions';
import { isCounterpart } from './counterparts';

// Pure decisions of the bulk work (reconciliation, import, full sync): which customers need a run,
// for which fields, what a run is expected to cost in Zendesk calls, the event queued on the
// customer's entity, and what a finished run counts as. No I/O: the bulk activities feed it what
// they read in bulk, and the run itself reads again before it writes.

/**
 * What a customer needs:
 * - `converge`: a linked pair whose sides differ;
 * - `link`: a pair found in bulk that is not (fully) linked yet; its fields follow the mode;
 * - `create`: a never-linked customer nobody in Zendesk holds: the run creates the Zendesk user
 *   (or links, if one appeared meanwhile), or raises the email conflict when the address is taken;
 * - `repoint`: the pointed Zendesk user is gone or deleted while an active user holds the email
 *   (the merge case): the run repairs the pointer.
 */
export type WorkKind = 'converge' | 'link' | 'create' | 'repoint';

export interface WorkItem {
  sgId: string;
  kind: WorkKind;
  /** The Zendesk user the run reads beside the customer (the event's `zendeskUserId`). */
  hint: string | null;
  fields: SyncField[];
  linkOnly: boolean;
  mayCreate: boolean;
  /** Zendesk calls the run is expected to make: what the pacer reserves for it. */
  calls: number;
}

/**
 * `import`: first contact only links (copies no field) and creates, as a Zendesk user met for the
 * first time does; `full`: every pair ends equal, decided by the conflict model.
 */
export type BulkMode = 'import' | 'full';

/** A Zendesk user as the bulk reads hold it: the record, and its identities when they were read. */
export interface KnownZendeskUser {
  user: ZendeskCustomer;
  identities: ZendeskIdentity[] | null;
}

/** What a pair needs: the fields a run must compare, and whether a pointer is missing. */
export interface PairNeeds {
  fields: SyncField[];
  pointers: boolean;
  calls: number;
}

/** The key the conflict model keeps a side's value of a field in (what `equalsBase` compares against). */
function ownKey(
  field: TwoWayField,
  side: 'storeganise' | 'zendesk',
  sg: StoreganiseCustomer,
  zd: ZendeskCustomer,
  settings: AccountSettings,
): string {
  const code = settings.defaultCountryCode;
  if (field === 'name')
    return side === 'storeganise' ? normaliseWhitespace(zendeskNameOf(sg, settings)) : normaliseWhitespace(zd.name);
  const raw =
    side === 'storeganise' ? (field === 'email' ? sg.email : sg.phone) : field === 'email' ? zd.email : zd.phone;
  return fieldKey(field, raw, code);
}

/** Facts under which `side` holds the agreed value of every two-way field: the plan copies the other side over it. */
function factsFavouring(
  changed: 'storeganise' | 'zendesk',
  sg: StoreganiseCustomer,
  zd: ZendeskCustomer,
  settings: AccountSettings,
): PairFacts {
  const unchanged = changed === 'storeganise' ? 'zendesk' : 'storeganise';
  const facts = emptyFacts(zd.id);
  for (const field of TWO_WAY_FIELDS) facts.base[field] = ownKey(field, unchanged, sg, zd, settings);
  return facts;
}

/**
 * Whether a pair differs in any way a run would write, compared exactly as a run compares (the
 * pair planner): a two-way field needs a run when copying either side over the other writes
 * something (an empty or invalid value on both sides never does); a one-way field when its
 * source's value is not on the other side; the pointers when either is missing. Null: nothing to do.
 */
export function pairNeeds(
  sg: StoreganiseCustomer,
  known: KnownZendeskUser,
  status: CustomerStatus | null,
  settings: AccountSettings,
  now: number,
): PairNeeds | null {
  const zd = known.user;
  const read: PairRead = {
    storeganise: sg,
    zendesk: zd,
    contacts: known.identities === null ? null : contactsOf(known.identities),
    status,
  };
  const plan = (facts: PairFacts): PairPlan =>
    planPair(read, { settings, fields: new Set(SYNC_FIELDS), facts, now, linkOnly: false, settleMs: 0 });
  const toStoreganise = plan(factsFavouring('zendesk', sg, zd, settings));
  const toZendesk = plan(factsFavouring('storeganise', sg, zd, settings));
  const fields = new Set<SyncField>();
  for (const field of TWO_WAY_FIELDS) {
    const writes = [toStoreganise, toZendesk].some((p) => p.fields.some((f) => f.field === field && f.writes !== null));
    if (writes) fields.add(field);
  }
  const custom = toStoreganise.storeganise.customFields ?? {};
  if (custom.zendesk_otherEmails !== undefined) fields.add('email');
  if (custom.zendesk_otherPhones !== undefined) fields.add('phone');
  if (toStoreganise.zendesk.userFields !== undefined) fields.add('status');
  if (toStoreganise.zendesk.suspended !== undefined) fields.add('disabled');
  const pointers = toStoreganise.zendesk.externalId !== undefined || custom.zendesk_userId !== undefined;
  if (fields.size === 0 && !pointers) return null;
  const ordered = SYNC_FIELDS.filter((f) => fields.has(f));
  return { fields: ordered, pointers, calls: runCalls(ordered, toZendesk) };
}

/**
 * A hinted run's Zendesk calls, at most: the user read, its identities when email or phone are
 * compared, the user write, the primary email's identity write (when Storeganise's value wins),
 * and the read of the run its `external_id` write causes (Zendesk announces a changed link).
 */
function runCalls(fields: readonly SyncField[], toZendesk: PairPlan): number {
  const contacts = fields.includes('email') || fields.includes('phone') ? 1 : 0;
  const userWrite = hasWrites(toZendesk.zendesk) ? 1 : 0;
  const emailWrite = toZendesk.zendeskPrimaryEmail !== null ? 1 : 0;
  const linkEcho = toZendesk.zendesk.externalId !== undefined ? 1 : 0;
  return 1 + contacts + userWrite + emailWrite + linkEcho;
}

/** A first contact that only links: the user read, the `external_id` write, and the run that write's event causes. */
export const LINK_CALLS = 3;

/** What a never-linked customer's create run costs: the external-id and email searches, then the create. */
export const CREATE_CALLS = 3;
/** A pointer repaired by email: the pointed user, the email search, the relink, and a margin for the fields. */
export const REPOINT_CALLS = 4;

/** Everything the full sync knows about Zendesk, read in bulk (the incremental export from the start). */
export interface ZendeskIndex {
  byId: Map<string, KnownZendeskUser>;
  /** Active users by external id, lower-cased (Zendesk compares them without case). */
  byExternalId: Map<string, string>;
  /** Active users by primary email, lower-cased. */
  byEmail: Map<string, string>;
}

export function emptyZendeskIndex(): ZendeskIndex {
  return { byId: new Map(), byExternalId: new Map(), byEmail: new Map() };
}

/** Adds (or replaces) users read in bulk; a later read of a user replaces the earlier one. */
export function indexZendeskUsers(index: ZendeskIndex, users: readonly KnownZendeskUser[]): void {
  for (const known of users) {
    const previous = index.byId.get(known.user.id);
    if (previous) {
      const ext = previous.user.externalId?.toLowerCase();
      if (ext !== undefined && index.byExternalId.get(ext) === previous.user.id) index.byExternalId.delete(ext);
      const email = previous.user.email?.trim().toLowerCase();
      if (email !== undefined && index.byEmail.get(email) === previous.user.id) index.byEmail.delete(email);
    }
    index.byId.set(known.user.id, known);
    if (!known.user.active) continue;
    if (known.user.externalId !== null) index.byExternalId.set(known.user.externalId.toLowerCase(), known.user.id);
    const email = known.user.email?.trim().toLowerCase();
    if (email) index.byEmail.set(email, known.user.id);
  }
}

const activeUser = (index: ZendeskIndex, id: string | undefined): KnownZendeskUser | null => {
  const known = id === undefined ? undefined : index.byId.get(id);
  return known !== undefined && known.user.active ? known : null;
};

function createItem(sg: StoreganiseCustomer, mode: BulkMode): WorkItem {
  // Import: a user found meanwhile is only linked. Full sync: as a `user.created` would, everything.
  return {
    sgId: sg.id,
    kind: 'create',
    hint: null,
    fields: mode === 'import' ? [] : [...SYNC_FIELDS],
    linkOnly: mode === 'import',
    mayCreate: true,
    calls: CREATE_CALLS,
  };
}

function linkItem(
  sg: StoreganiseCustomer,
  known: KnownZendeskUser,
  mode: BulkMode,
  status: CustomerStatus | null,
  settings: AccountSettings,
  now: number,
): WorkItem {
  if (mode === 'import')
    return {
      sgId: sg.id,
      kind: 'link',
      hint: known.user.id,
      fields: [],
      linkOnly: true,
      mayCreate: false,
      calls: LINK_CALLS,
    };
  const needs = pairNeeds(sg, known, status, settings, now);
  return {
    sgId: sg.id,
    kind: 'link',
    hint: known.user.id,
    fields: needs?.fields ?? [],
    linkOnly: false,
    mayCreate: false,
    calls: needs?.calls ?? LINK_CALLS,
  };
}

/**
 * What one Storeganise customer needs, given everything read of Zendesk (the full sync and the
 * import). Null: nothing (already in line, or a deletion in Zendesk respected).
 */
export function classifyAgainstIndex(
  sg: StoreganiseCustomer,
  index: ZendeskIndex,
  mode: BulkMode,
  status: CustomerStatus | null,
  settings: AccountSettings,
  now: number,
): WorkItem | null {
  const email = sg.email?.trim().toLowerCase() || null;
  const holder = email === null ? null : activeUser(index, index.byEmail.get(email));
  if (sg.zendeskUserId === null) {
    const byExternalId = activeUser(index, index.byExternalId.get(sg.id.toLowerCase()));
    if (byExternalId) return linkItem(sg, byExternalId, mode, status, settings, now);
    if (holder && holder.user.externalId === null) return linkItem(sg, holder, mode, status, settings, now);
    // Nobody holds the address (create), or a user linked to another customer does: the run
    // raises the email conflict, as the customer's own event would.
    return createItem(sg, mode);
  }
  const pointed = activeUser(index, sg.zendeskUserId);
  if (pointed && isCounterpart(pointed.user, sg)) {
    if (mode === 'import') {
      const linked = pointed.user.externalId !== null && pointed.user.externalId.toLowerCase() === sg.id.toLowerCase();
      return linked ? null : linkItem(sg, pointed, mode, status, settings, now);
    }
    const needs = pairNeeds(sg, pointed, status, settings, now);
    return needs === null
      ? null
      : {
          sgId: sg.id,
          kind: 'converge',
          hint: pointed.user.id,
          fields: needs.fields,
          linkOnly: false,
          mayCreate: false,
          calls: needs.calls,
        };
  }
  // The pointed user is gone, deleted or someone else's: repaired by email when an active user
  // free to link holds the address; otherwise the deletion is respected and nothing is to do.
  if (holder && (holder.user.externalId === null || holder.user.externalId.toLowerCase() === sg.id.toLowerCase())) {
    return {
      sgId: sg.id,
      kind: 'repoint',
      hint: null,
      fields: mode === 'import' ? [] : [...SYNC_FIELDS],
      linkOnly: mode === 'import',
      mayCreate: false,
      calls: REPOINT_CALLS,
    };
  }
  return null;
}

/**
 * What a changed pair needs, for reconciliation: `known` is the pointed Zendesk user as read in
 * bulk (null when `show_many` did not find it). A never-linked customer gets what its
 * `user.created` would have done.
 */
export function classifyChangedCustomer(
  sg: StoreganiseCustomer,
  known: KnownZendeskUser | null,
  status: CustomerStatus | null,
  settings: AccountSettings,
  now: number,
): WorkItem | null {
  if (sg.zendeskUserId === null) return createItem(sg, 'full');
  if (known === null || !known.user.active || !isCounterpart(known.user, sg)) {
    return {
      sgId: sg.id,
      kind: 'repoint',
      hint: null,
      fields: [...SYNC_FIELDS],
      linkOnly: false,
      mayCreate: false,
      calls: REPOINT_CALLS,
    };
  }
  const needs = pairNeeds(sg, known, status, settings, now);
  return needs === null
    ? null
    : {
        sgId: sg.id,
        kind: 'converge',
        hint: known.user.id,
        fields: needs.fields,
        linkOnly: false,
        mayCreate: false,
        calls: needs.calls,
      };
}

/**
 * What a changed Zendesk user needs, for reconciliation, given the Storeganise customer its
 * external id names (or, unlinked, the one holding its primary email). Null: nothing, or another
 * pair's business (the customer points at another live user).
 */
export function classifyChangedZendeskUser(
  known: KnownZendeskUser,
  sg: StoreganiseCustomer,
  status: CustomerStatus | null,
  settings: AccountSettings,
  now: number,
): WorkItem | null {
  const zd = known.user;
  if (!zd.active) return null;
  if (sg.zendeskUserId !== null && sg.zendeskUserId !== zd.id) return null;
  if (zd.externalId === null) {
    // First contact, as a webhook of an unlinked user: link the pair, copy nothing.
    return { sgId: sg.id, kind: 'link', hint: zd.id, fields: [], linkOnly: true, mayCreate: false, calls: LINK_CALLS };
  }
  if (zd.externalId.toLowerCase() !== sg.id.toLowerCase()) return null;
  const needs = pairNeeds(sg, known, status, settings, now);
  return needs === null
    ? null
    : {
        sgId: sg.id,
        kind: sg.zendeskUserId === null ? 'link' : 'converge',
        hint: zd.id,
        fields: needs.fields,
        linkOnly: false,
        mayCreate: false,
        calls: needs.calls,
      };
}

/** Which bulk job queued an event: its name in event and run ids, and what its events are. */
export interface BulkJob {
  kind: 'reconcile' | 'import' | 'full-sync';
  /** Unique per job (a reconciliation's cycle, a full sync's run): event ids derive from it. */
  id: string;
}

/**
 * The event a bulk job queues on a customer's entity. Its ids derive from the job and the
 * customer, so queueing it again (a retried step) is recognised by the entity and by Temporal.
 * Differences a linked pair had that no webhook explained are reconciliation's (`reconcile`: a run
 * that writes is a repair); first contacts of an import or full sync are the operator's.
 */
export function bulkEvent(subdomain: string, job: BulkJob, item: WorkItem, phase = ''): CustomerEvent {
  const tag = phase === '' ? job.id : `${job.id}-${phase}`;
  return {
    eventId: `${job.kind}-${tag}-${item.sgId}`,
    workflowId: `${job.kind}:${subdomain}:${tag}:${item.sgId}`,
    source: job.kind === 'reconcile' || item.kind === 'converge' ? 'reconcile' : 'operator',
    type: job.kind,
    at: null,
    edits: [],
    fields: item.fields,
    contactsChanged: true,
    zendeskUserId: item.hint,
    linkOnly: item.linkOnly,
    mayCreate: item.mayCreate,
  };
}

/** What bulk work counts: customers looked at, runs queued and finished, and what became of them. */
export interface BulkCounts {
  /** Customers compared. */
  checked: number;
  /** Customers compared that needed nothing. */
  fine: number;
  /** Runs queued on the customers' entities. */
  queued: number;
  /** Queued runs whose outcome is known. */
  finished: number;
  linked: number;
  created: number;
  repaired: number;
  conflicts: number;
  errors: number;
  /** Finished runs that wrote nothing (the pair was already in line when the run read it). */
  unchanged: number;
}

export const emptyCounts = (): BulkCounts => ({
  checked: 0,
  fine: 0,
  queued: 0,
  finished: 0,
  linked: 0,
  created: 0,
  repaired: 0,
  conflicts: 0,
  errors: 0,
  unchanged: 0,
});

export type RunTally = 'linked' | 'created' | 'repaired' | 'conflicts' | 'errors' | 'unchanged';

/**
 * What a finished run counts as for the job that queued `eventId`: null `result` means the run
 * failed (or was terminated). `led`: the job's event led the run (a run led by a person's event
 * is theirs, never a repair).
 */
export function tallyRun(result: Pick<SyncRunResult, 'outcome' | 'written'> | null, led: boolean): RunTally {
  if (result === null || result.outcome === 'rejected' || result.outcome === 'failed') return 'errors';
  if (result.outcome === 'conflict') return 'conflicts';
  if (result.written.zendesk.includes('user')) return 'created';
  if (result.written.storeganise.includes('zendesk_userId') || result.written.zendesk.includes('externalId'))
    return 'linked';
  if (led && result.outcome === 'repaired') return 'repaired';
  return 'unchanged';
}

export function addTally(counts: BulkCounts, tally: RunTally): BulkCounts {
  return { ...counts, finished: counts.finished + 1, [tally]: counts[tally] + 1 };
}
