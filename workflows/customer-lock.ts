import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import type { SyncBase } from '../domain/plan';
import { acquireLockSignal, lockGrantedSignal, lockProbeSignal, releaseLockSignal, type LockRequest } from './definitions';

export interface CustomerLockState {
  queue: LockRequest[];
  holder: LockRequest | null;
  /** The customer's sync base, handed from holder to holder. */
  base?: SyncBase;
}

/**
 * How long an idle lock lingers before it completes (and forgets the base). Echoes and delayed
 * webhooks arrive well within it; after it, both sides have long settled.
 */
const IDLE_BEFORE_EXIT = '10 minutes';
/** How long a holder may keep the lock before the lock checks that it still exists. */
const PROBE_HOLDER_AFTER = '5 minutes';

/**
 * Serialises the events of one customer: grants the lock to one event workflow at a time, in the
 * order the requests arrived, and tells a holder when a later request will redo the same work.
 */
export async function customerLock(state: CustomerLockState): Promise<void> {
  const queue = [...state.queue];
  let holder = state.holder;
  let base: SyncBase = state.base ?? {};

  setHandler(acquireLockSignal, (request) => {
    if (holder?.workflowId === request.workflowId || queue.some((r) => r.workflowId === request.workflowId)) return;
    queue.push(request);
  });
  setHandler(releaseLockSignal, (release) => {
    const { workflowId } = release;
    if (holder?.workflowId === workflowId) {
      holder = null;
      if (release.base) base = release.base;
    }
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
        await getExternalWorkflowHandle(next.workflowId).signal(lockGrantedSignal, { superseded, base });
      } catch {
        // The requester no longer runs (terminated by an operator): the next one goes.
        holder = null;
        continue;
      }
    }
    const current = holder;
    // The holder may release before the grant's delivery is acknowledged here; then grant the next one now.
    if (current === null) continue;
    if (!(await condition(() => holder !== current, PROBE_HOLDER_AFTER)) && holder === current && current !== null) {
      try {
        await getExternalWorkflowHandle(current.workflowId).signal(lockProbeSignal);
      } catch {
        if (holder === current) holder = null;
      }
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof customerLock>({ queue, holder, base });
    }
  }
}
