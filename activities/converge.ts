import { StoreganiseConflict, StoreganiseRejected, type StoreganiseClient } from '../adapters/storeganise';
import { ZendeskDuplicateValue, ZendeskRejected, type ZendeskClient, type ZendeskIdentity } from '../adapters/zendesk';
import { contactsOf } from '../adapters/zendesk';
import { Context } from '@temporalio/activity';
import {
  applyOutcomes,
  emptyFacts,
  type FieldOutcome,
  type PairFacts,
  type Side,
  type TwoWayField,
} from '../domain/convergence';
import {
  hasWrites,
  landedWrites,
  outcomesOf,
  outcomesOfNewUser,
  planNewZendeskUser,
  planPair,
  type PairPlan,
  type PairRead,
  type StoreganiseUserChanges,
  unconfirmedWrites,
  type UnconfirmedWrite,
  type WriteReceipt,
} from '../domain/pair-plan';
import type { StoreganiseCustomer, SyncField, ZendeskCustomer } from '../domain/records';
import type { AccountSettings } from '../domain/settings';
import { customerStatus } from '../domain/status';
import { emailConflictTask, syncErrorTask, type EmailHolder, type TaskRequest } from '../domain/tasks';
import type { AccountRef, EventOutcome, SyncRunResult } from '../workflows/definitions';
import { emailHolder, findStoreganiseCounterpart, findZendeskCounterpart, isCounterpart } from './counterparts';
import { ensureUserCustomFields } from './custom-fields';
import type { SyncServices } from './services';

export interface ConvergeInput {
  account: AccountRef;
  /** `sg:{storeganise user id}` or `zd:{zendesk user id}`. */
  customer: string;
  /** The Zendesk user the run expects: the event's, or the one the facts are about. */
  zendeskUserId: string | null;
  fields: SyncField[];
  facts: PairFacts;
  mayCreate: boolean;
  linkOnly: boolean;
  /** Read Zendesk's identities for its other emails and phones (a Storeganise edit cannot change them). */
  readContacts: boolean;
  /** Reconciliation alone asked for the run: what it writes is a repair. */
  repair?: boolean;
  /** Workflow time of the run, epoch ms. */
  now: number;
  settleMs?: number;
}

export type ConvergeResult =
  | { kind: 'invalid-settings'; problems: string[] }
  | ({ kind: 'done'; tasks: TaskRequest[] } & Omit<SyncRunResult, 'notes'> & { notes: string[] });

/** Collects what a run read, decided and wrote, and turns it into its result. */
class RunStory {
  readonly notes: string[] = [];
  readonly tasks: TaskRequest[] = [];
  readonly written: Record<Side, string[]> = { storeganise: [], zendesk: [] };
  fields: FieldOutcome[] = [];
  deferred: TwoWayField[] = [];
  resolved: SyncRunResult['resolved'] = [];
  storeganiseUserId: string | null = null;
  zendeskUserId: string | null = null;
  rejected = false;
  conflict = false;

  note(line: string): void {
    this.notes.push(line);
  }

  task(request: TaskRequest, why: string): void {
    this.tasks.push(request);
    this.note(`admin task "${request.task.title}": ${why}`);
  }

  result(outcome?: EventOutcome): ConvergeResult {
    const wrote = this.written.storeganise.length + this.written.zendesk.length > 0;
    const decided: EventOutcome = this.rejected
      ? 'rejected'
      : this.conflict
        ? 'conflict'
        : wrote
          ? 'synced'
          : this.deferred.length > 0
            ? 'deferred'
            : 'unchanged';
    return {
      kind: 'done',
      outcome: outcome ?? decided,
      storeganiseUserId: this.storeganiseUserId,
      zendeskUserId: this.zendeskUserId,
      fields: this.fields,
      deferred: this.deferred,
      resolved: this.resolved,
      written: this.written,
      notes: this.notes,
      tasks: this.tasks,
    };
  }
}

/** The records were read too long ago to write from; the attempt reads again (and after a few, the activity retries). */
export class StaleRead extends Error {
  constructor() {
    super('the records were read too long before the write: reading again');
    this.name = 'StaleRead';
  }
}

const epochMs = (iso: string | null): number | null => {
  const ms = iso === null ? NaN : Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
};

/** Why a write was refused, in the words of the side that refused it (for an admin task, never a log). */
const refusal = (err: ZendeskRejected | ZendeskDuplicateValue | StoreganiseRejected, side: string): string =>
  `${side} refused the write: ${err.detail ?? err.message}`;

/**
 * The one activity of a run: reads both records of a customer (in parallel), decides every field
 * of the run with the conflict model, and writes only what differs, all in one attempt. A retry
 * (after an outage, a lost answer or a new authorization) reads again and decides again, so a
 * write is never sent from a stale read, and a write that already landed is not repeated.
 */
export function convergeActivities(services: SyncServices) {
  return {
    async convergeCustomer(input: ConvergeInput): Promise<ConvergeResult> {
      const settingsResult = await services.settings(input.account);
      if (!settingsResult.ok) return { kind: 'invalid-settings', problems: settingsResult.problems };
      const { settings } = settingsResult;
      const storeganise = services.storeganise(input.account);
      return services.withZendesk(input.account, settings.zendeskInstance, async (zendesk) => {
        const [kind, id] = [input.customer.slice(0, 3), input.customer.slice(3)];
        for (let reads = 1; ; reads++) {
          const sides: Sides = { zendesk, storeganise, settings, story: new RunStory(), readAt: Date.now() };
          try {
            if (kind === 'zd:') return await linkZendeskUser(sides, id);
            return await convergeStoreganiseCustomer(sides, id, input);
          } catch (err) {
            if (!(err instanceof StaleRead) || reads >= FRESH_READS_TRIED) throw err;
          }
        }
      });
    },
  };
}

interface Sides {
  zendesk: ZendeskClient;
  storeganise: StoreganiseClient;
  settings: AccountSettings;
  story: RunStory;
  /** When this attempt started reading: no write goes out from a read older than MAX_READ_AGE_MS. */
  readAt: number;
}

/**
 * Neither API has a conditional write, so the only guard against overwriting an edit made after
 * the read is a short read-to-write gap. Under load that gap grows inside the process (responses
 * wait their turn on the event loop): past this age the attempt reads again before it writes.
 */
const MAX_READ_AGE_MS = 500;
const FRESH_READS_TRIED = 3;

/**
 * Per run and customer, the copies its failed attempts sent without an answer. The next attempt
 * (the activity's retries run in this process) folds those that landed into the facts before it
 * decides. Lost only if the worker dies between attempts; see docs/convergence.md.
 */
const unconfirmed = new Map<string, { writes: UnconfirmedWrite[]; at: number }>();
const UNCONFIRMED_KEPT_MS = 30 * 60_000;

function remember(attempt: string, writes: UnconfirmedWrite[]): void {
  const now = Date.now();
  for (const [key, entry] of unconfirmed) if (now - entry.at > UNCONFIRMED_KEPT_MS) unconfirmed.delete(key);
  unconfirmed.set(attempt, { writes, at: now });
}

/** The run's identity across the activity's attempts, or null outside an activity (a script, a test). */
function attemptKey(customer: string): string | null {
  let run: { workflowId: string; runId: string } | undefined;
  try {
    run = Context.current().info.workflowExecution;
  } catch {
    return null;
  }
  return run === undefined ? null : `${run.workflowId}/${run.runId}/${customer}`;
}

/** First contact with a Zendesk user no customer is linked to: link by primary email, copy nothing. */
async function linkZendeskUser(sides: Sides, zendeskUserId: string): Promise<ConvergeResult> {
  const { zendesk, storeganise, story } = sides;
  const zd = await zendesk.getUser(zendeskUserId);
  if (zd === null || !zd.active) return story.result('gone');
  story.zendeskUserId = zd.id;
  const lookup = await findStoreganiseCounterpart(storeganise, zendesk, zd);
  if (lookup.kind === 'none') {
    story.note(`not a Storeganise customer: ${lookup.reason}`);
    return story.result('unlinked');
  }
  story.storeganiseUserId = lookup.customer.id;
  story.note(`found Storeganise user ${lookup.customer.id} by ${lookup.via}: link only`);
  const read: PairRead = { storeganise: lookup.customer, zendesk: zd, contacts: null, status: null };
  const plan = planPair(read, {
    settings: sides.settings,
    fields: new Set(),
    facts: emptyFacts(),
    now: 0,
    linkOnly: true,
  });
  await write(sides, plan, lookup.customer, zd, null);
  return story.result(story.written.storeganise.length + story.written.zendesk.length > 0 ? 'linked' : 'unchanged');
}

async function convergeStoreganiseCustomer(
  sides: Sides,
  userId: string,
  input: ConvergeInput,
): Promise<ConvergeResult> {
  const { zendesk, storeganise, settings, story } = sides;
  const fields = new Set(input.fields);
  const withContacts = input.readContacts && (fields.has('email') || fields.has('phone'));
  // A primary email written to Zendesk goes through its identities: read them beside the records
  // rather than one round trip after them.
  const withIdentities = withContacts || fields.has('email');
  const withStatus =
    settings.statusFieldKey !== null && (fields.has('status') || fields.has('disabled') || input.mayCreate);
  const hint = input.zendeskUserId;
  // Both sides at once: the expected counterpart is read beside the customer, and checked after.
  const [sg, hinted, hintedIdentities, rentals] = await Promise.all([
    storeganise.getUser(userId),
    hint === null ? null : zendesk.getUser(hint),
    hint === null || !withIdentities ? null : zendesk.identitiesOf(hint),
    withStatus ? storeganise.listRentalsOf(userId) : null,
  ]);
  story.storeganiseUserId = userId;
  if (sg === null) {
    story.note('the Storeganise user no longer exists');
    return story.result('gone');
  }
  const status =
    rentals === null ? null : customerStatus({ disabled: sg.disabled, rentalStates: rentals.map((r) => r.state) });
  const confirmed =
    hinted !== null &&
    hinted.active &&
    isCounterpart(hinted, sg) &&
    (sg.zendeskUserId === hinted.id || sg.zendeskUserId === null);
  const lookup = confirmed
    ? ({ kind: 'linked', user: hinted, via: 'pointer', stalePointer: null } as const)
    : await findZendeskCounterpart(zendesk, sg, hinted);

  switch (lookup.kind) {
    case 'deleted':
      story.note(
        `the linked Zendesk user ${lookup.pointer} was deleted and no active user holds the email: the deletion is respected, the pointer kept, nothing created`,
      );
      return story.result('deleted');
    case 'email-taken':
      story.conflict = true;
      story.task(
        emailConflictTask({
          email: sg.email ?? '',
          storeganiseUserId: sg.id,
          zendeskUserId: null,
          holder: lookup.holder,
          refusedBy: 'Zendesk',
        }),
        'the email belongs to a Zendesk user linked to another customer',
      );
      return story.result();
    case 'none':
      if (!input.mayCreate) {
        story.note('no Zendesk counterpart; this event does not create one');
        return story.result('unlinked');
      }
      return createCounterpart(sides, sg, status, input.now);
    case 'linked': {
      const zd = lookup.user;
      story.zendeskUserId = zd.id;
      story.note(
        `found Zendesk user ${zd.id} by ${lookup.via}${lookup.stalePointer ? ` (stale pointer ${lookup.stalePointer} repaired)` : ''}`,
      );
      const identities = zd.id === hint ? hintedIdentities : withContacts ? await zendesk.identitiesOf(zd.id) : null;
      const read: PairRead = {
        storeganise: sg,
        zendesk: zd,
        contacts: identities === null || !withContacts ? null : contactsOf(identities),
        status,
      };
      // Facts about another Zendesk user say nothing about this one.
      const known =
        input.facts.zendeskUserId === null || input.facts.zendeskUserId === zd.id ? input.facts : emptyFacts(zd.id);
      const attempt = attemptKey(input.customer);
      const earlier = attempt === null ? [] : (unconfirmed.get(attempt)?.writes ?? []);
      const landed = landedWrites(read, known, settings, earlier);
      if (landed.length > 0) story.note(`an earlier attempt's copy landed: ${landed.map((o) => o.field).join(', ')}`);
      const plan = planPair(read, {
        settings,
        fields,
        facts: applyOutcomes(known, zd.id, landed),
        now: input.now,
        linkOnly: input.linkOnly,
        ...(input.settleMs === undefined ? {} : { settleMs: input.settleMs }),
      });
      describePlan(story, plan);
      let receipt: WriteReceipt;
      try {
        receipt = await write(sides, plan, sg, zd, identities);
      } catch (err) {
        if (attempt !== null && !(err instanceof StaleRead))
          remember(attempt, [...earlier, ...unconfirmedWrites(plan, read)]);
        throw err;
      }
      if (attempt !== null) unconfirmed.delete(attempt);
      story.fields = [...landed, ...outcomesOf(plan, read, receipt)];
      const wrote = story.written.storeganise.length + story.written.zendesk.length > 0;
      return story.result(
        input.repair === true && wrote && !story.rejected && !story.conflict ? 'repaired' : undefined,
      );
    }
  }
}

function describePlan(story: RunStory, plan: PairPlan): void {
  for (const { field, decision, writes, kept } of plan.fields) {
    if (decision.kind === 'agree') continue;
    if (decision.kind === 'defer') {
      story.deferred.push(field);
      story.note(`${field}: waits: ${decision.reason}`);
      continue;
    }
    if (decision.reason !== 'only-change')
      story.resolved.push({ field, winner: decision.from, reason: decision.reason });
    const why = {
      'only-change': 'only it changed',
      'later-edit': 'both changed, its edit was made later',
      'same-moment': 'both changed at the same moment, Storeganise wins ties',
      settled: 'both changed, decided on the events received',
    }[decision.reason];
    story.note(
      `${field}: ${decision.from} wins (${why})${writes ? `: written to ${writes}` : `: ${kept ?? 'nothing to write'}`}`,
    );
  }
}

/** A never-linked customer gets a Zendesk user in one request; a retry after a lost answer finds it by external id. */
async function createCounterpart(
  sides: Sides,
  sg: StoreganiseCustomer,
  status: ReturnType<typeof customerStatus> | null,
  now: number,
): Promise<ConvergeResult> {
  const { zendesk, settings, story } = sides;
  const user = planNewZendeskUser(sg, status, { settings, now });
  let created: ZendeskCustomer;
  try {
    created = await zendesk.createUser(user);
  } catch (err) {
    if (!(err instanceof ZendeskDuplicateValue)) throw err;
    const holder = await emailHolder(zendesk, user.email);
    story.conflict = true;
    story.task(
      emailConflictTask({
        email: user.email ?? '',
        storeganiseUserId: sg.id,
        zendeskUserId: null,
        holder: holder && { zendeskUserId: holder.id, storeganiseUserId: holder.externalId },
        refusedBy: 'Zendesk',
      }),
      'Zendesk refused the new user: its email belongs to another user',
    );
    return story.result();
  }
  story.zendeskUserId = created.id;
  story.written.zendesk.push('user');
  story.note(`created Zendesk user ${created.id}`);
  const linked = await writeStoreganise(sides, sg, { customFields: { zendesk_userId: created.id } }, created.id);
  story.fields = linked.written ? outcomesOfNewUser(user, sg, epochMs(created.updatedAt), settings) : [];
  return story.result('synced');
}

/** Both sides' writes at once; each side's own calls in order. */
async function write(
  sides: Sides,
  plan: PairPlan,
  sg: StoreganiseCustomer,
  zd: ZendeskCustomer,
  identities: ZendeskIdentity[] | null,
): Promise<WriteReceipt> {
  const writes = hasWrites(plan.zendesk) || plan.zendeskPrimaryEmail !== null || hasWrites(plan.storeganise);
  if (writes && Date.now() - sides.readAt > MAX_READ_AGE_MS) throw new StaleRead();
  const [zendesk, storeganise] = await Promise.all([
    writeZendesk(sides, plan, sg, zd, identities),
    writeStoreganise(sides, sg, plan.storeganise, zd.id),
  ]);
  return { zendesk, storeganise };
}

async function writeZendesk(
  sides: Sides,
  plan: PairPlan,
  sg: StoreganiseCustomer,
  zd: ZendeskCustomer,
  identities: ZendeskIdentity[] | null,
): Promise<WriteReceipt['zendesk']> {
  const { zendesk, story } = sides;
  const receipt: WriteReceipt['zendesk'] = { written: false, email: null, updatedAt: null };
  const stamp = (at: number | null): void => {
    if (at !== null) receipt.updatedAt = Math.max(receipt.updatedAt ?? at, at);
  };
  const rejected = (err: unknown): boolean => {
    if (!(err instanceof ZendeskRejected || err instanceof ZendeskDuplicateValue)) return false;
    story.rejected = true;
    story.task(
      syncErrorTask({ storeganiseUserId: sg.id, zendeskUserId: zd.id, reason: refusal(err, 'Zendesk') }),
      'a write was rejected',
    );
    return true;
  };
  const user = async (): Promise<void> => {
    if (!hasWrites(plan.zendesk)) return;
    try {
      const updated = await zendesk.updateUser(zd.id, plan.zendesk);
      receipt.written = true;
      stamp(epochMs(updated.updatedAt));
      story.written.zendesk.push(...Object.keys(plan.zendesk));
    } catch (err) {
      if (!rejected(err)) throw err;
    }
  };
  const email = async (address: string): Promise<void> => {
    try {
      stamp(await zendesk.changePrimaryEmail(zd.id, address, identities ?? (await zendesk.listIdentities(zd.id))));
      receipt.email = 'written';
      story.written.zendesk.push('email');
    } catch (err) {
      if (!(err instanceof ZendeskDuplicateValue)) {
        if (!rejected(err)) throw err;
        return;
      }
      receipt.email = 'conflict';
      const holder = (await zendesk.findUsersByEmail(address)).find((u) => u.id !== zd.id) ?? null;
      story.conflict = true;
      story.task(
        emailConflictTask({
          email: address,
          storeganiseUserId: sg.id,
          zendeskUserId: zd.id,
          holder: holder && { zendeskUserId: holder.id, storeganiseUserId: holder.externalId },
          refusedBy: 'Zendesk',
        }),
        'Zendesk already has the email on another user',
      );
    }
  };
  await Promise.all([user(), plan.zendeskPrimaryEmail === null ? null : email(plan.zendeskPrimaryEmail)]);
  return receipt;
}

/** One `PUT`; a taken email is left out, becomes a task, and the rest is written. */
async function writeStoreganise(
  sides: Sides,
  sg: StoreganiseCustomer,
  changes: StoreganiseUserChanges,
  zendeskUserId: string,
): Promise<WriteReceipt['storeganise']> {
  const { storeganise, story } = sides;
  const receipt: WriteReceipt['storeganise'] = { written: false, email: null, updatedAt: null };
  if (!hasWrites(changes)) return receipt;
  let healed = false;
  const put = async (body: StoreganiseUserChanges): Promise<void> => {
    let written: StoreganiseCustomer;
    try {
      written = await storeganise.updateUser(sg.id, body);
    } catch (err) {
      // A zendesk_* user field deleted (or lost to a reset) refuses the write: create it again, once.
      if (!(err instanceof StoreganiseRejected) || body.customFields === undefined || healed) throw err;
      healed = true;
      const created = await ensureUserCustomFields(storeganise);
      if (created.length === 0) throw err;
      story.note(`re-created the missing Storeganise user fields ${created.join(', ')}`);
      written = await storeganise.updateUser(sg.id, body);
    }
    receipt.written = true;
    receipt.updatedAt = epochMs(written.updatedAt);
    story.written.storeganise.push(
      ...Object.keys(body).flatMap((key) => (key === 'customFields' ? Object.keys(body.customFields ?? {}) : [key])),
    );
  };
  try {
    await put(changes);
    if (changes.email !== undefined) receipt.email = 'written';
  } catch (err) {
    if (err instanceof StoreganiseConflict && changes.email !== undefined) {
      receipt.email = 'conflict';
      const found = (await storeganise.findUsersByEmail(changes.email)).find((u) => u.id !== sg.id) ?? null;
      const holder: EmailHolder | null = found && { storeganiseUserId: found.id, zendeskUserId: found.zendeskUserId };
      story.conflict = true;
      story.task(
        emailConflictTask({
          email: changes.email,
          storeganiseUserId: sg.id,
          zendeskUserId,
          holder,
          refusedBy: 'Storeganise',
        }),
        'the email belongs to another Storeganise customer: not overwritten',
      );
      const { email: _refused, ...rest } = changes;
      if (hasWrites(rest)) await put(rest);
      return receipt;
    }
    if (!(err instanceof StoreganiseRejected)) throw err;
    story.rejected = true;
    story.task(
      syncErrorTask({ storeganiseUserId: sg.id, zendeskUserId, reason: refusal(err, 'Storeganise') }),
      'a write was rejected',
    );
  }
  return receipt;
}
