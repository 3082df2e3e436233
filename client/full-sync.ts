import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { z } from 'zod';
import { fullSyncWorkflow } from '../workflows/full-sync';
import {
  FULL_SYNC_MEMO_KEY,
  fullSyncProgressQuery,
  fullSyncWorkflowId,
  type AccountRef,
  type FullSyncProgress,
} from '../workflows/definitions';
import { syncAccountKey } from '../workflows/search-attributes';

const ProgressSchema = z.object({
  state: z.enum([
    'counting',
    'reading',
    'running',
    'awaiting-authorization',
    'awaiting-settings',
    'completed',
    'cancelled',
    'failed',
  ]),
  mode: z.enum(['import', 'full']),
  done: z.number(),
  total: z.number(),
  linked: z.number(),
  created: z.number(),
  repaired: z.number(),
  conflicts: z.number(),
  errors: z.number(),
  inFlight: z.number(),
  startedAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});

/** How long the progress is asked of the workflow before its memo answers instead (a killed worker's sticky queue holds a query that long). */
const QUERY_DEADLINE_MS = 3_000;

/** The account's full sync as an operator sees it: which execution, whether it still runs, and its progress. */
export interface FullSyncView {
  workflowId: string;
  runId: string;
  running: boolean;
  progress: FullSyncProgress;
}

async function describe(client: Client, subdomain: string): Promise<WorkflowExecutionDescription | null> {
  try {
    return await client.workflow.getHandle(fullSyncWorkflowId(subdomain)).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** What an execution that ended says, from its memo (the last progress it published) and how it closed. */
function closedProgress(description: WorkflowExecutionDescription): FullSyncProgress | null {
  const parsed = ProgressSchema.safeParse(description.memo?.[FULL_SYNC_MEMO_KEY]);
  if (!parsed.success) return null;
  const progress = parsed.data;
  if (progress.state === 'completed' || progress.state === 'cancelled' || progress.state === 'failed') return progress;
  // Terminated or timed out before it could say so itself.
  const state =
    description.status.name === 'COMPLETED'
      ? 'completed'
      : description.status.name === 'CANCELLED'
        ? 'cancelled'
        : 'failed';
  return { ...progress, state, finishedAt: description.closeTime?.toISOString() ?? progress.updatedAt };
}

/**
 * The progress of the account's full sync (or import): asked of the running workflow, or, when no
 * worker answers, its last published memo; for one that ended, what it published last. Null when
 * the account never had one.
 */
export async function fullSyncView(client: Client, subdomain: string): Promise<FullSyncView | null> {
  const description = await describe(client, subdomain);
  if (description === null) return null;
  const ids = { workflowId: description.workflowId, runId: description.runId };
  if (description.status.name !== 'RUNNING') {
    const progress = closedProgress(description);
    return progress === null ? null : { ...ids, running: false, progress };
  }
  try {
    const handle = client.workflow.getHandle(description.workflowId, description.runId);
    const progress = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      handle.query(fullSyncProgressQuery),
    );
    return { ...ids, running: true, progress };
  } catch {
    // A query needs a worker (and waits for one while none polls); the memo is at most one step old.
    const parsed = ProgressSchema.safeParse(description.memo?.[FULL_SYNC_MEMO_KEY]);
    if (!parsed.success) return null;
    return { ...ids, running: true, progress: parsed.data };
  }
}

/**
 * Starts the account's full sync, or attaches to the one running (an import included): one per
 * account at a time. Answers the execution and whether it was already running.
 */
export async function startFullSync(
  client: Client,
  taskQueue: string,
  account: AccountRef,
): Promise<{ workflowId: string; runId: string; attached: boolean }> {
  const running = await describe(client, account.subdomain);
  if (running?.status.name === 'RUNNING')
    return { workflowId: running.workflowId, runId: running.runId, attached: true };
  const handle = await client.workflow.start(fullSyncWorkflow, {
    workflowId: fullSyncWorkflowId(account.subdomain),
    taskQueue,
    args: [{ account, mode: 'full' }],
    // Two operators at the same moment: the second attaches to the first's.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: syncAccountKey, value: account.subdomain }],
  });
  const attached = running !== null && running.runId === handle.firstExecutionRunId;
  return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, attached };
}

/** Cancels the account's running full sync; false when none runs. Runs it already queued still run, in order. */
export async function cancelFullSync(
  client: Client,
  subdomain: string,
): Promise<{ workflowId: string; runId: string } | null> {
  const running = await describe(client, subdomain);
  if (running?.status.name !== 'RUNNING') return null;
  await client.workflow.getHandle(running.workflowId, running.runId).cancel();
  return { workflowId: running.workflowId, runId: running.runId };
}
