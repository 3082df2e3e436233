import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../lib/config';
import { dataConverterFor } from '../lib/data-converter';
import type { Logger } from '../lib/logger';

export const workflowsPath = require.resolve('../workflows');

/** The sync worker: every workflow and activity of the product on one task queue. */
export async function createSyncWorker(options: {
  config: Config;
  connection: NativeConnection;
  client: Client;
  logger: Logger;
  /** A pre-built bundle (tests, benchmarks); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkflowBundle;
}): Promise<Worker> {
  const { config, connection, client, logger } = options;
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    activities: createActivities({ config, temporal: client, logger }),
    dataConverter: dataConverterFor(config.keyring),
    maxConcurrentActivityTaskExecutions: 200,
    // A run reads and writes within one local activity; fewer at once keep each one's read-to-write
    // gap short under load (waiting happens before the read, where it costs no correctness).
    maxConcurrentLocalActivityExecutions: 32,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxCachedWorkflows: 2_000,
  });
}
