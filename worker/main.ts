import net from 'node:net';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfigOrExit, temporalSecretsFromEnv, type Config } from '../lib/config';
import { createLogger, secretsFromEnv } from '../lib/logger';
import { connectClient, StartupError, withTemporalRetry } from '../lib/temporal';
import { createSyncWorker, workflowCode } from './worker';

/** The metrics endpoint's port is checked first: the SDK's own error for a taken port names neither port nor variable. */
function ensureMetricsPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new StartupError(err.code === 'EADDRINUSE' ? `metrics port ${port} on ${host} is in use by another process; set WORKER_METRICS_PORT to another port (or leave it empty to turn metrics off)` : `cannot listen on ${host}:${port} for metrics (WORKER_METRICS_PORT, HOST): ${err.message}`)),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

const bindAddress = (host: string, port: number): string => (net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`);

function installRuntime(config: Config): void {
  Runtime.install({
    logger: new DefaultLogger(config.logLevel === 'debug' ? 'DEBUG' : 'WARN'),
    ...(config.workerMetricsPort === null ? {} : { telemetryOptions: { metrics: { prometheus: { bindAddress: bindAddress(config.host, config.workerMetricsPort) } } } }),
  });
}

/** Production entry point: `npm run worker`. Scales horizontally: run as many as the load needs. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { process: 'worker' }, undefined, [...secretsFromEnv(process.env), ...temporalSecretsFromEnv(process.env)]);
  if (config.workerMetricsPort !== null) await ensureMetricsPortFree(config.host, config.workerMetricsPort);
  installRuntime(config);
  logger.info('worker connecting to Temporal', { temporal: config.temporalConnection.summary, namespace: config.temporal.namespace });
  const { client, connection: clientConnection } = await connectClient(config, logger);
  let connection: NativeConnection | null = null;
  try {
    connection = await withTemporalRetry(config, logger, 'the worker connection', () => NativeConnection.connect(config.temporalConnection.options));
    const code = workflowCode();
    const worker = await createSyncWorker({ config, connection, client, logger });
    logger.info('worker started', {
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      metricsPort: config.workerMetricsPort,
      workflows: 'workflowBundle' in code ? 'prebuilt bundle' : 'bundled at start from source',
    });
    await worker.run();
  } finally {
    await connection?.close();
    await clientConnection.close();
  }
}

main().catch((err: unknown) => {
  // A problem the operator fixes from the message alone gets one line, not a stack trace.
  console.error(err instanceof StartupError ? `worker: ${err.message}` : err);
  process.exit(1);
});
