import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Keyring } from '../../lib/crypto';
import { ensureSearchAttributes } from '../../lib/temporal';
import { freePort } from '../../scripts/dev-server';
import { resolveTemporalCli } from '../../scripts/temporal-cli';
import {
  authorizeLink,
  authorizeThroughSandbox,
  installAddon,
  type SandboxInstallation,
} from '../../sandbox/installation';
import { startStoreganiseSandbox, type StoreganiseSandbox } from '../../sandbox/storeganise';
import { startZendeskSandbox, type ZendeskSandbox } from '../../sandbox/zendesk';
import { openLog, RestartableTemporal, SupervisedService, type ServiceName } from './processes';
import { WebhookTimer } from './webhook-timer';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

export const STATUS_FIELD_KEY = 'customer_status';
export const NAME_FORMAT = 'first_last';
export const DEFAULT_CALLING_CODE = '+81';
/** Zendesk's real budget on a mid-size plan; the sandbox answers 429 with `Retry-After` beyond it. */
const ZENDESK_RATE_LIMIT_PER_MINUTE = 700;

export async function eventually<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * Everything a chaos run breaks, wired like production on loopback: a Temporal dev server with a
 * SQLite file (so it can restart with its history), the sandbox Zendesk and Storeganise in this
 * process, and the real api and worker as separate processes.
 */
export class ChaosSystem {
  readonly timer: WebhookTimer;
  private readonly services: Record<ServiceName, SupervisedService>;

  private constructor(
    readonly dir: string,
    readonly temporal: RestartableTemporal,
    readonly zendesk: ZendeskSandbox,
    readonly storeganise: StoreganiseSandbox,
    readonly env: Record<string, string>,
    private readonly note: (line: string) => void,
  ) {
    this.timer = new WebhookTimer(env.PUBLIC_URL ?? '');
    this.services = {
      api: new SupervisedService('api', env, openLog(dir, 'api'), note),
      worker: new SupervisedService('worker', env, openLog(dir, 'worker'), note),
    };
  }

  get api(): SupervisedService {
    return this.services.api;
  }

  get worker(): SupervisedService {
    return this.services.worker;
  }

  get publicUrl(): string {
    return this.env.PUBLIC_URL ?? '';
  }

  get taskQueue(): string {
    return this.env.TEMPORAL_TASK_QUEUE ?? '';
  }

  static async start(options: {
    logLevel: string;
    note: (line: string) => void;
    onStarted: (system: ChaosSystem) => void;
  }): Promise<ChaosSystem> {
    const { note } = options;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-zendesk-chaos-'));
    const cli = await resolveTemporalCli(note);
    const temporal = new RestartableTemporal(cli, await freePort(), path.join(dir, 'temporal.sqlite'));
    note(`starting a Temporal dev server on ${temporal.address} (database ${temporal.dbFilename}) ...`);
    await temporal.start();
    let sandboxes: [ZendeskSandbox, StoreganiseSandbox];
    try {
      sandboxes = await Promise.all([startZendeskSandbox(), startStoreganiseSandbox()]);
    } catch (err) {
      await temporal.stop();
      throw err;
    }
    const [zendesk, storeganise] = sandboxes;
    const port = await freePort();
    const env: Record<string, string> = {
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: `user-sync-chaos-${randomBytes(3).toString('hex')}`,
      ENCRYPTION_KEY: Keyring.generateSpec(),
      SG_ADDON_API_KEY: `sandbox-addon-key-${randomBytes(6).toString('hex')}`,
      SG_WEBHOOK_SECRET: `sandbox-webhook-secret-${randomBytes(6).toString('hex')}`,
      STOREGANISE_URL_TEMPLATE: storeganise.urlTemplate,
      ZENDESK_URL_TEMPLATE: zendesk.urlTemplate,
      ZENDESK_CLIENT_ID: 'sg-zendesk-sync-chaos',
      ZENDESK_CLIENT_SECRET: `sandbox-client-secret-${randomBytes(6).toString('hex')}`,
      LOG_LEVEL: options.logLevel,
    };
    const system = new ChaosSystem(dir, temporal, zendesk, storeganise, env, note);
    options.onStarted(system);
    await zendesk.client.registerOAuthClient({
      clientId: env.ZENDESK_CLIENT_ID ?? '',
      clientSecret: env.ZENDESK_CLIENT_SECRET ?? '',
      redirectUris: [`${system.publicUrl}/oauth/zendesk/callback`],
    });
    await system.withTemporal((connection) => ensureSearchAttributes(connection, 'default', SEARCH_ATTRIBUTE_KEYS));
    system.timer.install();
    note('starting the worker and api processes (the worker bundles the workflows first) ...');
    system.worker.start();
    system.api.start();
    await Promise.all([system.workerReady(300_000), system.apiReady(60_000)]);
    return system;
  }

  /** A short-lived connection: the server restarts during the run, and a fresh connection never holds a dead channel. */
  async withTemporal<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await Connection.connect({ address: this.temporal.address, connectTimeout: 2_000 });
    try {
      return await work(connection);
    } finally {
      await connection.close();
    }
  }

  /** The current worker process polls its task queue (its poller identity starts with its pid). */
  async workerReady(timeoutMs: number): Promise<void> {
    await eventually(
      'the worker to poll its task queue',
      async () => {
        const pid = this.worker.pid;
        if (pid === null) return null;
        const { pollers } = await this.withTemporal((connection) =>
          connection.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: this.taskQueue },
            taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          }),
        );
        return pollers.some((p) => (p.identity ?? '').startsWith(`${pid}@`)) ? true : null;
      },
      timeoutMs,
    );
  }

  /** The api answers `/readyz` (it reaches Temporal). */
  async apiReady(timeoutMs: number): Promise<void> {
    await eventually(
      'the api to be ready',
      async () => ((await fetch(`${this.publicUrl}/readyz`, { signal: AbortSignal.timeout(3_000) })).ok ? true : null),
      timeoutMs,
    );
  }

  /** Both sandbox accounts, the add-on installed, and the operator's authorize click through the sandbox consent. */
  async installAccount(subdomain: string): Promise<SandboxInstallation> {
    const account = await installAddon(
      { zendesk: this.zendesk.client, storeganise: this.storeganise.client },
      {
        subdomain,
        zendeskSubdomain: `zd-${subdomain}`,
        publicUrl: this.publicUrl,
        addonApiKey: this.env.SG_ADDON_API_KEY ?? '',
        webhookSecret: this.env.SG_WEBHOOK_SECRET ?? '',
        statusFieldKey: STATUS_FIELD_KEY,
        settings: { zendesk_nameFormat: NAME_FORMAT, zendesk_defaultCountryCode: DEFAULT_CALLING_CODE },
        zendesk: { rateLimitPerMinute: ZENDESK_RATE_LIMIT_PER_MINUTE },
      },
    );
    const link = await eventually(
      'the authorize admin task',
      () => authorizeLink(this.storeganise.client, subdomain),
      120_000,
    );
    const done = await authorizeThroughSandbox(link);
    if (done.status !== 200) throw new Error(`the OAuth callback answered ${done.status}`);
    const endpoint = `${this.publicUrl}/addon/zendesk/${subdomain}`;
    await eventually(
      'the service to register its Zendesk webhook',
      async () =>
        (await this.zendesk.client.webhooks(account.zendeskSubdomain)).some((w) => w.endpoint === endpoint)
          ? true
          : null,
      120_000,
    );
    return account;
  }

  private closing: Promise<void> | null = null;

  /** Stops everything this run started; safe to call again (Ctrl-C while the run is stopping). */
  close(): Promise<void> {
    this.closing ??= this.stopAll();
    return this.closing;
  }

  private async stopAll(): Promise<void> {
    this.timer.uninstall();
    await Promise.all([this.api.close(), this.worker.close()]);
    await Promise.all([this.zendesk.close(), this.storeganise.close()]);
    await this.temporal.stop();
  }

  /** On a hard exit: no time to wait for anything. */
  killNow(): void {
    this.api.killNow();
    this.worker.killNow();
    this.temporal.killNow();
  }

  removeFiles(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
