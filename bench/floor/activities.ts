import type { Client } from '@temporalio/client';

export const FLOOR_TASK_QUEUE = 'temporal-floor';

export function floorActivities(client: Client) {
  return {
    /** The work of an event: none, so that only Temporal's cost is measured. Returns when it started. */
    work(_event: number): Promise<number> {
      return Promise.resolve(Date.now());
    },
    async startRun(entityId: string, runId: string, event: number): Promise<void> {
      await client.workflow.start('floorRunReporting', {
        taskQueue: FLOOR_TASK_QUEUE,
        workflowId: runId,
        args: [entityId, event],
      });
    },
    async reportDone(entityId: string, event: number, startedAt: number): Promise<void> {
      await client.workflow.getHandle(entityId).signal('floorDone', event, startedAt);
    },
  };
}

export type FloorActivities = ReturnType<typeof floorActivities>;
