import {
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  patched,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  alreadyAgreed,
  applyOutcomes,
  emptyFacts,
  recordEdits,
  SETTLE_MS,
  TWO_WAY_FIELDS,
  type PairFacts,
  type TwoWayField,
} from '../domain/convergence';
import { SYNC_FIELDS, type SyncField } from '../domain/records';
import {
  customerStatusQuery,
  queueCustomerEventSignal,
  type AccountRef,
  type CustomerEvent,
  type EventOutcome,
  type OutcomeRecord,
  type SyncRunResult,
} from './definitions';
import { syncAccountKey, syncCustomerKey, syncStateKey } from './search-attributes';
import { syncCustomer } from './sync-customer';

export interface CustomerWorkflowInput {
  account: AccountRef;
  /** `sg:{storeganise user id}`, or `zd:{zendesk user id}` for a Zendesk user not linked yet. */
  customer: string;
  /** How long a conflict may wait for an event still on its way (CONFLICT_SETTLE_SECONDS); the model's default when absent. */
  settleMs?: number;
  /** Carried over by continue-as-new. */
  state?: CustomerState;
}

export interface CustomerState {
  facts: PairFacts;
  queue: CustomerEvent[];
  /** Event ids received lately: a redelivery is dropped. */
  seen: string[];
  outcomes: OutcomeRecord[];
  deferred: TwoWayField[];
  /** Workflow time at which deferred conflicts are looked at again without a new event. */
  recheckAt: number | null;
  /** The Zendesk user this entity's runs created: Zendesk announcing its creation is an echo. */
  createdZendeskUserId?: string | null;
  /** The Zendesk user a run of this entity just gave the customer's external id: the announcement is an echo. */
  linkedZendeskUserId?: string | null;
}

/** Recognising the echo of the sync's own external-id write changes which events start a run. */
export const LINK_ECHO_PATCH = 'customer-link-echo';

const SEEN_KEPT = 500;
const OUTCOMES_KEPT = 100;
/** A Zendesk user nobody is linked to holds no facts worth keeping: its entity ends when idle. */
const UNLINKED_IDLE_MS = 10 * 60_000;
/** History length at which an idle entity starts afresh, so waking it replays little. */
const ROLL_AT_HISTORY = 300;

const sideOf = (event: CustomerEvent): 'storeganise' | 'zendesk' | null =>
  event.source === 'storeganise' || event.source === 'zendesk' ? event.source : null;

/** The state of one customer's entity: what it knows about the pair and the events not yet run. */
class CustomerEntity {
  facts: PairFacts;
  readonly queue: CustomerEvent[];
  private readonly seen: string[];
  readonly outcomes: OutcomeRecord[];
  deferred: TwoWayField[];
  recheckAt: number | null;
  createdZendeskUserId: string | null;
  linkedZendeskUserId: string | null;
  running: string | null = null;

  constructor(state: CustomerState | undefined) {
    this.facts = state?.facts ?? emptyFacts();
    this.queue = [...(state?.queue ?? [])];
    this.seen = [...(state?.seen ?? [])];
    this.outcomes = [...(state?.outcomes ?? [])];
    this.deferred = [...(state?.deferred ?? [])];
    this.recheckAt = state?.recheckAt ?? null;
    this.createdZendeskUserId = state?.createdZendeskUserId ?? null;
    this.linkedZendeskUserId = state?.linkedZendeskUserId ?? null;
  }

  /** An accepted event: its edits are facts from the moment it arrives, whenever it runs. */
  receive(event: CustomerEvent): void {
    if (this.seen.includes(event.eventId)) return;
    this.seen.push(event.eventId);
    if (this.seen.length > SEEN_KEPT) this.seen.splice(0, this.seen.length - SEEN_KEPT);
    const side = sideOf(event);
    if (side !== null && event.at !== null && event.edits.length > 0)
      this.facts = recordEdits(this.facts, side, event.at, event.edits);
    this.queue.push(event);
  }

  record(event: Pick<CustomerEvent, 'eventId' | 'source'>, outcome: EventOutcome, by: string | null = null): void {
    const { eventId, source } = event;
    this.outcomes.push({ eventId, source, outcome, by, at: Date.now() });
    // One line per event outcome, identifiers only (the worker's log is JSON, one object per line).
    const { workflowId } = workflowInfo();
    log.info('event outcome', { customerWorkflow: workflowId, eventId, outcome, ...(by === null ? {} : { by }) });
    if (this.outcomes.length > OUTCOMES_KEPT) this.outcomes.splice(0, this.outcomes.length - OUTCOMES_KEPT);
  }

  /** An event that tells nothing the pair does not already agree on (the echo of the sync's own write). */
  private isEcho(event: CustomerEvent): boolean {
    const side = sideOf(event);
    if (side === null || event.at === null) return false;
    if (
      event.type.endsWith('user.created') &&
      event.zendeskUserId !== null &&
      event.zendeskUserId === this.createdZendeskUserId
    )
      return true;
    if (
      event.type.endsWith('user.external_id_changed') &&
      event.zendeskUserId !== null &&
      event.zendeskUserId === this.linkedZendeskUserId &&
      patched(LINK_ECHO_PATCH)
    ) {
      // Once: a later change of the external id is an agent's, and gets its run.
      this.linkedZendeskUserId = null;
      return true;
    }
    const reported = new Set<SyncField>(event.edits.map((e) => e.field));
    return (
      !event.contactsChanged &&
      event.fields.every((f) => reported.has(f)) &&
      alreadyAgreed(this.facts, side, event.at, event.edits)
    );
  }

  recheckDue(now: number): boolean {
    return this.recheckAt !== null && now >= this.recheckAt;
  }

  /** The events to run next, all in one run; null when nothing needs a run. */
  takeBatch(now: number): { lead: CustomerEvent; covers: CustomerEvent[]; fields: SyncField[] } | null {
    const waiting = this.queue.splice(0, this.queue.length);
    const batch: CustomerEvent[] = [];
    for (const event of waiting) {
      if (this.isEcho(event)) this.record(event, 'echo');
      else batch.push(event);
    }
    const recheck = this.recheckDue(now);
    const lead = batch.at(-1) ?? (recheck ? this.settleEvent() : undefined);
    if (lead === undefined) return null;
    const wanted = new Set<SyncField>([
      ...batch.flatMap((e) => e.fields),
      ...(batch.length > 0 || recheck ? this.deferred : []),
    ]);
    return { lead, covers: batch.slice(0, -1), fields: SYNC_FIELDS.filter((f) => wanted.has(f)) };
  }

  private settleEvent(): CustomerEvent {
    const eventId = `settle-${uuid4()}`;
    return {
      eventId,
      workflowId: `${workflowInfo().workflowId}:${eventId}`,
      source: 'reconcile',
      type: 'settle',
      at: null,
      edits: [],
      fields: [],
      contactsChanged: false,
      zendeskUserId: null,
      linkOnly: false,
      mayCreate: false,
    };
  }

  /** Folds a completed run into the facts. */
  apply(result: SyncRunResult, evaluated: readonly SyncField[], now: number, settleMs: number): void {
    this.facts = applyOutcomes(this.facts, result.zendeskUserId, result.fields);
    if (result.written.zendesk.includes('user')) this.createdZendeskUserId = result.zendeskUserId;
    if (result.written.zendesk.includes('externalId')) this.linkedZendeskUserId = result.zendeskUserId;
    const stillWaiting = this.deferred.filter((f) => !evaluated.includes(f));
    this.deferred = TWO_WAY_FIELDS.filter((f) => stillWaiting.includes(f) || result.deferred.includes(f));
    this.recheckAt = this.deferred.length === 0 ? null : (this.recheckAt ?? now + settleMs);
    if (this.recheckAt !== null && this.recheckAt <= now) this.recheckAt = now + settleMs;
  }

  state(): CustomerState {
    return {
      facts: this.facts,
      queue: this.queue,
      seen: this.seen,
      outcomes: this.outcomes,
      deferred: this.deferred,
      recheckAt: this.recheckAt,
      createdZendeskUserId: this.createdZendeskUserId,
      linkedZendeskUserId: this.linkedZendeskUserId,
    };
  }
}

/**
 * One per customer, for as long as the customer exists: serialises the customer's events, keeps
 * what the conflict model needs to know about the pair (domain/convergence.ts), and runs each batch
 * of waiting events as one child workflow named after the newest of them.
 */
export async function customerWorkflow(input: CustomerWorkflowInput): Promise<void> {
  const entity = new CustomerEntity(input.state);
  const unlinked = input.customer.startsWith('zd:');

  // ---- messages --------------------------------------------------------------------------------
  setHandler(queueCustomerEventSignal, (event) => entity.receive(event));
  setHandler(customerStatusQuery, () => ({
    running: entity.running,
    queued: entity.queue.length,
    deferred: entity.deferred,
    outcomes: entity.outcomes,
  }));

  // ---- main loop -------------------------------------------------------------------------------
  for (;;) {
    const hasWork = (): boolean => entity.queue.length > 0 || entity.recheckDue(Date.now());
    const wait =
      entity.recheckAt !== null ? Math.max(0, entity.recheckAt - Date.now()) : unlinked ? UNLINKED_IDLE_MS : null;
    const woke = wait === null ? await condition(hasWork) : await condition(hasWork, wait);
    if (!woke && entity.recheckAt === null) {
      await condition(allHandlersFinished);
      if (entity.queue.length === 0) return;
    }

    const batch = entity.takeBatch(Date.now());
    if (batch !== null) await run(entity, input, batch);

    if (
      entity.queue.length === 0 &&
      (workflowInfo().historyLength > ROLL_AT_HISTORY || workflowInfo().continueAsNewSuggested)
    ) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof customerWorkflow>({ ...input, state: entity.state() });
    }
  }
}

async function run(
  entity: CustomerEntity,
  input: CustomerWorkflowInput,
  batch: NonNullable<ReturnType<CustomerEntity['takeBatch']>>,
): Promise<void> {
  const { lead, covers, fields } = batch;
  const all = [...covers, lead];
  entity.running = lead.workflowId;
  try {
    const result = await executeChild(syncCustomer, {
      workflowId: lead.workflowId,
      args: [
        {
          account: input.account,
          customer: input.customer,
          lead,
          covers: covers.map((e) => e.eventId),
          fields,
          facts: entity.facts,
          mayCreate: all.some((e) => e.mayCreate),
          linkOnly: all.every((e) => e.linkOnly),
          // Only Zendesk changes (or a run comparing everything) can change its other emails and phones.
          readContacts: all.some((e) => e.source !== 'storeganise' && e.source !== 'rental'),
          repair: all.every((e) => e.source === 'reconcile' && e.type !== 'settle'),
          ...(input.settleMs === undefined ? {} : { settleMs: input.settleMs }),
        },
      ],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // Terminating an entity (an operator's act) must not terminate the customer's run in flight.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: syncAccountKey, value: input.account.subdomain },
        { key: syncCustomerKey, value: input.customer },
        { key: syncStateKey, value: 'running' },
      ],
    });
    entity.apply(result, fields, Date.now(), input.settleMs ?? SETTLE_MS);
    entity.record(lead, result.outcome);
    for (const event of covers) entity.record(event, 'coalesced', lead.workflowId);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      // The lead ran before (a redelivery older than the ids kept): the others still need their run.
      entity.record(lead, 'duplicate');
      entity.queue.unshift(...covers);
    } else {
      // The run failed or was terminated: it is visible as such; the customer's later events still run.
      log.warn('customer run did not complete', {
        workflowId: lead.workflowId,
        error: err instanceof Error ? err.message : String(err),
      });
      for (const event of all) entity.record(event, 'failed', event === lead ? null : lead.workflowId);
    }
  } finally {
    entity.running = null;
  }
}
