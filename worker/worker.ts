import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../lib/config';
import { dataConverterFor, failureConverterPath } from '../lib/data-converter';
import type { Logger } from '../lib/logger';

export const workflowsPath = require.resolve('../workflows');

/**
 * Modules evaluated once per worker and shared by every workflow instead of once per workflow
 * execution (the reusable V8 context gives each execution its own module instances otherwise).
 * Only pure modules: no state of their own, and they are frozen once loaded. The phone metadata
 * (loaded by `phones`) alone is a 150 KiB object that every execution rebuilt.
 */
export const PRELOADED_WORKFLOW_MODULES = ['records', 'names', 'phones', 'convergence', 'pair-plan', 'tasks'].map((m) =>
  require.resolve(`../domain/${m}`),
);

/** How the workflows are bundled, wherever that happens: `npm run build`, a worker from source, the tests. */
export const workflowBundleOptions = {
  workflowsPath,
  failureConverterPath,
  preloadModules: PRELOADED_WORKFLOW_MODULES,
};

/** Where `npm run build` writes the prebuilt workflow bundle, next to the compiled code (`dist/`). */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';
export const prebuiltBundlePath = path.join(__dirname, '..', WORKFLOW_BUNDLE_FILE);

/**
 * The workflow code a worker runs: the bundle `npm run build` prebuilt, when this is the built
 * worker; otherwise (from source: `npm start`, tests) the workflows bundled at start.
 */
export function workflowCode(
  bundle?: WorkflowBundle,
):
  | { workflowBundle: WorkflowBundle | { codePath: string } }
  | { workflowsPath: string; bundlerOptions: { preloadModules: string[] } } {
  if (bundle) return { workflowBundle: bundle };
  return existsSync(prebuiltBundlePath)
    ? { workflowBundle: { codePath: prebuiltBundlePath } }
    : { workflowsPath, bundlerOptions: { preloadModules: PRELOADED_WORKFLOW_MODULES } };
}

/** The sync worker: every workflow and activity of the product on one task queue. */
export async function createSyncWorker(options: {
  config: Config;
  connection: NativeConnection;
  client: Client;
  logger: Logger;
  /** A bundle made in this process (tests, benchmarks); otherwise the prebuilt one, or the workflows bundled at start. */
  workflowBundle?: WorkflowBundle;
}): Promise<Worker> {
  const { config, connection, client, logger } = options;
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...workflowCode(options.workflowBundle),
    activities: createActivities({ config, temporal: client, logger }),
    dataConverter: dataConverterFor(config.keyring),
    maxConcurrentActivityTaskExecutions: 200,
    // A run reads and writes within one local activity; fewer at once keep each one's read-to-write
    // gap short under load (waiting happens before the read, where it costs no correctness).
    maxConcurrentLocalActivityExecutions: 32,
    maxConcurrentWorkflowTaskExecutions: 100,
    // After a full sync thousands of entities sit idle: the cache keeps the busy ones, and an
    // entity evicted replays its short history when it wakes.
    maxCachedWorkflows: 500,
  });
}
