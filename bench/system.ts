import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createApiApp } from '../api/app';
import { loadConfig, type Config } from '../lib/config';
import { Keyring } from '../lib/crypto';
import { dataConverterFor } from '../lib/data-converter';
import { RUNTIME_IMAGE_ENV } from '../scripts/runtime-image';
import { createLogger } from '../lib/logger';
import { ensureSearchAttributes } from '../lib/temporal';
import { freePort, startDevServer, type DevServer } from '../scripts/dev-server';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import {
  authorizeLink,
  authorizeThroughSandbox,
  installAddon,
  runningEventWorkflows,
  settleAccount,
  type SandboxInstallation,
} from '../sandbox/installation';
import { startStoreganiseSandbox, type StoreganiseSandbox } from '../sandbox/storeganise';
import { startZendeskSandbox, type ZendeskSandbox } from '../sandbox/zendesk';
import { WebhookTap } from './webhook-tap';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

export const STATUS_FIELD_KEY = 'customer_status';
const projectRoot = path.resolve(__dirname, '..');

export type BenchAccount = SandboxInstallation;

async function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The worker in its own process, started exactly as `npm run worker` starts it, so its memory is its own. */
export class WorkerProcess {
  private readonly output: string[] = [];
  private exited: string | null = null;

  private constructor(private readonly child: ChildProcess) {
    const collect = (data: Buffer): void => {
      const text = data.toString('utf8');
      this.output.push(text);
      if (this.output.length > 2_000) this.output.splice(0, this.output.length - 2_000);
      process.stderr.write(text.replace(/^/gm, '[worker] '));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code, signal) => {
      this.exited = `exited with ${code ?? signal}`;
    });
  }

  /**
   * `node --import tsx worker/main.ts`: one process (the `tsx` launcher would put a second one in
   * between); with BENCH_WORKER=dist, the production build instead (`node dist/worker/main.js` with
   * its prebuilt workflow bundle and the runtime image's environment; run `npm run build` first).
   * BENCH_WORKER_NODE_ARGS adds Node options, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
   */
  static start(env: Record<string, string>): WorkerProcess {
    const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
    const dist = process.env.BENCH_WORKER === 'dist';
    const entry = dist
      ? [path.join(projectRoot, 'dist', 'worker', 'main.js')]
      : ['--import', 'tsx', path.join(projectRoot, 'worker', 'main.ts')];
    const child = spawn(process.execPath, [...nodeArgs, ...entry], {
      cwd: projectRoot,
      env: { ...process.env, ...(dist ? RUNTIME_IMAGE_ENV : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WorkerProcess(child);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the worker process did not start');
    return this.child.pid;
  }

  /** Why the worker is gone, or null while it runs. */
  get exitReason(): string | null {
    return this.exited;
  }

  /** `VmHWM` and `VmRSS` from /proc, in bytes: the peak and current resident set. */
  memory(): { peakBytes: number; currentBytes: number } | null {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = (key: string): number =>
        Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
      return { peakBytes: kb('VmHWM'), currentBytes: kb('VmRSS') };
    } catch {
      return null;
    }
  }

  /** Resets the kernel's peak-RSS counter (Linux `clear_refs` 5), so a later `VmHWM` covers only what follows. */
  resetPeakMemory(): boolean {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    if (this.exited !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      this.child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}

/**
 * Everything the benchmark measures, wired like production: a Temporal dev server of its own, the
 * sandbox Zendesk and Storeganise on ephemeral ports, the API in this process (behind the webhook
 * tap) and the worker as a child process.
 */
export class BenchSystem {
  private constructor(
    readonly devServer: DevServer,
    readonly connection: Connection,
    readonly client: Client,
    readonly zendesk: ZendeskSandbox,
    readonly storeganise: StoreganiseSandbox,
    readonly config: Config,
    readonly worker: WorkerProcess,
    readonly tap: WebhookTap,
    private readonly apiServer: http.Server,
  ) {}

  /** The worker's Temporal metrics (Prometheus text). */
  get workerMetricsUrl(): string {
    return `http://127.0.0.1:${this.config.workerMetricsPort ?? 0}/metrics`;
  }

  /** `env` adds to (or replaces) the configuration of the API and the worker, e.g. `RECONCILE_INTERVAL`. */
  static async start(options: {
    logLevel: Config['logLevel'];
    log: (line: string) => void;
    env?: Record<string, string>;
  }): Promise<BenchSystem> {
    const { log } = options;
    const cli = await resolveTemporalCli(log);
    log('starting a Temporal dev server ...');
    const devServer = await startDevServer({ cli, readyTimeoutSeconds: 120 });
    const cleanup: Array<() => Promise<void>> = [() => devServer.stop()];
    try {
      const [zendesk, storeganise] = await Promise.all([startZendeskSandbox(), startStoreganiseSandbox()]);
      cleanup.push(
        () => zendesk.close(),
        () => storeganise.close(),
      );
      const port = await freePort();
      const metricsPort = await freePort();
      const env: Record<string, string> = {
        PORT: String(port),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        TEMPORAL_ADDRESS: devServer.address,
        TEMPORAL_NAMESPACE: devServer.namespace,
        TEMPORAL_TASK_QUEUE: `user-sync-bench-${randomBytes(3).toString('hex')}`,
        ENCRYPTION_KEY: Keyring.generateSpec(),
        SG_ADDON_API_KEY: `sandbox-addon-key-${randomBytes(6).toString('hex')}`,
        SG_WEBHOOK_SECRET: `sandbox-webhook-secret-${randomBytes(6).toString('hex')}`,
        STOREGANISE_URL_TEMPLATE: storeganise.urlTemplate,
        ZENDESK_URL_TEMPLATE: zendesk.urlTemplate,
        ZENDESK_CLIENT_ID: 'sg-zendesk-sync-bench',
        ZENDESK_CLIENT_SECRET: `sandbox-client-secret-${randomBytes(6).toString('hex')}`,
        WORKER_METRICS_PORT: String(metricsPort),
        LOG_LEVEL: options.logLevel,
        ...options.env,
      };
      const config = loadConfig(env);
      await zendesk.client.registerOAuthClient({
        clientId: config.zendesk.clientId,
        clientSecret: config.zendesk.clientSecret,
        redirectUris: [`${config.publicUrl}/oauth/zendesk/callback`],
      });

      const connection = await Connection.connect({ address: config.temporal.address });
      cleanup.push(() => connection.close());
      await ensureSearchAttributes(connection, config.temporal.namespace, SEARCH_ATTRIBUTE_KEYS);
      const client = new Client({
        connection,
        namespace: config.temporal.namespace,
        dataConverter: dataConverterFor(config.keyring),
      });

      log('starting the worker process (it bundles the workflows first) ...');
      const worker = WorkerProcess.start(env);
      cleanup.push(() => worker.stop());
      await eventually(
        'the worker to poll its task queue',
        async () => {
          if (worker.exitReason !== null) throw new Error(`the worker ${worker.exitReason}`);
          const { pollers } = await connection.workflowService.describeTaskQueue({
            namespace: config.temporal.namespace,
            taskQueue: { name: config.temporal.taskQueue },
            taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
          });
          return pollers.length > 0 ? true : null;
        },
        180_000,
      );

      const logger = createLogger(config.logLevel, { process: 'api' }, (line) => process.stderr.write(`[api] ${line}`));
      const { app } = createApiApp({ client, config, logger });
      const apiServer = http.createServer(app);
      await new Promise<void>((resolve) => apiServer.listen(config.port, '127.0.0.1', resolve));
      const tap = new WebhookTap(config.publicUrl);
      tap.install();
      return new BenchSystem(devServer, connection, client, zendesk, storeganise, config, worker, tap, apiServer);
    } catch (err) {
      for (const step of cleanup.reverse()) await step().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.tap.uninstall();
    await new Promise<void>((resolve) => {
      this.apiServer.close(() => resolve());
      this.apiServer.closeAllConnections();
    });
    await this.worker.stop();
    await Promise.all([this.zendesk.close(), this.storeganise.close()]);
    await this.connection.close();
    await this.devServer.stop();
  }

  /** A Storeganise account with the add-on installed, authorized in Zendesk through the sandbox consent. */
  async addAccount(subdomain: string, options: { zendeskRateLimitPerMinute: number }): Promise<BenchAccount> {
    const account = await installAddon(
      { zendesk: this.zendesk.client, storeganise: this.storeganise.client },
      {
        subdomain,
        zendeskSubdomain: `zd-${subdomain}`,
        publicUrl: this.config.publicUrl,
        addonApiKey: this.config.storeganise.addonApiKey,
        webhookSecret: this.config.storeganise.webhookSecret,
        statusFieldKey: STATUS_FIELD_KEY,
        zendesk: { rateLimitPerMinute: options.zendeskRateLimitPerMinute },
      },
    );
    const link = await eventually('the authorize admin task', () => authorizeLink(this.storeganise.client, subdomain));
    const done = await authorizeThroughSandbox(link);
    if (done.status !== 200) throw new Error(`the OAuth callback answered ${done.status}: ${done.body}`);
    await eventually('the service to register its Zendesk webhook', async () => {
      const hooks = await this.zendesk.client.webhooks(account.zendeskSubdomain);
      return hooks.some((w) => w.endpoint === `${this.config.publicUrl}/addon/zendesk/${subdomain}`) ? true : null;
    });
    return account;
  }

  runningEventWorkflows(account: BenchAccount): Promise<number> {
    return runningEventWorkflows(this.client, account.subdomain);
  }

  /** Waits until no webhook is in flight and every event workflow, echoes included, has finished. */
  settle(account: BenchAccount, timeoutMs: number): Promise<void> {
    return settleAccount(this.client, [this.zendesk, this.storeganise], account.subdomain, timeoutMs, () => {
      if (this.worker.exitReason !== null) throw new Error(`the worker ${this.worker.exitReason}`);
    });
  }
}
