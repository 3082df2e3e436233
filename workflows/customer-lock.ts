import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import { acquireLockSignal, lockGrantedSignal, lockProbeSignal, releaseLockSignal, type LockRequest } from './definitions';

export interface CustomerLockState {
  queue: LockRequest[];
  holder: LockRequest | null;
}

/** How long an idle lock lingers for the next event before it completes. */
const IDLE_BEFORE_EXIT = '30 seconds';
/** How long a holder may keep the lock before the lock checks that it still exists. */
const PROBE_HOLDER_AFTER = '5 minutes';

/**
 * Serialises the events of one customer: grants the lock to one event workflow at a time, in the
 * order the requests arrived, and tells a holder when a later request will redo the same work.
 */
export async function customerLock(state: CustomerLockState): Promise<void> {
  const queue = [...state.queue];
  let holder = state.holder;

  setHandler(acquireLockSignal, (request) => {
    if (holder?.workflowId === request.workflowId || queue.some((r) => r.workflowId === request.workflowId)) return;
    queue.push(request);
  });
  setHandler(releaseLockSignal, ({ workflowId }) => {
    if (holder?.workflowId === workflowId) holder = null;
    else {
      const waiting = queue.findIndex((r) => r.workflowId === workflowId);
      if (waiting >= 0) queue.splice(waiting, 1);
    }
  });

  for (;;) {
    if (holder === null) {
      if (queue.length === 0 && !(await condition(() => queue.length > 0, IDLE_BEFORE_EXIT))) {
        await condition(allHandlersFinished);
        if (queue.length === 0) return;
      }
      const next = queue.shift();
      if (next === undefined) continue;
      holder = next;
      const superseded = queue.some((r) => r.coalesceKey === next.coalesceKey);
      try {
        await getExternalWorkflowHandle(next.workflowId).signal(lockGrantedSignal, { superseded });
      } catch {
        // The requester no longer runs (terminated by an operator): the next one goes.
        holder = null;
        continue;
      }
    }
    const current = holder;
    if (!(await condition(() => holder !== current, PROBE_HOLDER_AFTER)) && holder === current && current !== null) {
      try {
        await getExternalWorkflowHandle(current.workflowId).signal(lockProbeSignal);
      } catch {
        if (holder === current) holder = null;
      }
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof customerLock>({ queue, holder });
    }
  }
}
