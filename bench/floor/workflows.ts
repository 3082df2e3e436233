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
export const floorDoneSignal = defineSignal<[number]>('floorDone');

/** One execution per event, started by the ingress: one workflow task with one local activity. */
export async function floorRun(event: number): Promise<number> {
  return acts.work(event);
}

/** Like `floorRun`, started by its entity, to which it signals that it is done. */
export async function floorRunReporting(entityId: string, event: number): Promise<void> {
  await acts.work(event);
  await acts.reportDone(entityId, event);
}

export type EntityShape = 'child' | 'started-by-activity' | 'inline';

/** One per customer, serialising its events; it ends once it has run `expected` of them. */
export async function floorEntity(shape: EntityShape, expected: number): Promise<void> {
  const queue: number[] = [];
  const done = new Set<number>();
  setHandler(floorEventSignal, (event) => void queue.push(event));
  setHandler(floorDoneSignal, (event) => void done.add(event));
  for (let ran = 0; ran < expected; ran++) {
    await condition(() => queue.length > 0);
    const event = queue.shift() ?? 0;
    const runId = `${workflowInfo().workflowId}-event-${event}`;
    if (shape === 'inline') await acts.work(event);
    else if (shape === 'child') await executeChild(floorRun, { workflowId: runId, args: [event] });
    else {
      await acts.startRun(workflowInfo().workflowId, runId, event);
      await condition(() => done.has(event));
    }
  }
}
