import {
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  patched,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AccountRef } from '../definitions';
import { syncAccountKey, syncCustomerKey, syncStateKey } from '../search-attributes';
import {
  enqueueEventSignal,
  HAND_OVER_PATCH,
  lockStatusQuery,
  type LegacyActivities,
  type LegacyCustomerEvent as CustomerEvent,
  type LockContext,
  type SyncResult,
} from './definitions';
import { isStoreganiseEcho, isZendeskEcho, type OwnWrites } from './echo';
import type { SyncBase } from './plan';

const { handOverLegacyEvents } = proxyLocalActivities<LegacyActivities>({ startToCloseTimeout: '1 minute' });

export interface CustomerLockInput {
  account: AccountRef;
  /** `sg:{storeganise user id}`, or `zd:{zendesk user id}` for a Zendesk user not linked yet. */
  customer: string;
  /** Carried over by continue-as-new. */
  queue?: CustomerEvent[];
  base?: SyncBase;
  writes?: OwnWrites | null;
  recent?: string[];
  mustRun?: string[];
}

/**
 * How long an idle lock lingers before it completes (and forgets the base). Echoes and delayed
 * webhooks arrive well within it; after it, both sides have long settled.
 */
const IDLE_BEFORE_EXIT = '10 minutes';
/** Event workflow ids already run, so a redelivery queued again is dropped here too. */
const RECENT_IDS = 200;

const WORKFLOW_OF: Record<CustomerEvent['kind'], string> = {
  'storeganise-user': 'syncStoreganiseUserEvent',
  'zendesk-user': 'syncZendeskUserEvent',
  'customer-status': 'syncCustomerStatus',
};

const sideOf = (event: CustomerEvent): 'storeganise' | 'zendesk' =>
  event.kind === 'zendesk-user' ? 'zendesk' : 'storeganise';

/**
 * Serialises the events of one customer: runs each as a child workflow (id derived from the event
 * id, so Temporal rejects a duplicate), one at a time in arrival order, handing each the values
 * both sides last agreed on and what the previous run wrote.
 */
export async function customerLock(input: CustomerLockInput): Promise<void> {
  const queue = [...(input.queue ?? [])];
  const recent = [...(input.recent ?? [])];
  let base: SyncBase = input.base ?? {};
  let writes: OwnWrites | null = input.writes ?? null;
  // Events that made an earlier one unnecessary: they must run, even if they look like an echo.
  const mustRun = new Set(input.mustRun ?? []);
  let running: string | null = null;
  // Locks started before this change remember an event only after it ran and know no successors.
  const dedupeAtDequeue = patched('customer-lock-dedupe-at-dequeue');
  setHandler(lockStatusQuery, () => ({ running, queued: queue.length }));

  const remember = (workflowId: string): void => {
    recent.push(workflowId);
    if (recent.length > RECENT_IDS) recent.splice(0, recent.length - RECENT_IDS);
  };

  setHandler(enqueueEventSignal, (event) => {
    if (recent.includes(event.workflowId) || queue.some((q) => q.workflowId === event.workflowId)) return;
    queue.push(event);
  });

  for (;;) {
    if (queue.length === 0 && !(await condition(() => queue.length > 0, IDLE_BEFORE_EXIT))) {
      await condition(allHandlersFinished);
      if (queue.length === 0) return;
    }
    const shifted = queue.shift();
    if (shifted === undefined) continue;
    const next: CustomerEvent = shifted;
    if (patched(HAND_OVER_PATCH)) {
      await handOverLegacyEvents(input.account, input.customer, [next, ...queue]);
      return;
    }
    // Remembered before it runs: a redelivered copy arriving meanwhile is dropped, never queued again.
    if (dedupeAtDequeue) remember(next.workflowId);
    const required = dedupeAtDequeue && mustRun.delete(next.workflowId);

    const now = Date.now();
    const echo =
      !required &&
      (next.kind === 'zendesk-user'
        ? isZendeskEcho(writes, next.event.zendeskUserId, next.event.change, now)
        : next.kind === 'storeganise-user' && isStoreganiseEcho(writes, next.event.changedKeys, now));
    if (echo && writes) {
      // The webhook of the previous run's own write: nothing changed that the sync does not know.
      // Like the ingress dropping the echo of a pointer write, it starts no workflow; it stays in
      // this lock's history (the enqueue signal) and the log.
      log.info('echo of the sync own write: no workflow started', { workflowId: next.workflowId, echoOf: writes.by });
      // Storeganise reports each write once: its echo is matched once.
      if (next.kind === 'storeganise-user') writes = { ...writes, storeganiseKeys: null };
      if (!dedupeAtDequeue) remember(next.workflowId);
      continue;
    }
    const successor = queue.find((q) => q.coalesceKey === next.coalesceKey);
    if (successor && dedupeAtDequeue) mustRun.add(successor.workflowId);
    const lock: LockContext = {
      base,
      superseded: successor !== undefined,
      echoOf: null,
      otherSideQueued: queue.some((q) => sideOf(q) !== sideOf(next)),
    };

    running = next.workflowId;
    try {
      const result = await executeChild<(event: typeof next.event) => Promise<SyncResult>>(WORKFLOW_OF[next.kind], {
        workflowId: next.workflowId,
        args: [{ ...next.event, lock }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        // Terminating a lock (an operator's act) must not terminate the customer's event in flight.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: syncAccountKey, value: input.account.subdomain },
          { key: syncCustomerKey, value: input.customer },
          { key: syncStateKey, value: 'running' },
        ],
      });
      if (result.base) base = result.base;
      if (result.wrote && (result.wrote.zendesk || result.wrote.storeganiseKeys))
        writes = { ...result.wrote, by: next.workflowId, at: Date.now() };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
        // The event failed (or was terminated): it is visible as such; the customer's next events still run.
        log.warn('customer event did not complete', {
          workflowId: next.workflowId,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    running = null;
    if (!dedupeAtDequeue) remember(next.workflowId);
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof customerLock>({ ...input, queue, base, writes, recent, mustRun: [...mustRun] });
    }
  }
}
