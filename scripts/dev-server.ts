import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';

export interface DevServerOptions {
  cli: string;
  namespace?: string;
  /** gRPC port; 0 or absent picks a free one. */
  port?: number;
  /** Web UI port; absent = headless. */
  uiPort?: number;
  /** Remote codec endpoint the Web UI uses to decode payloads. */
  uiCodecEndpoint?: string;
  /** SQLite file for persistence; absent = in memory. */
  dbFilename?: string;
  /** Seconds to wait for the frontend to answer. */
  readyTimeoutSeconds?: number;
  /**
   * How long the namespace keeps closed executions, i.e. the sync log (the dev server's own
   * default is one day). Default: SYNC_LOG_RETENTION_DAYS, else 30.
   */
  retentionDays?: number;
}

/**
 * Server settings for a sync that answers in milliseconds, given to every dev server started here
 * and, through scripts/temporal-dynamicconfig.yaml, to the compose Temporal (test/compose.test.ts
 * checks both agree). The history service reads new tasks (a new run's first workflow task, a
 * child to start) at most `transferProcessorMaxPollRPS` times a second per shard: at the default
 * 20, each waited up to 50 ms, about 100 ms of an edit's way (`npm run bench -- --profile`).
 */
export const TEMPORAL_DYNAMIC_CONFIG: Readonly<Record<string, number>> = {
  'history.transferProcessorMaxPollRPS': 200,
};

/** The sync log's retention the embedded server gets unless told otherwise (SYNC_LOG_RETENTION_DAYS, README). */
export function retentionDaysFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.SYNC_LOG_RETENTION_DAYS?.trim();
  const days = raw === undefined || raw === '' ? 30 : Number(raw);
  return Number.isInteger(days) && days >= 1 ? days : 30;
}

export interface DevServer {
  readonly address: string;
  readonly namespace: string;
  readonly uiUrl: string | null;
  /** Everything the server printed so far; shown when it fails. */
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL now, for a process on its way out that cannot wait for `stop`. */
  kill(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts `temporal server start-dev` and resolves once its frontend answers gRPC calls. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const namespace = options.namespace ?? 'default';
  const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...Object.entries(TEMPORAL_DYNAMIC_CONFIG).flatMap(([key, value]) => [
      '--dynamic-config-value',
      `${key}=${JSON.stringify(value)}`,
    ]),
  ];
  if (options.uiPort === undefined) args.push('--headless');
  else {
    args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch');
    if (options.uiCodecEndpoint !== undefined) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  }
  if (options.dbFilename !== undefined) args.push('--db-filename', options.dbFilename);

  const child = spawn(options.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  const collect = (data: Buffer): void => {
    chunks.push(data.toString('utf8'));
    if (chunks.length > 500) chunks.splice(0, chunks.length - 500);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const output = (): string => chunks.join('');
  const status: { exited: string | null } = { exited: null };
  child.once('exit', (code, signal) => {
    status.exited = `exited with ${code ?? signal}`;
  });
  child.once('error', (err) => {
    status.exited = `could not start: ${err.message}`;
  });

  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutSeconds ?? 60) * 1000;
  for (;;) {
    if (status.exited !== null) throw new Error(`Temporal dev server ${status.exited}. Its output:\n${output()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        // The sync log is the namespace's closed executions: keep them as long as it promises.
        const days = options.retentionDays ?? retentionDaysFrom(process.env);
        await connection.workflowService.updateNamespace({
          namespace,
          config: { workflowExecutionRetentionTtl: msToTs(`${days} days`) },
        });
        break;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        await stopChild(child);
        throw new Error(
          `Temporal dev server did not become ready at ${address}: ${String(err)}. Its output:\n${output()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    address,
    namespace,
    uiUrl: options.uiPort === undefined ? null : `http://127.0.0.1:${options.uiPort}`,
    output,
    stop: () => stopChild(child),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
