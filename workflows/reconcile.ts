import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities';
import {
  RECONCILE_MEMO_KEY,
  reconcileNowSignal,
  reconcileStatusQuery,
  type AccountRef,
  type ReconcileRun,
  type ReconcileState,
  type ReconcileStatus,
} from './definitions';
import { bulkActs, bulkLocalActs } from './bulk-run';
import { EventRun } from './event-run';
import { syncAccountKey } from './search-attributes';

type StepInput = Parameters<SyncActivities['reconcileStep']>[0];
type StepState = StepInput['state'];
type ExportPosition = StepState['zendesk'];

export interface ReconcileInput {
  account: AccountRef;
  /** Carried over by continue-as-new. */
  carry?: ReconcileCarry;
}

/** What survives worker kills (history) and continue-as-new (this): the cursors above all. */
export interface ReconcileCarry {
  cycle: number;
  /** Where the next run's incremental export starts: Zendesk's cursor, or the first run's start time. */
  zendesk: ExportPosition;
  /** Storeganise changes after this moment (minus the overlap) are the next run's (ISO). */
  watermark: string;
  lastExportAt: number;
  lastRun: ReconcileRun | null;
  totals: ReconcileStatus['totals'];
  wake: boolean;
}

/** Storeganise is read from this far before the watermark (RECONCILE_OVERLAP_MS of the activities). */
const OVERLAP_MS = 60_000;
const STEP_MS = 5_000;
/** While RECONCILE_INTERVAL is off, the setting is read again this often (a restarted worker may have turned it on). */
const OFF_RECHECK_MS = 60 * 60_000;
const ROLL_AT_HISTORY = 2_000;

const emptyTotals = (): ReconcileStatus['totals'] => ({
  runs: 0,
  repaired: 0,
  linked: 0,
  created: 0,
  conflicts: 0,
  errors: 0,
});

/**
 * The account's safety net: every RECONCILE_INTERVAL it reads what changed on both sides since the
 * last run (Zendesk's incremental export from the persisted cursor, Storeganise `updatedAfter` from
 * the watermark), compares each changed pair in bulk and queues a reconcile event on the entity of
 * each customer whose sides differ (in order with its live events); a run that writes is a repair.
 * A run paused for authorization (a disconnection, a revoked grant) resumes from the same cursors,
 * so the first run after a reconnection covers the whole gap.
 */
export async function reconcileWorkflow(input: ReconcileInput): Promise<void> {
  const { account } = input;
  const started = Date.now();
  const carry: ReconcileCarry = input.carry ?? {
    cycle: 0,
    zendesk: { startTime: Math.floor((started - OVERLAP_MS) / 1000) },
    watermark: new Date(started).toISOString(),
    lastExportAt: 0,
    lastRun: null,
    totals: emptyTotals(),
    wake: false,
  };
  let state: ReconcileState = 'waiting';
  let intervalMs: number | null = null;
  let nextRunAt: number | null = null;
  let current: ReconcileRun | null = null;

  const status = (): ReconcileStatus => ({
    state,
    intervalMs,
    nextRunAt: nextRunAt === null ? null : new Date(nextRunAt).toISOString(),
    current,
    lastRun: carry.lastRun,
    totals: carry.totals,
    storeganiseWatermark: carry.watermark,
    zendeskCursor: 'cursor' in carry.zendesk ? 'cursor' : 'start-time',
  });
  let published = '';
  const publish = (): void => {
    const now = status();
    const serialised = JSON.stringify(now);
    if (serialised === published) return;
    published = serialised;
    upsertMemo({ [RECONCILE_MEMO_KEY]: now });
  };

  setHandler(reconcileNowSignal, () => {
    carry.wake = true;
  });
  setHandler(reconcileStatusQuery, status);
  const pauses = new EventRun(account, (pause) => {
    state = pause ?? 'running';
    publish();
  });
  upsertSearchAttributes([{ key: syncAccountKey, value: account.subdomain }]);

  for (;;) {
    const schedule = await bulkLocalActs.reconcileSchedule();
    intervalMs = schedule.intervalMs;
    if (intervalMs === null) {
      state = 'off';
      nextRunAt = null;
      publish();
      await condition(() => carry.wake, OFF_RECHECK_MS);
      carry.wake = false;
      continue;
    }
    state = 'waiting';
    nextRunAt = Date.now() + intervalMs;
    publish();
    await condition(() => carry.wake, intervalMs);
    carry.wake = false;

    await runCycle();

    if (workflowInfo().historyLength > ROLL_AT_HISTORY || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof reconcileWorkflow>({ account, carry });
    }
  }

  async function runCycle(): Promise<void> {
    carry.cycle++;
    const job = { kind: 'reconcile' as const, id: `${carry.cycle}-${uuid4().slice(0, 6)}` };
    const startedAt = new Date().toISOString();
    let step: StepState = {
      phase: 'zendesk',
      zendesk: carry.zendesk,
      slice: 0,
      zendeskNext: null,
      offset: 0,
      lower: new Date(Date.parse(carry.watermark) - OVERLAP_MS).toISOString(),
      upper: null,
      items: [],
      pending: [],
      counts: {
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
      },
      lastExportAt: carry.lastExportAt,
      zendeskUsersRead: 0,
      storeganiseRecordsRead: 0,
    };
    const runOf = (s: StepState, finishedAt: string | null): ReconcileRun => ({
      cycle: carry.cycle,
      startedAt,
      finishedAt,
      coveredFrom: s.lower,
      coveredTo: s.upper,
      zendeskUsersRead: s.zendeskUsersRead,
      storeganiseRecordsRead: s.storeganiseRecordsRead,
      checked: s.counts.checked,
      queued: s.counts.queued,
      repaired: s.counts.repaired,
      linked: s.counts.linked,
      created: s.counts.created,
      conflicts: s.counts.conflicts,
      errors: s.counts.errors,
    });
    state = 'running';
    nextRunAt = null;
    current = runOf(step, null);
    publish();
    for (;;) {
      const input: StepInput = { account, job, state: step, stepMs: STEP_MS };
      const result = await pauses.step(() => bulkActs.reconcileStep(input));
      if (result.kind === 'deferred') {
        // A full sync covers the same ground; the cursors stay, so the next run covers this one's gap too.
        state = 'deferred';
        current = null;
        publish();
        return;
      }
      step = result.state;
      carry.lastExportAt = step.lastExportAt;
      current = runOf(step, null);
      publish();
      if (result.finished) break;
    }
    const run = runOf(step, new Date().toISOString());
    carry.zendesk = step.zendeskNext ?? carry.zendesk;
    carry.watermark = step.upper ?? carry.watermark;
    carry.lastRun = run;
    const t = carry.totals;
    carry.totals = {
      runs: t.runs + 1,
      repaired: t.repaired + run.repaired,
      linked: t.linked + run.linked,
      created: t.created + run.created,
      conflicts: t.conflicts + run.conflicts,
      errors: t.errors + run.errors,
    };
    current = null;
    publish();
  }
}
