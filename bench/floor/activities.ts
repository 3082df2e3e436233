import type { Client } from '@temporalio/client';

export const FLOOR_TASK_QUEUE = 'temporal-floor';

export function floorActivities(client: Client) {
  return {
    /** The work of an event: none, so that only Temporal's cost is measured. */
    work(event: number): Promise<number> {
      return Promise.resolve(event);
    },
    async startRun(entityId: string, runId: string, event: number): Promise<void> {
      await client.workflow.start('floorRunReporting', {
        taskQueue: FLOOR_TASK_QUEUE,
        workflowId: runId,
        args: [entityId, event],
      });
    },
    async reportDone(entityId: string, event: number): Promise<void> {
      await client.workflow.getHandle(entityId).signal('floorDone', event);
    },
  };
}

export type FloorActivities = ReturnType<typeof floorActivities>;
