import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { isStoreganiseId, type StoreganiseClient } from '../adapters/storeganise';
import {
  SHOW_MANY_MAX,
  zendeskBudgets,
  ZendeskRateLimited,
  type ExportPage,
  type ExportPosition,
  type ZendeskClient,
} from '../adapters/zendesk';
import { queueCustomerEvent } from '../client/customers';
import type { StoreganiseCustomer } from '../domain/records';
import type { AccountSettings } from '../domain/settings';
import { customerStatus, type CustomerStatus } from '../domain/status';
import { reconcileWorkflow } from '../workflows/reconcile';
import { fullSyncWorkflow } from '../workflows/full-sync';
import {
  customerWorkflowId,
  fullSyncWorkflowId,
  reconcileNowSignal,
  reconcileWorkflowId,
  storeganiseCustomer,
  type AccountRef,
} from '../workflows/definitions';
import { syncAccountKey } from '../workflows/search-attributes';
import {
  addTally,
  bulkEvent,
  classifyAgainstIndex,
  classifyChangedCustomer,
  classifyChangedZendeskUser,
  emptyZendeskIndex,
  indexZendeskUsers,
  type BulkCounts,
  type BulkJob,
  type BulkMode,
  type KnownZendeskUser,
  type WorkItem,
  type ZendeskIndex,
} from './bulk-plan';
import { RunWatcher, type PendingRun } from './bulk-outcomes';
import { BudgetPacer, exportCalled, nextExportAt } from './bulk-pacing';
import type { SyncServices } from './services';

/** Customers classified per chunk: one Storeganise page, or one slice of an export page. */
export const CHUNK_SIZE = 100;
/**
 * Runs a job keeps queued and unfinished at most, whatever the budget allows. A run is a local
 * activity on the workers (32 slots each): a few leave the rest to live events, which would
 * otherwise wait behind the bulk for a slot. A run takes well under a second, so a few in flight
 * already spend more budget than Zendesk leaves a bulk job.
 */
const MAX_PENDING = 8;
/** How often a step looks at the budget and the runs it waits for. */
const TICK_MS = 25;
/** Storeganise and Storeganise-side lookups made at once while classifying a chunk. */
const LOOKUP_CONCURRENCY = 8;
/** Process caches of what a job read in bulk (the Zendesk index, export pages) live this long unused. */
const CACHE_TTL_MS = 20 * 60_000;
/** How long reconciliation leaves a change alone so its webhook can land first, at most. */
const MAX_SETTLE_MARGIN_MS = 60_000;
/** Reconciliation reads Storeganise from this far before its watermark, so no change falls between two runs. */
export const RECONCILE_OVERLAP_MS = 60_000;

/** A work item waiting to be queued; reconciliation tags it with the phase that found it. */
export type QueuedWork = WorkItem & { phase?: string };

/** What every bulk step carries from one step to the next (all of it durable in the workflow). */
export interface BulkStepCore {
  /** Classified customers not queued yet (from the chunk read last). */
  items: QueuedWork[];
  /** Runs queued whose outcome is not known yet. */
  pending: PendingRun[];
  counts: BulkCounts;
  /** When this job last called the incremental export (epoch ms): Zendesk allows 10 a minute. */
  lastExportAt: number;
}

export interface FullSyncStepState extends BulkStepCore {
  /** Offset of the next Storeganise page to read. */
  offset: number;
  /** Every Storeganise page has been read. */
  exhausted: boolean;
}

export interface FullSyncStepInput {
  account: AccountRef;
  job: BulkJob;
  mode: BulkMode;
  state: FullSyncStepState;
  /** How long a step runs before it hands its progress back to the workflow. */
  stepMs: number;
}

export type ReconcilePhase = 'zendesk' | 'storeganise' | 'rentals' | 'done';

export interface ReconcileStepState extends BulkStepCore {
  phase: ReconcilePhase;
  /** The export page being read, and the next slice of it. */
  zendesk: ExportPosition;
  slice: number;
  /** Where the next cycle's export starts, once this one reached the end of the stream. */
  zendeskNext: ExportPosition | null;
  /** Offset in the current Storeganise listing (users, then rentals). */
  offset: number;
  /** Storeganise changes after this moment are read (ISO; the watermark minus the overlap). */
  lower: string;
  /** Changes after this moment wait for the next cycle (ISO); chosen by the cycle's first step. */
  upper: string | null;
  zendeskUsersRead: number;
  storeganiseRecordsRead: number;
}

export interface ReconcileStepInput {
  account: AccountRef;
  job: BulkJob;
  state: ReconcileStepState;
  stepMs: number;
}

export type BulkStepResult<S> =
  | { kind: 'progress'; state: S; finished: boolean }
  | { kind: 'invalid-settings'; problems: string[] }
  | { kind: 'deferred'; reason: string };

/** What the account workflow asks for after an authorization. */
export interface BulkWorkRequest {
  /** Start the account's reconciliation (idempotent). */
  reconcile: boolean;
  /** Run the initial import (idempotent while one runs). */
  importCustomers: boolean;
  /** Run a reconciliation now: the account was re-authorized or reconnected, so the gap is covered. */
  reconcileNow: boolean;
}

/** A small cache of promises by key, dropped after `CACHE_TTL_MS` unused. */
class PromiseCache<T> {
  private readonly entries = new Map<string, { value: Promise<T>; usedAt: number }>();

  get(key: string, make: () => Promise<T>): Promise<T> {
    const now = Date.now();
    for (const [k, entry] of this.entries) if (now - entry.usedAt > CACHE_TTL_MS) this.entries.delete(k);
    const known = this.entries.get(key);
    if (known) {
      known.usedAt = now;
      return known.value;
    }
    const value = make();
    this.entries.set(key, { value, usedAt: now });
    // A failed read is not kept: the next step reads again.
    value.catch(() => this.entries.delete(key));
    return value;
  }
}

interface FullSyncIndex {
  zendesk: ZendeskIndex;
  /** States of each customer's rentals, when the full sync compares the status. */
  rentals: Map<string, string[]> | null;
}

/** Runs `lookups` with at most `LOOKUP_CONCURRENCY` at a time, in order of the input. */
async function inParallel<T, R>(values: readonly T[], lookup: (value: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(values.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < values.length) {
      const i = next++;
      results[i] = await lookup(values[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, values.length) }, worker));
  return results;
}

const heartbeat = (): void => {
  Context.current().heartbeat();
};

/** Waits (heartbeating, and cancellable) until `until` (epoch ms). */
async function waitUntil(until: number): Promise<void> {
  while (Date.now() < until) {
    heartbeat();
    await Context.current().sleep(Math.min(1_000, Math.max(1, until - Date.now())));
  }
}

/** Retries a bulk read the 429 gate refused once its Retry-After has passed (no request went out). */
async function afterRetryAfter<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ZendeskRateLimited)) throw err;
      await waitUntil(Date.now() + err.retryAfterSeconds * 1000);
    }
  }
}

/**
 * Activities of reconciliation, the initial import and the full sync. Each step is short and
 * hands its whole progress back to its workflow, so a worker killed mid-way costs at most one
 * step, repeated: a step queues only the customers of a chunk classified (and recorded) before it
 * started, and an event queued twice is recognised by its id.
 */
export function bulkActivities(services: SyncServices) {
  const { config, temporal, logger } = services;
  const watcher = new RunWatcher(temporal, logger);
  const pacers = new Map<string, BudgetPacer>();
  const indexes = new PromiseCache<FullSyncIndex>();
  const exportPages = new PromiseCache<ExportPage>();

  const schedule = (): { intervalMs: number | null; marginMs: number } => {
    const intervalMs = config.reconcileIntervalMs;
    return { intervalMs, marginMs: Math.min(MAX_SETTLE_MARGIN_MS, intervalMs ?? MAX_SETTLE_MARGIN_MS) };
  };

  const pacerOf = (baseUrl: string): BudgetPacer => {
    let pacer = pacers.get(baseUrl);
    if (!pacer) pacers.set(baseUrl, (pacer = new BudgetPacer(zendeskBudgets, baseUrl)));
    return pacer;
  };

  /**
   * A bulk read (one call) once the budget has room for it, and never before a Retry-After. The
   * calls reserved for runs in flight are not counted: their outcomes are collected by the step
   * loop this read holds up, so waiting for them here could wait for ever.
   */
  const pacedRead = async <T>(baseUrl: string, read: () => Promise<T>): Promise<T> => {
    const pacer = pacerOf(baseUrl);
    while (pacer.allowance(0) < 1) {
      heartbeat();
      await Context.current().sleep(TICK_MS);
    }
    pacer.spend(1);
    return afterRetryAfter(read);
  };

  /** One export call, no sooner than Zendesk's 10 a minute allow, however many jobs share the process. */
  const exportUsers = async (
    zendesk: ZendeskClient,
    instance: string,
    core: BulkStepCore,
    position: ExportPosition,
  ): Promise<ExportPage> => {
    await waitUntil(nextExportAt(instance, core.lastExportAt));
    const page = await afterRetryAfter(() => {
      const at = Date.now();
      exportCalled(instance, at);
      core.lastExportAt = at;
      return zendesk.exportUsers(position);
    });
    heartbeat();
    return page;
  };

  const statusOf = (
    settings: AccountSettings,
    sg: StoreganiseCustomer,
    known: KnownZendeskUser | null,
    rentalStates: readonly string[] | null,
  ): CustomerStatus | null => {
    const key = settings.statusFieldKey;
    if (key === null || rentalStates === null || (known !== null && !(key in known.user.userFields))) return null;
    return customerStatus({ disabled: sg.disabled, rentalStates });
  };

  /** Rental states of some customers, one listing each (only when the status is compared at all). */
  const rentalStatesOf = async (
    storeganise: StoreganiseClient,
    settings: AccountSettings,
    ids: readonly string[],
  ): Promise<Map<string, string[]>> => {
    const states = new Map<string, string[]>();
    if (settings.statusFieldKey === null) return states;
    const lists = await inParallel(ids, async (id) => (await storeganise.listRentalsOf(id)).map((r) => r.state));
    ids.forEach((id, i) => states.set(id, lists[i] ?? []));
    return states;
  };

  /**
   * The step engine: queues classified customers on their entities as fast as the pacer lets it,
   * collects what became of the runs, and reads the next chunk once everything read is queued. A
   * chunk read here is not queued here: the step hands it back first, so a retried step never has
   * to guess what the lost one queued. Answers whether the job is done.
   */
  const runStep = async (
    account: AccountRef,
    baseUrl: string,
    job: BulkJob,
    core: BulkStepCore,
    stepMs: number,
    more: () => boolean,
    readChunk: () => Promise<{ items: QueuedWork[]; checked: number }>,
  ): Promise<boolean> => {
    const pacer = pacerOf(baseUrl);
    const deadline = Date.now() + stepMs;
    for (const run of core.pending) watcher.watch(run);
    for (;;) {
      for (const { run, tally } of watcher.settled(core.pending)) {
        core.pending = core.pending.filter((p) => p.eventId !== run.eventId);
        core.counts = addTally(core.counts, tally);
      }
      let allowance = pacer.allowance(core.pending.reduce((sum, p) => sum + p.calls, 0));
      while (core.items.length > 0 && core.pending.length < MAX_PENDING) {
        const item = core.items[0] as QueuedWork;
        // A run may cost more than the pace allows at a window's start (or before any answer said
        // what the budget is): with nothing in flight it goes all the same, or the job would stall.
        if (item.calls > allowance && (core.pending.length > 0 || allowance < 1)) break;
        const event = bulkEvent(account.subdomain, job, item, item.phase);
        const customer = storeganiseCustomer(item.sgId);
        await queueCustomerEvent(
          temporal,
          { taskQueue: config.temporal.taskQueue, settleMs: config.conflictSettleMs },
          account,
          customer,
          event,
        );
        const run: PendingRun = {
          sgId: item.sgId,
          eventId: event.eventId,
          workflowId: event.workflowId,
          entityWorkflowId: customerWorkflowId(account.subdomain, customer),
          calls: item.calls,
          queuedAt: Date.now(),
        };
        core.items.shift();
        core.pending.push(run);
        core.counts = { ...core.counts, queued: core.counts.queued + 1 };
        allowance -= item.calls;
        pacer.spend(item.calls);
        watcher.watch(run);
      }
      if (core.items.length === 0 && more() && Date.now() < deadline) {
        const chunk = await readChunk();
        core.items = chunk.items;
        core.counts = {
          ...core.counts,
          checked: core.counts.checked + chunk.checked,
          fine: core.counts.fine + chunk.checked - chunk.items.length,
        };
        if (chunk.items.length > 0) return false;
        continue;
      }
      if (!more() && core.items.length === 0 && core.pending.length === 0) return true;
      if (Date.now() >= deadline) return false;
      heartbeat();
      await Context.current().sleep(TICK_MS);
    }
  };

  /** Everything the full sync compares against: every Zendesk user (the export from the start) and, for the status, every rental. */
  const fullSyncIndex = (
    account: AccountRef,
    job: BulkJob,
    mode: BulkMode,
    zendesk: ZendeskClient,
    storeganise: StoreganiseClient,
    settings: AccountSettings,
    core: BulkStepCore,
  ): Promise<FullSyncIndex> =>
    indexes.get(`${account.subdomain}|${job.kind}|${job.id}`, async () => {
      const index = emptyZendeskIndex();
      let position: ExportPosition = { startTime: 0 };
      for (;;) {
        const page = await exportUsers(zendesk, settings.zendeskInstance, core, position);
        indexZendeskUsers(index, page.users);
        if (page.endOfStream || page.afterCursor === null) break;
        position = { cursor: page.afterCursor };
      }
      let rentals: Map<string, string[]> | null = null;
      if (mode === 'full' && settings.statusFieldKey !== null) {
        rentals = new Map();
        for (let offset = 0; ; offset += 1000) {
          const page = await storeganise.listRentalsPage({ offset, limit: 1000 });
          for (const rental of page) {
            if (!rental.ownerId) continue;
            rentals.set(rental.ownerId, [...(rentals.get(rental.ownerId) ?? []), rental.state]);
          }
          heartbeat();
          if (page.length < 1000) break;
        }
      }
      logger.info('full sync read Zendesk', { account: account.subdomain, job: job.id, zendeskUsers: index.byId.size });
      return { zendesk: index, rentals };
    });

  return {
    /** How often reconciliation runs (RECONCILE_INTERVAL; null: off), and how old a change must be before it looks at it. */
    async reconcileSchedule(): Promise<{ intervalMs: number | null; marginMs: number }> {
      return Promise.resolve(schedule());
    },

    /** How many customers the account has: the full sync's total (Storeganise pages, no Zendesk call). */
    async countStoreganiseCustomers(account: AccountRef): Promise<number> {
      const storeganise = services.storeganise(account);
      let total = 0;
      for (let offset = 0; ; offset += 1000) {
        const count = await storeganise.countUsersPage({ offset, limit: 1000 });
        total += count;
        heartbeat();
        if (count < 1000) return total;
      }
    },

    /** One step of the initial import or a full sync: Storeganise page by page against everything read of Zendesk. */
    async fullSyncStep(input: FullSyncStepInput): Promise<BulkStepResult<FullSyncStepState>> {
      const settingsResult = await services.settings(input.account);
      if (!settingsResult.ok) return { kind: 'invalid-settings', problems: settingsResult.problems };
      const { settings } = settingsResult;
      const state: FullSyncStepState = {
        ...input.state,
        items: [...input.state.items],
        pending: [...input.state.pending],
      };
      const storeganise = services.storeganise(input.account);
      const baseUrl = services.zendeskBaseUrl(settings.zendeskInstance);
      return services.withZendesk(input.account, settings.zendeskInstance, async (zendesk) => {
        const readChunk = async (): Promise<{ items: QueuedWork[]; checked: number }> => {
          const index = await fullSyncIndex(
            input.account,
            input.job,
            input.mode,
            zendesk,
            storeganise,
            settings,
            state,
          );
          const users = await storeganise.listUsersPage({ offset: state.offset, limit: CHUNK_SIZE });
          state.offset += users.length;
          if (users.length < CHUNK_SIZE) state.exhausted = true;
          // The export leaves out the last minute's changes (and the index ages while the job runs):
          // the linked users of the page are read again, one `show_many`, so a pair changed lately
          // is compared as it is now, and a user missing from the export is not taken for deleted.
          const pointers = [...new Set(users.flatMap((sg) => (sg.zendeskUserId === null ? [] : [sg.zendeskUserId])))];
          for (let i = 0; i < pointers.length; i += SHOW_MANY_MAX) {
            const batch = pointers.slice(i, i + SHOW_MANY_MAX);
            indexZendeskUsers(index.zendesk, await pacedRead(baseUrl, () => zendesk.showManyUsers(batch)));
          }
          const now = Date.now();
          const items = users.flatMap((sg) => {
            const pointed = sg.zendeskUserId === null ? null : (index.zendesk.byId.get(sg.zendeskUserId) ?? null);
            const status = statusOf(
              settings,
              sg,
              pointed,
              index.rentals === null ? null : (index.rentals.get(sg.id) ?? []),
            );
            return classifyAgainstIndex(sg, index.zendesk, input.mode, status, settings, now) ?? [];
          });
          return { items, checked: users.length };
        };
        const finished = await runStep(
          input.account,
          baseUrl,
          input.job,
          state,
          input.stepMs,
          () => !state.exhausted,
          readChunk,
        );
        return { kind: 'progress', state, finished };
      });
    },

    /**
     * One step of a reconciliation cycle: the Zendesk users the incremental export reports changed
     * (from the persisted cursor), then the Storeganise users and rentals changed since the
     * watermark; each changed pair is compared in bulk and only those that differ get a run.
     */
    async reconcileStep(input: ReconcileStepInput): Promise<BulkStepResult<ReconcileStepState>> {
      try {
        const running = await temporal.workflow.getHandle(fullSyncWorkflowId(input.account.subdomain)).describe();
        if (running.status.name === 'RUNNING')
          return { kind: 'deferred', reason: 'a full sync of the account is running; it covers the same ground' };
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      const settingsResult = await services.settings(input.account);
      if (!settingsResult.ok) return { kind: 'invalid-settings', problems: settingsResult.problems };
      const { settings } = settingsResult;
      const state: ReconcileStepState = {
        ...input.state,
        items: [...input.state.items],
        pending: [...input.state.pending],
      };
      const storeganise = services.storeganise(input.account);
      const baseUrl = services.zendeskBaseUrl(settings.zendeskInstance);
      // The token first: nothing is read on either side while Zendesk access is missing.
      return services.withZendesk(input.account, settings.zendeskInstance, async (zendesk) => {
        if (state.upper === null) {
          const { marginMs } = schedule();
          state.upper = new Date(Date.now() - marginMs).toISOString();
        }
        const upper = Date.parse(state.upper);
        const settled = (sg: StoreganiseCustomer): boolean =>
          sg.updatedAt === null || !(Date.parse(sg.updatedAt) > upper);
        const showMany = async (ids: readonly string[]): Promise<Map<string, KnownZendeskUser>> => {
          const found = new Map<string, KnownZendeskUser>();
          const unique = [...new Set(ids)];
          for (let i = 0; i < unique.length; i += SHOW_MANY_MAX) {
            for (const known of await pacedRead(baseUrl, () =>
              zendesk.showManyUsers(unique.slice(i, i + SHOW_MANY_MAX)),
            ))
              found.set(known.user.id, known);
          }
          return found;
        };
        /** Changed Storeganise customers against their Zendesk users (one `show_many` per chunk). */
        const classifyCustomers = async (
          customers: readonly StoreganiseCustomer[],
          phase: string,
        ): Promise<QueuedWork[]> => {
          const pointed = await showMany(customers.flatMap((c) => (c.zendeskUserId === null ? [] : [c.zendeskUserId])));
          const rentals = await rentalStatesOf(
            storeganise,
            settings,
            customers.filter((c) => c.zendeskUserId !== null).map((c) => c.id),
          );
          const now = Date.now();
          return customers.flatMap((sg) => {
            const known = sg.zendeskUserId === null ? null : (pointed.get(sg.zendeskUserId) ?? null);
            const item = classifyChangedCustomer(
              sg,
              known,
              statusOf(settings, sg, known, rentals.get(sg.id) ?? null),
              settings,
              now,
            );
            return item === null ? [] : [{ ...item, phase }];
          });
        };
        const readChunk = async (): Promise<{ items: QueuedWork[]; checked: number }> => {
          switch (state.phase) {
            case 'zendesk': {
              const position = state.zendesk;
              const page = await exportPages.get(
                `${settings.zendeskInstance}|${input.job.id}|${JSON.stringify(position)}`,
                () => exportUsers(zendesk, settings.zendeskInstance, state, position),
              );
              const slice = page.users.slice(state.slice * CHUNK_SIZE, (state.slice + 1) * CHUNK_SIZE);
              if ((state.slice + 1) * CHUNK_SIZE < page.users.length) state.slice++;
              else if (page.endOfStream || page.afterCursor === null) {
                state.zendeskNext = page.afterCursor === null ? position : { cursor: page.afterCursor };
                state.phase = 'storeganise';
                state.offset = 0;
              } else {
                state.zendesk = { cursor: page.afterCursor };
                state.slice = 0;
              }
              state.zendeskUsersRead += slice.length;
              const active = slice.filter((known) => known.user.active);
              // The customer each changed user belongs to: named by its external id, or (unlinked) holding its email.
              const customers = await inParallel(active, async (known): Promise<StoreganiseCustomer | null> => {
                const ext = known.user.externalId;
                if (ext !== null) return isStoreganiseId(ext) ? storeganise.getUser(ext) : null;
                if (known.user.email === null) return null;
                const holders = await storeganise.findUsersByEmail(known.user.email);
                return holders.find((c) => c.zendeskUserId === null || c.zendeskUserId === known.user.id) ?? null;
              });
              const found = active.flatMap((known, i) => {
                const sg = customers[i];
                return sg === null || sg === undefined || !settled(sg) ? [] : [{ known, sg }];
              });
              const rentals = await rentalStatesOf(
                storeganise,
                settings,
                found.map((f) => f.sg.id),
              );
              const now = Date.now();
              const items = found.flatMap(({ known, sg }) => {
                const item = classifyChangedZendeskUser(
                  known,
                  sg,
                  statusOf(settings, sg, known, rentals.get(sg.id) ?? null),
                  settings,
                  now,
                );
                return item === null ? [] : [{ ...item, phase: 'zd' }];
              });
              return { items, checked: slice.length };
            }
            case 'storeganise': {
              const users = await storeganise.listUsersPage({
                offset: state.offset,
                limit: CHUNK_SIZE,
                updatedAfter: state.lower,
              });
              state.offset += users.length;
              state.storeganiseRecordsRead += users.length;
              if (users.length < CHUNK_SIZE) {
                state.phase = 'rentals';
                state.offset = 0;
              }
              return { items: await classifyCustomers(users.filter(settled), 'sg'), checked: users.length };
            }
            case 'rentals': {
              const rentals = await storeganise.listRentalsPage({
                offset: state.offset,
                limit: CHUNK_SIZE,
                updatedAfter: state.lower,
              });
              state.offset += rentals.length;
              state.storeganiseRecordsRead += rentals.length;
              if (rentals.length < CHUNK_SIZE) state.phase = 'done';
              const owners = [
                ...new Set(
                  rentals
                    .filter((r) => r.updated === null || r.updated === undefined || Date.parse(r.updated) <= upper)
                    .flatMap((r) => (r.ownerId && isStoreganiseId(r.ownerId) ? [r.ownerId] : [])),
                ),
              ];
              const customers = (await inParallel(owners, (id) => storeganise.getUser(id))).filter(
                (c): c is StoreganiseCustomer => c !== null && c.zendeskUserId !== null,
              );
              return { items: await classifyCustomers(customers, 'rent'), checked: 0 };
            }
            case 'done':
              return { items: [], checked: 0 };
          }
        };
        const finished = await runStep(
          input.account,
          baseUrl,
          input.job,
          state,
          input.stepMs,
          () => state.phase !== 'done',
          readChunk,
        );
        return { kind: 'progress', state, finished };
      });
    },

    /** Starts the account's reconciliation and import, or wakes the reconciliation (each idempotent). */
    async startBulkWork(account: AccountRef, request: BulkWorkRequest): Promise<void> {
      const common = {
        taskQueue: config.temporal.taskQueue,
        typedSearchAttributes: [{ key: syncAccountKey, value: account.subdomain }],
      };
      if (request.reconcileNow) {
        await temporal.workflow.signalWithStart(reconcileWorkflow, {
          ...common,
          workflowId: reconcileWorkflowId(account.subdomain),
          args: [{ account }],
          signal: reconcileNowSignal,
          signalArgs: [],
        });
      } else if (request.reconcile) {
        await temporal.workflow.start(reconcileWorkflow, {
          ...common,
          workflowId: reconcileWorkflowId(account.subdomain),
          args: [{ account }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        });
      }
      if (request.importCustomers) {
        await temporal.workflow.start(fullSyncWorkflow, {
          ...common,
          workflowId: fullSyncWorkflowId(account.subdomain),
          args: [{ account, mode: 'import' }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        });
      }
    },
  };
}
