import net from 'node:net';
import v8 from 'node:v8';
import { DefaultLogger, NativeConnection, Runtime, type LogEntry } from '@temporalio/worker';
import { loadConfigOrExit, temporalSecretsFromEnv, type Config, type LogLevel } from '../lib/config';
import { createLogger, secretsFromEnv, type LogFields, type Logger } from '../lib/logger';
import { connectClient, StartupError, withTemporalRetry } from '../lib/temporal';
import { createSyncWorker, workflowCode } from './worker';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

/** The metrics endpoint's port is checked first: the SDK's own error for a taken port names neither port nor variable. */
function ensureMetricsPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new StartupError(
          err.code === 'EADDRINUSE'
            ? `metrics port ${port} on ${host} is in use by another process; set WORKER_METRICS_PORT to another port (or leave it empty to turn metrics off)`
            : `cannot listen on ${host}:${port} for metrics (WORKER_METRICS_PORT, HOST): ${err.message}`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

const bindAddress = (host: string, port: number): string =>
  net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;

const SDK_LEVEL = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

/** A log value fit for one JSON line: big integers as strings (JSON has none), everything else as is. */
function jsonSafe(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error || value === null || typeof value !== 'object' || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v, depth + 1)]));
}

/**
 * Everything the Temporal SDK logs (the worker, the Rust core, and the workflows' own `log`, such
 * as the customer entity's one `event outcome` line per event) as one JSON object per line,
 * through the product's logger, so secrets are redacted like in every other line.
 */
export function sdkLogFunction(logger: Logger): (entry: LogEntry) => void {
  return (entry) => {
    const level: LogLevel = entry.level === 'TRACE' ? 'debug' : (entry.level.toLowerCase() as LogLevel);
    const { sdkComponent, ...meta } = entry.meta ?? {};
    logger[level](entry.message, {
      sdk: typeof sdkComponent === 'string' ? sdkComponent : 'worker',
      ...(jsonSafe(meta) as LogFields),
    });
  };
}

function installRuntime(config: Config, logger: Logger): void {
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVEL[config.logLevel], sdkLogFunction(logger)),
    ...(config.workerMetricsPort === null
      ? {}
      : {
          telemetryOptions: {
            metrics: { prometheus: { bindAddress: bindAddress(config.host, config.workerMetricsPort) } },
          },
        }),
  });
}

/**
 * V8 lets the old generation grow to several times what survived the last full collection before
 * it collects again; the worker's garbage is mostly short-lived payloads promoted under load, so
 * its resident memory grew with the backlog. At 1.25 times, `npm run bench` (saturated) measured a
 * peak of 274 MiB instead of 537, for 2 to 6 ms more worker CPU per edit. A growth factor is not a
 * cap: a large account's full sync still gets the heap it needs. Set here because NODE_OPTIONS
 * refuses this flag; V8 reads it whenever it sizes the heap after a full collection.
 */
export const WORKER_V8_FLAGS = '--heap-growing-percent=25';

/** Production entry point: `npm run worker`. Scales horizontally: run as many as the load needs. */
async function main(): Promise<void> {
  v8.setFlagsFromString(WORKER_V8_FLAGS);
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { process: 'worker' }, undefined, [
    ...secretsFromEnv(process.env),
    ...temporalSecretsFromEnv(process.env),
  ]);
  if (config.workerMetricsPort !== null) await ensureMetricsPortFree(config.host, config.workerMetricsPort);
  installRuntime(config, logger);
  logger.info('worker connecting to Temporal', {
    temporal: config.temporalConnection.summary,
    namespace: config.temporal.namespace,
  });
  const { client, connection: clientConnection } = await connectClient(config, SEARCH_ATTRIBUTE_KEYS, logger);
  let connection: NativeConnection | null = null;
  try {
    connection = await withTemporalRetry(config, logger, 'the worker connection', () =>
      NativeConnection.connect(config.temporalConnection.options),
    );
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

if (require.main === module) {
  main().catch((err: unknown) => {
    // A problem the operator fixes from the message alone gets one line, not a stack trace.
    console.error(err instanceof StartupError ? `worker: ${err.message}` : err);
    process.exit(1);
  });
}
