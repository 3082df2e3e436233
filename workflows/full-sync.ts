import {
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities';
import {
  FULL_SYNC_MEMO_KEY,
  fullSyncProgressQuery,
  type AccountRef,
  type FullSyncProgress,
  type FullSyncState,
} from './definitions';
import { bulkActs } from './bulk-run';
import { EventRun } from './event-run';
import { syncAccountKey, syncProgressKey } from './search-attributes';

type StepInput = Parameters<SyncActivities['fullSyncStep']>[0];
type StepState = StepInput['state'];

export interface FullSyncInput {
  account: AccountRef;
  /** `import`: link and create only (what first authorization runs); `full`: every pair ends equal. */
  mode: 'import' | 'full';
  /** Carried over by continue-as-new. */
  carry?: FullSyncCarry;
}

export interface FullSyncCarry {
  jobId: string;
  startedAt: number;
  total: number | null;
  step: StepState;
}

/** How long each step runs before it hands its progress back: what the progress bar moves by. */
const STEP_MS = 5_000;
const ROLL_AT_HISTORY = 2_000;

const initialStep = (): StepState => ({
  offset: 0,
  exhausted: false,
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
  lastExportAt: 0,
});

/**
 * The initial import (on first authorization) or a full sync (an operator's): reads Zendesk in
 * bulk (the incremental export from the start), then every Storeganise customer page by page,
 * and queues a run on each customer's entity that needs one (in order with its live events), as
 * fast as the account's Zendesk budget leaves room beside live traffic. Resumable: every step's
 * progress is held here, so a killed worker repeats at most one step. One per account at a time
 * (`full-sync:{account}`); its progress is a query, its memo, and the `SyncProgress` attribute.
 */
export async function fullSyncWorkflow(input: FullSyncInput): Promise<FullSyncProgress> {
  const { account, mode } = input;
  const carry: FullSyncCarry = input.carry ?? {
    jobId: uuid4().slice(0, 8),
    startedAt: Date.now(),
    total: null,
    step: initialStep(),
  };
  let state: FullSyncState =
    carry.total === null ? 'counting' : carry.step.counts.checked === 0 ? 'reading' : 'running';
  let finishedAt: number | null = null;
  let updatedAt = Date.now();

  const progress = (): FullSyncProgress => {
    const { counts, pending, items } = carry.step;
    const done = counts.fine + counts.finished;
    return {
      state,
      mode,
      done,
      // Customers added meanwhile make the count grow; done never passes total.
      total: Math.max(carry.total ?? 0, done + pending.length + items.length),
      linked: counts.linked,
      created: counts.created,
      repaired: counts.repaired,
      conflicts: counts.conflicts,
      errors: counts.errors,
      inFlight: pending.length,
      startedAt: new Date(carry.startedAt).toISOString(),
      updatedAt: new Date(updatedAt).toISOString(),
      finishedAt: finishedAt === null ? null : new Date(finishedAt).toISOString(),
    };
  };
  let published = '';
  const publish = (): void => {
    const now = progress();
    const label =
      state === 'completed' || state === 'cancelled' || state === 'failed'
        ? `${state} ${now.done}/${now.total}`
        : `${now.done}/${now.total}`;
    const serialised = JSON.stringify({ ...now, updatedAt: null });
    if (serialised === published) return;
    published = serialised;
    upsertMemo({ [FULL_SYNC_MEMO_KEY]: now });
    upsertSearchAttributes([{ key: syncProgressKey, value: label }]);
  };

  setHandler(fullSyncProgressQuery, progress);
  const pauses = new EventRun(account, (pause) => {
    state = pause ?? 'running';
    publish();
  });
  // Neither the memo nor the attribute follows continue-as-new on its own.
  upsertSearchAttributes([{ key: syncAccountKey, value: account.subdomain }]);
  publish();

  try {
    if (carry.total === null) {
      carry.total = await bulkActs.countStoreganiseCustomers(account);
      state = 'reading';
      publish();
    }
    for (;;) {
      const job = { kind: mode === 'import' ? ('import' as const) : ('full-sync' as const), id: carry.jobId };
      const result = await pauses.step(() =>
        bulkActs.fullSyncStep({ account, job, mode, state: carry.step, stepMs: STEP_MS }),
      );
      if (result.kind === 'deferred') continue;
      carry.step = result.state;
      updatedAt = Date.now();
      if (carry.step.counts.checked > 0 && state === 'reading') state = 'running';
      publish();
      if (result.finished) break;
      if (workflowInfo().historyLength > ROLL_AT_HISTORY || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof fullSyncWorkflow>({ account, mode, carry });
      }
    }
    state = 'completed';
    finishedAt = Date.now();
    publish();
    return progress();
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    state = isCancellation(err) ? 'cancelled' : 'failed';
    finishedAt = Date.now();
    // Runs already queued still run in their customers' order; the progress says how far it got.
    publish();
    throw err;
  }
}
