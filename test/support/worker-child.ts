import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../lib/config';
import { dataConverterFor } from '../../lib/data-converter';
import { createLogger, secretsFromEnv } from '../../lib/logger';
import { createSyncWorker } from '../../worker/worker';

// The sync worker in a process of its own, for tests that SIGKILL it (test/support/worker-process.ts
// starts it): the product's worker with the test run's configuration, running the workflow bundle
// the run already made (TEST_WORKFLOW_BUNDLE, a file), so it starts in seconds instead of bundling.

async function main(): Promise<void> {
  const bundlePath = process.env.TEST_WORKFLOW_BUNDLE;
  if (bundlePath === undefined || bundlePath === '')
    throw new Error('TEST_WORKFLOW_BUNDLE: the path of a workflow bundle is required');
  const config = loadConfig(process.env);
  const logger = createLogger(
    config.logLevel,
    { process: 'worker', pid: process.pid },
    undefined,
    secretsFromEnv(process.env),
  );
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({
    connection: clientConnection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config.keyring),
  });
  const worker = await createSyncWorker({
    config,
    connection,
    client,
    logger,
    workflowBundle: { code: readFileSync(bundlePath, 'utf8') },
  });
  process.stdout.write(`worker ${process.pid} polling ${config.temporal.taskQueue}\n`);
  await worker.run();
  await connection.close();
  await clientConnection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
