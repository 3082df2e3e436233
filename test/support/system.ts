import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createApiApp, type ApiApp } from '../../api/app';
import { AUTHORIZE_TASK_TITLE } from '../../domain/tasks';
import { loadConfig, type Config } from '../../lib/config';
import { Keyring } from '../../lib/crypto';
import { dataConverterFor } from '../../lib/data-converter';
import { createLogger } from '../../lib/logger';
import { freePort } from '../../scripts/dev-server';
import { startStoreganiseSandbox, type StoreganiseSandbox } from '../../sandbox/storeganise';
import type { SandboxJob } from '../../sandbox/storeganise/client';
import { startZendeskSandbox, type ZendeskSandbox } from '../../sandbox/zendesk';
import { createSyncWorker } from '../../worker/worker';
import { testHarness } from '../hooks';
import {
  authorizeLink,
  authorizeThroughSandbox,
  installAddon,
  settleAccount,
  type SandboxInstallation,
} from '../../sandbox/installation';
import { eventually } from './eventually';
import { registerTestSecrets, writeTestLog } from './log-capture';
import { applyServerTimeouts } from '../../api/server';

export const STATUS_FIELD_KEY = 'customer_status';

export type TestAccount = SandboxInstallation;

export interface TestAccountOptions {
  subdomain?: string;
  /** Extra or replacing add-on settings. */
  settings?: Record<string, unknown>;
  /** Create the customer-status dropdown in Zendesk (default true). */
  statusField?: boolean;
  /** Follow the authorize link through the sandbox's consent (default true). */
  authorize?: boolean;
  rateLimitPerMinute?: number;
  rateLimitWindowSeconds?: number;
  accessTokenTtlSeconds?: number;
}

let systems = 0;

/**
 * The product as a user meets it: the sandbox Zendesk and Storeganise, the API on a real port and a
 * worker, against the run's real Temporal server. Each system has its own task queue and accounts.
 */
export class TestSystem {
  private apiServer: http.Server | null = null;
  private worker: { worker: Worker; running: Promise<void> } | null = null;
  api: ApiApp | null = null;
  private accounts = 0;
  /** Account workflow ids are global in the run's namespace: subdomains must differ between the systems of a run. */
  private readonly systemNumber = systems;

  private constructor(
    readonly zendesk: ZendeskSandbox,
    readonly storeganise: StoreganiseSandbox,
    readonly env: Record<string, string>,
    readonly config: Config,
    readonly client: Client,
    readonly apiUrl: string,
  ) {}

  static async start(overrides: Record<string, string> = {}): Promise<TestSystem> {
    const { server, env: temporal } = testHarness();
    const [zendesk, storeganise] = await Promise.all([startZendeskSandbox(), startStoreganiseSandbox()]);
    const port = await freePort();
    const env: Record<string, string> = {
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_TASK_QUEUE: `user-sync-test-${++systems}-${randomBytes(3).toString('hex')}`,
      ENCRYPTION_KEY: Keyring.generateSpec(),
      SG_ADDON_API_KEY: `sandbox-addon-key-${randomBytes(6).toString('hex')}`,
      SG_WEBHOOK_SECRET: `sandbox-webhook-secret-${randomBytes(6).toString('hex')}`,
      STOREGANISE_URL_TEMPLATE: storeganise.urlTemplate,
      ZENDESK_URL_TEMPLATE: zendesk.urlTemplate,
      ZENDESK_CLIENT_ID: 'sg-zendesk-sync-test',
      ZENDESK_CLIENT_SECRET: `sandbox-client-secret-${randomBytes(6).toString('hex')}`,
      OPERATOR_TOKEN: `operator-${randomBytes(12).toString('hex')}`,
      TEMPORAL_UI_URL: 'http://localhost:8233',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
      ...overrides,
    };
    const config = loadConfig(env);
    registerTestSecrets(env);
    await zendesk.client.registerOAuthClient({
      clientId: config.zendesk.clientId,
      clientSecret: config.zendesk.clientSecret,
      redirectUris: [`${config.publicUrl}/oauth/zendesk/callback`],
    });
    const client = new Client({
      connection: temporal.connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverterFor(config.keyring),
    });
    const system = new TestSystem(zendesk, storeganise, env, config, client, config.publicUrl);
    await system.startWorker();
    await system.startApi();
    return system;
  }

  async startApi(): Promise<void> {
    const logger = createLogger(this.config.logLevel, { process: 'api' }, writeTestLog);
    this.api = createApiApp({ client: this.client, config: this.config, logger });
    const server = applyServerTimeouts(http.createServer(this.api.app));
    await new Promise<void>((resolve) => server.listen(this.config.port, '127.0.0.1', resolve));
    this.apiServer = server;
  }

  async stopApi(): Promise<void> {
    const server = this.apiServer;
    this.apiServer = null;
    this.api = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async startWorker(): Promise<void> {
    const { env, workflowBundle } = testHarness();
    const logger = createLogger(this.config.logLevel, { process: 'worker' }, writeTestLog);
    const worker = await createSyncWorker({
      config: this.config,
      connection: env.nativeConnection,
      client: this.client,
      logger,
      workflowBundle,
    });
    this.worker = { worker, running: worker.run() };
  }

  async stopWorker(): Promise<void> {
    const current = this.worker;
    this.worker = null;
    if (!current) return;
    current.worker.shutdown();
    await current.running;
  }

  async close(): Promise<void> {
    await this.stopApi();
    await this.stopWorker();
    await Promise.all([this.zendesk.close(), this.storeganise.close()]);
  }

  /** A Storeganise account with the add-on installed and (by default) authorized in Zendesk. */
  async addAccount(options: TestAccountOptions = {}): Promise<TestAccount> {
    const subdomain = options.subdomain ?? `acme${this.systemNumber}-${++this.accounts}`;
    const account = await installAddon(
      { zendesk: this.zendesk.client, storeganise: this.storeganise.client },
      {
        subdomain,
        zendeskSubdomain: `zd${this.accounts}-${subdomain}`,
        publicUrl: this.apiUrl,
        addonApiKey: this.config.storeganise.addonApiKey,
        webhookSecret: this.config.storeganise.webhookSecret,
        statusFieldKey: options.statusField === false ? null : STATUS_FIELD_KEY,
        settings:
          options.statusField === false
            ? { zendesk_statusFieldKey: STATUS_FIELD_KEY, ...options.settings }
            : (options.settings ?? {}),
        zendesk: {
          ...(options.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: options.rateLimitPerMinute }),
          ...(options.rateLimitWindowSeconds === undefined
            ? {}
            : { rateLimitWindowSeconds: options.rateLimitWindowSeconds }),
          ...(options.accessTokenTtlSeconds === undefined
            ? {}
            : { accessTokenTtlSeconds: options.accessTokenTtlSeconds }),
        },
      },
    );
    await eventually(async () => {
      if ((await this.tasks(account, AUTHORIZE_TASK_TITLE)).length === 0) throw new Error('no authorize task yet');
    });
    if (options.authorize !== false) await this.authorize(account);
    return account;
  }

  /** Admin tasks of the account, optionally only those with a title. */
  async tasks(account: TestAccount, title?: string): Promise<SandboxJob[]> {
    const jobs = await this.storeganise.client.listJobs(account.subdomain, { type: 'task' });
    return jobs.filter((job) => title === undefined || job.data.title === title);
  }

  /** The link of the newest open authorize task. */
  async authorizeLink(account: TestAccount): Promise<string> {
    const link = await authorizeLink(this.storeganise.client, account.subdomain);
    if (link === null) throw new Error(`no open authorize task for ${account.subdomain}`);
    return link;
  }

  /** Follows the authorize task's link like the operator's browser, through the sandbox consent (auto-approved). */
  async authorize(account: TestAccount): Promise<{ status: number; body: string }> {
    const result = await authorizeThroughSandbox(await this.authorizeLink(account));
    if (result.status === 200) {
      await eventually(async () => {
        const hooks = await this.zendesk.client.webhooks(account.zendeskSubdomain);
        if (!hooks.some((w) => w.endpoint === `${this.apiUrl}/addon/zendesk/${account.subdomain}`))
          throw new Error('webhook not registered yet');
      });
    }
    return result;
  }

  /** Waits until webhooks are delivered and every event workflow they started has finished, echoes included. */
  settle(account: TestAccount, timeoutMs = 30_000): Promise<void> {
    return settleAccount(this.client, [this.zendesk, this.storeganise], account.subdomain, timeoutMs);
  }
}
