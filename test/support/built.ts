import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { Keyring } from '../../lib/crypto';
import { dataConverterFor } from '../../lib/data-converter';
import { freePort } from '../../scripts/dev-server';
import { RUNTIME_IMAGE_ENV } from '../../scripts/runtime-image';
import {
  authorizeLink,
  authorizeThroughSandbox,
  installAddon,
  settleAccount,
  type SandboxInstallation,
} from '../../sandbox/installation';
import { startStoreganiseSandbox, type StoreganiseSandbox } from '../../sandbox/storeganise';
import { startZendeskSandbox, type ZendeskSandbox } from '../../sandbox/zendesk';
import { testHarness } from '../hooks';
import { eventually } from './eventually';
import { captureTestLogs, registerTestSecrets, writeTestLog } from './log-capture';

const projectRoot = path.resolve(__dirname, '..', '..');

let build: Promise<void> | null = null;

/** `npm run build`, once per test run: every test of the built processes uses the same `dist/`. */
export function buildOnce(): Promise<void> {
  build ??= new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const result = spawnSync('npm', ['run', 'build'], { cwd: projectRoot, encoding: 'utf8' });
    if (result.status === 0) {
      console.log(`      (npm run build: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      resolve();
    } else
      reject(
        new Error(
          `npm run build failed (${result.status ?? result.signal ?? 'unknown'}):\n${result.stdout}\n${result.stderr}`,
        ),
      );
  });
  return build;
}

export type ServiceName = 'api' | 'worker';

/** One production process, run as the Dockerfile runs it: `node dist/<name>/main.js`. */
export class BuiltProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(
    readonly name: ServiceName,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, [path.join('dist', name, 'main.js')], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', ...RUNTIME_IMAGE_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Its lines are kept for the run's secret scan and for the tests, not echoed to the terminal.
    const quiet = captureTestLogs({ quiet: true });
    const collect = (stream: NodeJS.ReadableStream | null, into: string[]): void => {
      if (stream === null) return;
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        into.push(line);
        writeTestLog(`${line}\n`);
      });
    };
    collect(this.child.stdout, this.stdout);
    collect(this.child.stderr, this.stderr);
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        quiet.stop();
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything it printed, for a failure message. */
  output(): string {
    return [...this.stdout, ...this.stderr].map((line) => `[${this.name} ${this.pid}] ${line}`).join('\n');
  }

  /** Waits for a line of its standard output matching `pattern`. */
  async line(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    return eventually(
      () => {
        const found = this.stdout.find((l) => pattern.test(l));
        if (found === undefined)
          throw new Error(`${this.name} printed no line matching ${String(pattern)}:\n${this.output()}`);
        return found;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const force = setTimeout(() => this.kill('SIGKILL'), 10_000);
    this.kill('SIGTERM');
    await this.exited;
    clearTimeout(force);
  }
}

/** A round-robin load balancer in front of the API processes: what webhooks and the operator's browser reach. */
class LoadBalancer {
  private next = 0;
  readonly server: http.Server;

  constructor(private readonly ports: () => number[]) {
    this.server = http.createServer((req, res) => {
      const targets = this.ports();
      const port = targets[this.next++ % Math.max(1, targets.length)];
      if (port === undefined) {
        res.writeHead(503, { 'retry-after': '1' }).end();
        return;
      }
      const upstream = http.request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(503, { 'retry-after': '1' });
        res.end();
      });
      req.pipe(upstream);
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/**
 * The built product as operators run it: `api` and `worker` processes from `dist/` (any number of
 * each) against the run's Temporal server, the APIs behind a load balancer at PUBLIC_URL, and the
 * sandboxes in this process.
 */
export class BuiltSystem {
  readonly apis: BuiltProcess[] = [];
  readonly workers: BuiltProcess[] = [];
  private readonly apiPorts = new Map<BuiltProcess, number>();
  private accounts = 0;

  private constructor(
    readonly zendesk: ZendeskSandbox,
    readonly storeganise: StoreganiseSandbox,
    readonly env: Record<string, string>,
    readonly client: Client,
    private readonly balancer: LoadBalancer,
  ) {}

  get publicUrl(): string {
    return this.env.PUBLIC_URL ?? '';
  }

  static async start(overrides: Record<string, string> = {}): Promise<BuiltSystem> {
    await buildOnce();
    const { server, env: temporal } = testHarness();
    const [zendesk, storeganise] = await Promise.all([startZendeskSandbox(), startStoreganiseSandbox()]);
    const port = await freePort();
    const env: Record<string, string> = {
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_TASK_QUEUE: `user-sync-built-${randomBytes(3).toString('hex')}`,
      ENCRYPTION_KEY: Keyring.generateSpec(),
      SG_ADDON_API_KEY: `sandbox-addon-key-${randomBytes(6).toString('hex')}`,
      SG_WEBHOOK_SECRET: `sandbox-webhook-secret-${randomBytes(6).toString('hex')}`,
      STOREGANISE_URL_TEMPLATE: storeganise.urlTemplate,
      ZENDESK_URL_TEMPLATE: zendesk.urlTemplate,
      ZENDESK_CLIENT_ID: 'sg-zendesk-sync-built',
      ZENDESK_CLIENT_SECRET: `sandbox-client-secret-${randomBytes(6).toString('hex')}`,
      OPERATOR_TOKEN: `operator-${randomBytes(12).toString('hex')}`,
      LOG_LEVEL: 'info',
      ...overrides,
    };
    registerTestSecrets(env);
    await zendesk.client.registerOAuthClient({
      clientId: env.ZENDESK_CLIENT_ID ?? '',
      clientSecret: env.ZENDESK_CLIENT_SECRET ?? '',
      redirectUris: [`${env.PUBLIC_URL}/oauth/zendesk/callback`],
    });
    const client = new Client({
      connection: temporal.connection,
      namespace: server.namespace,
      dataConverter: dataConverterFor(Keyring.fromSpec(env.ENCRYPTION_KEY ?? '')),
    });
    let system: BuiltSystem | null = null;
    const balancer = new LoadBalancer(() => (system === null ? [] : system.liveApiPorts()));
    system = new BuiltSystem(zendesk, storeganise, env, client, balancer);
    await balancer.listen(port);
    return system;
  }

  private liveApiPorts(): number[] {
    return this.apis.filter((api) => api.running).flatMap((api) => this.apiPorts.get(api) ?? []);
  }

  /** Starts a worker process and waits until it polls its task queue (its poller identity starts with its pid). */
  async startWorker(): Promise<BuiltProcess> {
    const worker = new BuiltProcess('worker', this.env);
    this.workers.push(worker);
    const { workflowService } = testHarness().env.connection;
    await eventually(
      async () => {
        if (!worker.running) throw new Error(`the worker exited:\n${worker.output()}`);
        const { pollers } = await workflowService.describeTaskQueue({
          namespace: this.env.TEMPORAL_NAMESPACE ?? 'default',
          taskQueue: { name: this.env.TEMPORAL_TASK_QUEUE ?? '' },
          taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        if (!pollers.some((p) => (p.identity ?? '').startsWith(`${worker.pid}@`)))
          throw new Error(`worker ${worker.pid} does not poll yet:\n${worker.output()}`);
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    return worker;
  }

  /** Starts an API process on its own port and waits until it is ready. */
  async startApi(): Promise<BuiltProcess> {
    const port = await freePort();
    const api = new BuiltProcess('api', { ...this.env, PORT: String(port) });
    this.apis.push(api);
    this.apiPorts.set(api, port);
    await eventually(
      async () => {
        if (!api.running) throw new Error(`the api exited:\n${api.output()}`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (!res.ok) throw new Error(`readyz ${res.status}`);
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    return api;
  }

  /** Output of every process, for a failure message. */
  output(): string {
    return [...this.apis, ...this.workers].map((p) => p.output()).join('\n');
  }

  /** A Storeganise account with the add-on installed and authorized through the load balancer. */
  async addAccount(options: { rateLimitPerMinute?: number } = {}): Promise<SandboxInstallation> {
    const subdomain = `built${++this.accounts}-${randomBytes(2).toString('hex')}`;
    const account = await installAddon(
      { zendesk: this.zendesk.client, storeganise: this.storeganise.client },
      {
        subdomain,
        zendeskSubdomain: `zd-${subdomain}`,
        publicUrl: this.publicUrl,
        addonApiKey: this.env.SG_ADDON_API_KEY ?? '',
        webhookSecret: this.env.SG_WEBHOOK_SECRET ?? '',
        statusFieldKey: null,
        settings: {},
        zendesk: options.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: options.rateLimitPerMinute },
      },
    );
    const link = await eventually(
      async () => {
        const found = await authorizeLink(this.storeganise.client, subdomain);
        if (found === null) throw new Error('no authorize task yet');
        return found;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const done = await authorizeThroughSandbox(link);
    if (done.status !== 200) throw new Error(`the OAuth callback answered ${done.status}: ${done.body}`);
    const endpoint = `${this.publicUrl}/addon/zendesk/${subdomain}`;
    await eventually(
      async () => {
        if (!(await this.zendesk.client.webhooks(account.zendeskSubdomain)).some((w) => w.endpoint === endpoint))
          throw new Error('webhook not registered yet');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    return account;
  }

  settle(account: SandboxInstallation, timeoutMs = 60_000): Promise<void> {
    return settleAccount(this.client, [this.zendesk, this.storeganise], account.subdomain, timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all([...this.apis, ...this.workers].map((p) => p.stop()));
    await this.balancer.close();
    await Promise.all([this.zendesk.close(), this.storeganise.close()]);
  }
}
