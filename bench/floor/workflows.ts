import {
  condition,
  defineSignal,
  executeChild,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { FloorActivities } from './activities';

// The smallest workflows of each shape an event could take, doing no sync work: what Temporal itself
// costs per event on this machine (bench/temporal-floor.ts).

const acts = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10 seconds' });

export const floorEventSignal = defineSignal<[number]>('floorEvent');
/** An event's work is done; the second number is when it started (ms since the epoch). */
export const floorDoneSignal = defineSignal<[number, number]>('floorDone');

/** One execution per event, started by the ingress: one workflow task with one local activity. Returns when the work started. */
export async function floorRun(event: number): Promise<number> {
  return acts.work(event);
}

/** Like `floorRun`, started by its entity, to which it signals that it is done. */
export async function floorRunReporting(entityId: string, event: number): Promise<void> {
  const startedAt = await acts.work(event);
  await acts.reportDone(entityId, event, startedAt);
}

export type EntityShape = 'child' | 'started-by-activity' | 'inline';

/**
 * One per customer, serialising its events; it ends once it has run `expected` of them, and
 * returns when each event's work started, by event.
 */
export async function floorEntity(shape: EntityShape, expected: number): Promise<Record<number, number>> {
  const queue: number[] = [];
  const started: Record<number, number> = {};
  setHandler(floorEventSignal, (event) => void queue.push(event));
  setHandler(floorDoneSignal, (event, at) => {
    started[event] = at;
  });
  for (let ran = 0; ran < expected; ran++) {
    await condition(() => queue.length > 0);
    const event = queue.shift() ?? 0;
    const runId = `${workflowInfo().workflowId}-event-${event}`;
    if (shape === 'inline') started[event] = await acts.work(event);
    else if (shape === 'child') started[event] = await executeChild(floorRun, { workflowId: runId, args: [event] });
    else {
      await acts.startRun(workflowInfo().workflowId, runId, event);
      await condition(() => started[event] !== undefined);
    }
  }
  return started;
}
