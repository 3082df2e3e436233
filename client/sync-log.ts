import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import {
  customerStatusQuery,
  customerWorkflowId,
  type EventOutcome,
  type OutcomeRecord,
} from '../workflows/definitions';
import {
  syncAccountKey,
  syncCustomerKey,
  syncDirectionKey,
  syncFieldsKey,
  syncMarksKey,
  syncOutcomeKey,
  syncReasonKey,
  syncSourceKey,
  syncStateKey,
  syncZendeskUserKey,
  type SyncDirection,
} from '../workflows/search-attributes';

/**
 * The sync log of an account, read from Temporal: nothing is stored twice.
 *
 * - Every run (`syncCustomer`, one per event that led it) is a workflow execution whose search
 *   attributes hold its row: account, customer, Zendesk user, source, direction, fields, outcome,
 *   one-line reason. Visibility keeps them for the namespace's retention (SYNC_LOG_RETENTION_DAYS).
 * - Outcomes that start no run (echo, coalesced into another event's run, duplicate) are kept by
 *   the customer's entity workflow (its last 100, `customerStatus` query) and merged in.
 *
 * Search attributes hold identifiers, field names and sides only; personal data stays encrypted in
 * the histories, readable through the codec.
 */

/** What the log shows for one event. */
export type LogOutcome = EventOutcome | 'running' | 'paused';

export interface LogEntry {
  /** When it ended (a run's close time; a record's time), or started for a run still going; epoch ms. */
  at: number;
  /** The event the row is about (a run's lead event). */
  eventId: string;
  /** The run's workflow id: the row in the Temporal Web UI. Null for outcomes that started no run. */
  workflowId: string | null;
  /** The entity key, `sg:{storeganise id}` or `zd:{zendesk id}`. */
  customer: string;
  storeganiseId: string | null;
  zendeskId: string | null;
  /** Where the event came from; null when only the entity's record is known. */
  source: string | null;
  direction: SyncDirection | null;
  fields: string[];
  outcome: LogOutcome;
  /** Same-field conflicts the run decided (the "conflict resolved" of the log). */
  conflictResolved: boolean;
  /** The run waited for authorization or valid settings, then went on. */
  resumed: boolean;
  /** Other events the run also served. */
  coalesced: number;
  reason: string;
}

export type OutcomeCategory = 'changed' | 'unchanged' | 'attention';

/** Run outcomes that wrote something, that needed no write, and that need a person (or failed). */
export const OUTCOME_CATEGORY: Record<EventOutcome, OutcomeCategory> = {
  synced: 'changed',
  linked: 'changed',
  repaired: 'changed',
  unchanged: 'unchanged',
  deferred: 'unchanged',
  echo: 'unchanged',
  coalesced: 'unchanged',
  duplicate: 'unchanged',
  deleted: 'unchanged',
  unlinked: 'unchanged',
  gone: 'unchanged',
  conflict: 'attention',
  rejected: 'attention',
  failed: 'attention',
};

/** The run outcomes the counts and the chart distinguish (failed runs are counted from their status). */
export const RUN_OUTCOMES: EventOutcome[] = [
  'synced',
  'linked',
  'repaired',
  'unchanged',
  'deferred',
  'deleted',
  'unlinked',
  'gone',
  'conflict',
  'rejected',
];

const ENTITY_ONLY: ReadonlySet<EventOutcome> = new Set(['echo', 'coalesced', 'duplicate', 'failed']);
const RUN_TYPE = 'syncCustomer';
const RUN_ID_PREFIX = /^(?:sg|zd)-event:[^:]+:/;

/** A value put between quotes in a visibility query: identifiers only ever reach here, but quotes are escaped all the same. */
export const quoted = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const iso = (ms: number): string => new Date(ms).toISOString();

const keyword = (info: WorkflowExecutionInfo, key: typeof syncOutcomeKey | typeof syncReasonKey): string | null => {
  const value = info.typedSearchAttributes.get(key);
  return typeof value === 'string' && value !== '' ? value : null;
};
const keywords = (info: WorkflowExecutionInfo, key: typeof syncFieldsKey): string[] =>
  (info.typedSearchAttributes.get(key) ?? []).filter((v) => v !== 'none');

function idsOf(customer: string, zendeskId: string | null): { storeganiseId: string | null; zendeskId: string | null } {
  if (customer.startsWith('sg:')) return { storeganiseId: customer.slice(3), zendeskId };
  if (customer.startsWith('zd:')) return { storeganiseId: null, zendeskId: zendeskId ?? customer.slice(3) };
  return { storeganiseId: null, zendeskId };
}

/** A run execution as a log row. */
export function entryOfRun(info: WorkflowExecutionInfo): LogEntry {
  const customer = keyword(info, syncCustomerKey) ?? '?';
  const outcome = keyword(info, syncOutcomeKey);
  const state = keyword(info, syncStateKey);
  const marks = keywords(info, syncMarksKey);
  const status = info.status.name;
  let shown: LogOutcome;
  let reason = keyword(info, syncReasonKey) ?? '';
  if (status === 'RUNNING') {
    shown = state === 'awaiting-authorization' || state === 'awaiting-settings' ? 'paused' : 'running';
    if (state === 'awaiting-authorization')
      reason =
        'paused: waiting for Zendesk authorization; open the link of the newest "zendesk: Authorize Zendesk OAuth connection" task, and it resumes by itself';
    else if (state === 'awaiting-settings')
      reason =
        'paused: waiting for valid add-on settings; fix the ones the "zendesk: Invalid settings" task names, and it resumes by itself';
    else reason = 'running';
  } else if (status === 'COMPLETED' && outcome !== null) {
    shown = outcome as EventOutcome;
  } else {
    shown = 'failed';
    reason = `the run ${status.toLowerCase().replace(/_/g, ' ')}: re-drive it (README, Operations); the customer's later events still run`;
  }
  const coalesced = Number(/^coalesced:(\d+)$/.exec(marks.find((m) => m.startsWith('coalesced:')) ?? '')?.[1] ?? 0);
  return {
    at: (info.closeTime ?? info.startTime).getTime(),
    eventId: info.workflowId.replace(RUN_ID_PREFIX, '').replace(/^customer:[^:]+:[^:]+:[^:]+:/, ''),
    workflowId: info.workflowId,
    customer,
    ...idsOf(customer, keyword(info, syncZendeskUserKey)),
    source: keyword(info, syncSourceKey),
    direction: keyword(info, syncDirectionKey) as SyncDirection | null,
    fields: keywords(info, syncFieldsKey),
    outcome: shown,
    conflictResolved: marks.includes('conflict-resolved'),
    resumed: marks.includes('resumed'),
    coalesced,
    reason,
  };
}

const RECORD_REASON: Partial<Record<EventOutcome, (record: OutcomeRecord) => string>> = {
  echo: () => "the echo of the sync's own write: it reports what both sides already agree on, so no run",
  coalesced: (r) => `served by the run of a later event of the customer (${r.by ?? 'another run'})`,
  duplicate: () => 'a redelivery of an event that already ran',
  failed: (r) => `the run that was to serve it (${r.by ?? 'its own'}) did not complete`,
};

/** An outcome the customer's entity kept for an event that led no run of its own. */
export function entryOfRecord(customer: string, record: OutcomeRecord, zendeskId: string | null = null): LogEntry {
  return {
    at: record.at,
    eventId: record.eventId,
    workflowId: null,
    customer,
    ...idsOf(customer, zendeskId),
    source: record.source ?? null,
    direction: null,
    fields: [],
    outcome: record.outcome,
    conflictResolved: false,
    resumed: false,
    coalesced: 0,
    reason: RECORD_REASON[record.outcome]?.(record) ?? record.outcome,
  };
}

export interface OutcomeTotals {
  /** Closed runs by outcome (`failed` from the execution status), plus `conflict-resolved`. */
  byOutcome: Record<string, number>;
  closed: number;
  attention: number;
  /** Share of closed runs that ended as intended (neither a task nor a failure); null without runs. */
  successRate: number | null;
}

export interface ChartBucket {
  start: number;
  end: number;
  changed: number;
  unchanged: number;
  attention: number;
}

export interface ConnectionFacts {
  pausedForAuthorization: number;
  pausedForSettings: number;
  /** When the latest run led by a Zendesk event started: a delivery this installation received. */
  lastZendeskEventRun: number | null;
}

/**
 * The account's reconciliation as its workflow publishes it in its memo (the safety net's
 * `reconcile:{subdomain}` workflow, memo key `reconciliation`); only what the page shows is read.
 */
const ReconciliationMemo = z.looseObject({
  state: z.string(),
  intervalMs: z.number().nullable().optional(),
  nextRunAt: z.string().nullable().optional(),
  lastRun: z
    .looseObject({
      startedAt: z.string(),
      finishedAt: z.string().nullable(),
      checked: z.number().optional(),
      queued: z.number().optional(),
      repaired: z.number().optional(),
      errors: z.number().optional(),
    })
    .nullable()
    .optional(),
  totals: z.looseObject({ runs: z.number(), repaired: z.number() }).optional(),
});
export type Reconciliation = z.infer<typeof ReconciliationMemo>;

/** Runs a batch of async jobs, at most `limit` at a time. */
async function inBatches<T, R>(items: readonly T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        const item = items[index] as T;
        results[index] = await job(item);
      }
    }),
  );
  return results;
}

const QUERY_DEADLINE_MS = 2_500;
const ENTITY_CACHE_MS = 3_000;
const COUNT_CACHE_MS = 15_000;
/** Customers whose entity records are merged into the account's recent events. */
const ENTITIES_MERGED = 25;

/** Reads the sync log of the accounts served on one task queue. */
export class SyncLog {
  private readonly entityCache = new Map<string, { at: number; records: OutcomeRecord[] | null }>();
  private readonly countCache = new Map<string, { at: number; value: number }>();
  private retention: { at: number; days: number | null } | null = null;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** The account's runs, newest first (running and paused ones first of all). */
  async runs(
    account: string,
    options: {
      customer?: string;
      zendeskUser?: string;
      outcome?: string;
      since?: number;
      until?: number;
      limit: number;
    },
  ): Promise<LogEntry[]> {
    const clauses = [`WorkflowType = ${quoted(RUN_TYPE)}`, `SyncAccount = ${quoted(account)}`];
    if (options.customer !== undefined) clauses.push(`SyncCustomer = ${quoted(options.customer)}`);
    if (options.zendeskUser !== undefined) clauses.push(`SyncZendeskUser = ${quoted(options.zendeskUser)}`);
    if (options.outcome !== undefined) clauses.push(`SyncOutcome = ${quoted(options.outcome)}`);
    if (options.since !== undefined) clauses.push(`StartTime >= ${quoted(iso(options.since))}`);
    if (options.until !== undefined) clauses.push(`StartTime < ${quoted(iso(options.until))}`);
    const entries: LogEntry[] = [];
    for await (const info of this.client.workflow.list({
      query: clauses.join(' AND '),
      pageSize: Math.min(options.limit, 1000),
    })) {
      entries.push(entryOfRun(info));
      if (entries.length >= options.limit) break;
    }
    return entries;
  }

  /** What a customer's entity kept: its recent outcomes (the last 100); null when no worker answered. */
  async entityRecords(account: string, customer: string): Promise<OutcomeRecord[] | null> {
    const id = customerWorkflowId(account, customer);
    const cached = this.entityCache.get(id);
    if (cached && Date.now() - cached.at < ENTITY_CACHE_MS) return cached.records;
    let records: OutcomeRecord[] | null;
    try {
      const status = await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        this.client.workflow.getHandle(id).query(customerStatusQuery),
      );
      records = status.outcomes;
    } catch (err) {
      // Not found (a customer never queued an event), or no worker answered in time: the runs still show.
      if (!(err instanceof Error)) throw err;
      records = null;
    }
    this.entityCache.set(id, { at: Date.now(), records });
    if (this.entityCache.size > 5_000) this.entityCache.delete(this.entityCache.keys().next().value ?? id);
    return records;
  }

  /**
   * The account's latest events: its runs merged with the outcomes of the customers those runs
   * concern that started no run (echoes, coalesced events, duplicates), newest first.
   */
  async recentEvents(account: string, limit = 100): Promise<{ entries: LogEntry[]; entitiesUnanswered: number }> {
    const runs = await this.runs(account, { limit });
    const customers = [...new Set(runs.map((r) => r.customer))].slice(0, ENTITIES_MERGED);
    const oldest = runs.length >= limit ? Math.min(...runs.map((r) => r.at)) : 0;
    let unanswered = 0;
    const merged = [...runs];
    const zendeskOf = new Map(runs.filter((r) => r.zendeskId !== null).map((r) => [r.customer, r.zendeskId]));
    const lists = await inBatches(customers, 8, async (customer) => ({
      customer,
      records: await this.entityRecords(account, customer),
    }));
    for (const { customer, records } of lists) {
      if (records === null) unanswered++;
      for (const record of records ?? []) {
        if (
          !ENTITY_ONLY.has(record.outcome) ||
          (record.outcome === 'failed' && record.by === null) ||
          record.at < oldest
        )
          continue;
        merged.push(entryOfRecord(customer, record, zendeskOf.get(customer) ?? null));
      }
    }
    return { entries: merged.sort((a, b) => b.at - a.at).slice(0, limit), entitiesUnanswered: unanswered };
  }

  /** Every event of one customer kept in the log: its runs and its entity's records, newest first. */
  async customerTimeline(
    account: string,
    customer: string,
    limit = 1000,
  ): Promise<{ entries: LogEntry[]; entityAnswered: boolean }> {
    const [runs, records] = await Promise.all([
      this.runs(account, { customer, limit }),
      this.entityRecords(account, customer),
    ]);
    const zendeskId = runs.find((r) => r.zendeskId !== null)?.zendeskId ?? null;
    const kept = (records ?? []).filter(
      (r) => ENTITY_ONLY.has(r.outcome) && !(r.outcome === 'failed' && r.by === null),
    );
    const entries = [...runs, ...kept.map((r) => entryOfRecord(customer, r, zendeskId))].sort((a, b) => b.at - a.at);
    return { entries, entityAnswered: records !== null };
  }

  /** The customers a Storeganise or Zendesk id names in this account's log. */
  async findCustomers(account: string, id: string): Promise<string[]> {
    const found = new Set<string>();
    const probe = async (query: string): Promise<void> => {
      for await (const info of this.client.workflow.list({
        query: `WorkflowType = ${quoted(RUN_TYPE)} AND SyncAccount = ${quoted(account)} AND ${query}`,
        pageSize: 50,
      })) {
        const customer = keyword(info, syncCustomerKey);
        if (customer !== null) found.add(customer);
        if (found.size >= 20) break;
      }
    };
    await probe(`SyncCustomer = ${quoted(`sg:${id}`)}`);
    if (/^\d+$/.test(id)) {
      await probe(`SyncZendeskUser = ${quoted(id)}`);
      await probe(`SyncCustomer = ${quoted(`zd:${id}`)}`);
    }
    return [...found];
  }

  private async count(query: string, cacheable: boolean): Promise<number> {
    const cached = this.countCache.get(query);
    if (cached && (cacheable || Date.now() - cached.at < COUNT_CACHE_MS)) return cached.value;
    const { count } = await this.client.workflow.count(query);
    this.countCache.set(query, { at: Date.now(), value: count });
    if (this.countCache.size > 20_000) this.countCache.delete(this.countCache.keys().next().value ?? query);
    return count;
  }

  private closedIn(account: string, from: number, to: number): string {
    return `WorkflowType = ${quoted(RUN_TYPE)} AND SyncAccount = ${quoted(account)} AND CloseTime >= ${quoted(iso(from))} AND CloseTime < ${quoted(iso(to))}`;
  }

  /** Closed runs of the account in [from, to), by outcome, and the success rate. */
  async totals(account: string, from: number, to: number): Promise<OutcomeTotals> {
    const base = this.closedIn(account, from, to);
    const cacheable = to < Date.now() - 60_000;
    const byOutcome: Record<string, number> = {};
    const queries: Array<[string, string]> = [
      ...RUN_OUTCOMES.map((o): [string, string] => [
        o,
        `${base} AND ExecutionStatus = 'Completed' AND SyncOutcome = ${quoted(o)}`,
      ]),
      ['failed', `${base} AND ExecutionStatus != 'Completed'`],
      ['conflict-resolved', `${base} AND SyncMarks = 'conflict-resolved'`],
      ['all', base],
    ];
    const counts = await inBatches(queries, 6, ([, q]) => this.count(q, cacheable));
    queries.forEach(([name], i) => {
      byOutcome[name] = counts[i] ?? 0;
    });
    const closed = byOutcome.all ?? 0;
    const attention = (byOutcome.conflict ?? 0) + (byOutcome.rejected ?? 0) + (byOutcome.failed ?? 0);
    delete byOutcome.all;
    return { byOutcome, closed, attention, successRate: closed === 0 ? null : (closed - attention) / closed };
  }

  /** Closed runs per bucket (`count` buckets of `size` ms ending at `end`), by category. */
  async chart(account: string, end: number, size: number, count: number): Promise<ChartBucket[]> {
    const starts = Array.from({ length: count }, (_, i) => end - (count - i) * size);
    return inBatches(starts, 4, async (start) => {
      const base = this.closedIn(account, start, start + size);
      const cacheable = start + size < Date.now() - 60_000;
      const [all, changed, attention] = await Promise.all([
        this.count(base, cacheable),
        this.count(
          `${base} AND ExecutionStatus = 'Completed' AND SyncOutcome IN ('synced', 'linked', 'repaired')`,
          cacheable,
        ),
        this.count(
          `${base} AND (ExecutionStatus != 'Completed' OR SyncOutcome IN ('conflict', 'rejected'))`,
          cacheable,
        ),
      ]);
      return { start, end: start + size, changed, attention, unchanged: Math.max(0, all - changed - attention) };
    });
  }

  /** Paused runs and the latest Zendesk delivery that led a run. */
  async connectionFacts(account: string): Promise<ConnectionFacts> {
    const running = `WorkflowType = ${quoted(RUN_TYPE)} AND SyncAccount = ${quoted(account)} AND ExecutionStatus = 'Running'`;
    const [auth, settings] = await Promise.all([
      this.count(`${running} AND SyncState = 'awaiting-authorization'`, false),
      this.count(`${running} AND SyncState = 'awaiting-settings'`, false),
    ]);
    let lastZendeskEventRun: number | null = null;
    for await (const info of this.client.workflow.list({
      query: `WorkflowType = ${quoted(RUN_TYPE)} AND SyncAccount = ${quoted(account)} AND WorkflowId STARTS_WITH ${quoted(`zd-event:${account}:`)}`,
      pageSize: 1,
    })) {
      lastZendeskEventRun = info.startTime.getTime();
      break;
    }
    return { pausedForAuthorization: auth, pausedForSettings: settings, lastZendeskEventRun };
  }

  /** How many days the namespace keeps closed executions, i.e. the log; null when it cannot be read. */
  async retentionDays(namespace: string): Promise<number | null> {
    if (this.retention && Date.now() - this.retention.at < 5 * 60_000) return this.retention.days;
    let days: number | null = null;
    try {
      const described = await this.client.workflowService.describeNamespace({ namespace });
      const seconds = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? NaN);
      days = Number.isFinite(seconds) ? seconds / 86_400 : null;
    } catch (err) {
      // Some API keys may not describe the namespace: the page says the retention is unknown.
      if (!(err instanceof Error)) throw err;
    }
    this.retention = { at: Date.now(), days };
    return days;
  }

  /** The account's reconciliation (last run, next run, repairs so far); null where this version runs none. */
  async reconciliation(account: string): Promise<Reconciliation | null> {
    try {
      const described = await this.client.workflow.getHandle(`reconcile:${account}`).describe();
      const parsed = ReconciliationMemo.safeParse(described.memo?.reconciliation);
      return parsed.success ? parsed.data : null;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /** The query that lists every run of the task queue closed since `since` (for the metrics' tail). */
  closedRunsSince(since: number): AsyncIterable<WorkflowExecutionInfo> {
    return this.client.workflow.list({
      query: `WorkflowType = ${quoted(RUN_TYPE)} AND TaskQueue = ${quoted(this.taskQueue)} AND CloseTime >= ${quoted(iso(since))}`,
      pageSize: 1000,
    });
  }
}

/** One event outcome the tail saw, for counters: the account, which way it went, and what became of it. */
export interface ObservedOutcome {
  account: string;
  /** What sent the event; a coalesced event is counted with the source of the run that served it. */
  source: string;
  direction: string;
  outcome: string;
  conflictResolved: boolean;
}

const TAIL_OVERLAP_MS = 2 * 60_000;
const ECHO_CHECKS_MS = [5_000, 60_000];

/**
 * Follows the log from a moment on (the API's start), so counters see every event outcome once:
 * runs as they close (visibility, with an overlap for its lag), and, a few seconds and a minute
 * after a customer's run, the outcomes its entity kept that started no run (echoes, duplicates).
 */
export class SyncLogTail {
  private watermark: number;
  private readonly seen = new Map<string, number>();
  /** Per customer entity: the newest record time already counted, and when to look again. */
  private readonly customers = new Map<string, { account: string; customer: string; counted: number; due: number[] }>();
  private running: Promise<ObservedOutcome[]> | null = null;

  constructor(
    private readonly log: SyncLog,
    private readonly since: number = Date.now(),
  ) {
    this.watermark = since;
  }

  /** Outcomes observed since the last call; concurrent callers share one read. */
  advance(): Promise<ObservedOutcome[]> {
    if (this.running) return this.running.then(() => []);
    this.running = this.read().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async read(): Promise<ObservedOutcome[]> {
    const now = Date.now();
    const observed: ObservedOutcome[] = [];
    let newest = this.watermark;
    for await (const info of this.log.closedRunsSince(Math.max(this.since, this.watermark - TAIL_OVERLAP_MS))) {
      const closed = info.closeTime?.getTime() ?? now;
      newest = Math.max(newest, closed);
      if (closed < this.since || this.seen.has(info.runId)) continue;
      this.seen.set(info.runId, closed);
      const entry = entryOfRun(info);
      const account = info.typedSearchAttributes.get(syncAccountKey) ?? 'unknown';
      const direction = entry.direction ?? 'none';
      const source = entry.source ?? 'unknown';
      observed.push({ account, source, direction, outcome: entry.outcome, conflictResolved: entry.conflictResolved });
      for (let i = 0; i < entry.coalesced; i++)
        observed.push({
          account,
          source,
          direction,
          outcome: entry.outcome === 'failed' ? 'failed' : 'coalesced',
          conflictResolved: false,
        });
      this.expectRecords(account, entry.customer, closed);
    }
    this.watermark = newest;
    for (const [runId, closed] of this.seen) if (closed < this.watermark - 2 * TAIL_OVERLAP_MS) this.seen.delete(runId);
    observed.push(...(await this.readEntities(now)));
    return observed;
  }

  private expectRecords(account: string, customer: string, closed: number): void {
    const key = `${account}\n${customer}`;
    const known = this.customers.get(key) ?? { account, customer, counted: this.since, due: [] };
    known.due = ECHO_CHECKS_MS.map((delay) => closed + delay);
    this.customers.delete(key);
    this.customers.set(key, known);
    if (this.customers.size > 50_000) this.customers.delete(this.customers.keys().next().value ?? key);
  }

  private async readEntities(now: number): Promise<ObservedOutcome[]> {
    const due = [...this.customers.values()].filter((c) => c.due.some((t) => t <= now)).slice(0, 200);
    const observed: ObservedOutcome[] = [];
    await inBatches(due, 8, async (c) => {
      const records = await this.log.entityRecords(c.account, c.customer);
      c.due = c.due.filter((t) => t > now);
      if (records === null) return;
      let newest = c.counted;
      for (const record of records) {
        if (record.at <= c.counted || (record.outcome !== 'echo' && record.outcome !== 'duplicate')) continue;
        newest = Math.max(newest, record.at);
        observed.push({
          account: c.account,
          source: record.source ?? 'unknown',
          direction: 'none',
          outcome: record.outcome,
          conflictResolved: false,
        });
      }
      c.counted = Math.max(newest, ...records.map((r) => r.at), c.counted);
    });
    return observed;
  }
}
