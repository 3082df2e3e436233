import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfigOrExit } from '../lib/config';
import { createLogger, secretsFromEnv } from '../lib/logger';
import { connectClient } from '../lib/temporal';
import { createSyncWorker } from './worker';

/** Production entry point: `npm run worker`. Scales horizontally: run as many as the load needs. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { process: 'worker' }, undefined, secretsFromEnv(process.env));
  Runtime.install({
    logger: new DefaultLogger(config.logLevel === 'debug' ? 'DEBUG' : 'WARN'),
    ...(config.workerMetricsPort === null
      ? {}
      : { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${config.workerMetricsPort}` } } } }),
  });
  const { client, connection: clientConnection } = await connectClient(config);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  try {
    const worker = await createSyncWorker({ config, connection, client, logger });
    logger.info('worker started', { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, metricsPort: config.workerMetricsPort });
    await worker.run();
  } finally {
    await connection.close();
    await clientConnection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
