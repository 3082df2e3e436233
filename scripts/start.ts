import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { AUTHORIZE_TASK_TITLE } from '../domain/tasks';
import { Keyring } from '../lib/crypto';
import { DEMO_ACCOUNT, sandboxSecretsFrom, type SandboxSecrets } from '../sandbox/demo';
import { StoreganiseSandboxClient } from '../sandbox/storeganise/client';
import { accountWorkflowId } from '../workflows/definitions';
import { startDevServer, type DevServer } from './dev-server';
import { resolveTemporalCli, TemporalCliUnavailable } from './temporal-cli';

const projectRoot = path.resolve(__dirname, '..');
const tsxCli = require.resolve('tsx/cli');
const STOP_GRACE_MS = 10_000;
const ECHO_WINDOW_MS = 2_000;

/** Problems the newcomer can fix from the message alone. */
class StartError extends Error {}
/** Thrown out of a wait when everything is being stopped anyway. */
class Stopping extends Error {}

interface SandboxPlan {
  zendeskUrl: string;
  storeganiseUrl: string;
  zendeskPort: number;
  storeganisePort: number;
  demo: boolean;
  secrets: SandboxSecrets;
}

interface StartPlan {
  dataDir: string;
  port: number;
  publicUrl: string;
  /** Where this script itself reaches the API, whatever PUBLIC_URL says. */
  localApiUrl: string;
  namespace: string;
  temporal: { kind: 'external'; address: string } | { kind: 'embedded'; port: number; uiPort: number };
  /** Null when a real Zendesk or Storeganise configuration is given. */
  sandbox: SandboxPlan | null;
}

const blank = (value: string | undefined): boolean => value === undefined || value.trim() === '';

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || blank(raw)) return fallback;
  const port = Number(raw.trim());
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StartError(`${name}: must be a port number (1-65535), got "${raw}"`);
  return port;
}

function planFrom(env: NodeJS.ProcessEnv): StartPlan {
  const port = portFrom(env, 'PORT', 3000);
  const publicUrl = (blank(env.PUBLIC_URL) ? `http://localhost:${port}` : String(env.PUBLIC_URL).trim()).replace(/\/+$/, '');
  const temporalAddress = env.TEMPORAL_ADDRESS?.trim();
  const realServices = !blank(env.STOREGANISE_URL_TEMPLATE) || !blank(env.ZENDESK_URL_TEMPLATE);
  return {
    dataDir: path.resolve(blank(env.DATA_DIR) ? './.data' : String(env.DATA_DIR)),
    port,
    publicUrl,
    localApiUrl: `http://127.0.0.1:${port}`,
    namespace: blank(env.TEMPORAL_NAMESPACE) ? 'default' : String(env.TEMPORAL_NAMESPACE).trim(),
    temporal:
      temporalAddress !== undefined && temporalAddress !== ''
        ? { kind: 'external', address: temporalAddress }
        : { kind: 'embedded', port: portFrom(env, 'TEMPORAL_PORT', 7233), uiPort: portFrom(env, 'TEMPORAL_UI_PORT', 8233) },
    sandbox: realServices ? null : sandboxPlanFrom(env),
  };
}

function sandboxPlanFrom(env: NodeJS.ProcessEnv): SandboxPlan {
  const zendeskPort = portFrom(env, 'SANDBOX_ZENDESK_PORT', 4010);
  const storeganisePort = portFrom(env, 'SANDBOX_STOREGANISE_PORT', 4020);
  return {
    zendeskPort,
    storeganisePort,
    zendeskUrl: `http://127.0.0.1:${zendeskPort}`,
    storeganiseUrl: `http://127.0.0.1:${storeganisePort}`,
    demo: env.SANDBOX_DEMO?.trim() !== '0',
    secrets: sandboxSecretsFrom(env),
  };
}

/** A value generated on the first start and kept in DATA_DIR, so a restart decrypts what the last run wrote. */
function persistentSecret(dataDir: string, file: string, generate: () => string, isValid: (value: string) => boolean): string {
  const location = path.join(dataDir, file);
  for (let attempt = 0; ; attempt++) {
    try {
      const stored = readFileSync(location, 'utf8').trim();
      if (!isValid(stored)) {
        throw new StartError(`${location} does not hold a valid value. Restore it, or delete it to generate a new one (data encrypted under an old key becomes unreadable).`);
      }
      return stored;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    try {
      const value = generate();
      writeFileSync(location, `${value}\n`, { mode: 0o600, flag: 'wx' });
      return value;
    } catch (err) {
      // Another start created it in between: read theirs instead.
      if (!isErrno(err, 'EEXIST') || attempt > 0) throw err;
    }
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}

function fromEnvOrDataDir(env: NodeJS.ProcessEnv, name: string, persist: () => string): string {
  const given = env[name];
  return given !== undefined && !blank(given) ? given.trim() : persist();
}

function prefixLines(stream: Readable | null, prefix: string, out: Writable): void {
  if (stream === null) return;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`${prefix} ${line}\n`));
}

const say = (line: string): void => {
  process.stdout.write(`[start] ${line}\n`);
};
const complain = (text: string): void => {
  process.stderr.write(`[start] ${text}\n`);
};

type ChildName = 'sandbox' | 'worker' | 'api';

/**
 * The processes this script runs. Each gets its own process group, so stopping one also stops
 * the node process tsx runs underneath it, and nothing is left behind.
 */
class ChildProcesses {
  private readonly running = new Map<ChildName, ChildProcess>();
  private stopping = false;

  constructor(private readonly onUnexpectedExit: (name: ChildName, how: string) => void) {}

  start(name: ChildName, script: string, env: NodeJS.ProcessEnv): void {
    const child = spawn(process.execPath, [tsxCli, script], {
      cwd: projectRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    this.running.set(name, child);
    prefixLines(child.stdout, `[${name}]`, process.stdout);
    prefixLines(child.stderr, `[${name}]`, process.stderr);
    child.once('error', (err) => {
      this.running.delete(name);
      if (!this.stopping) this.onUnexpectedExit(name, `could not be started: ${err.message}`);
    });
    // `close` comes after the last output line, so the reason a child died is printed before we react.
    child.once('close', (code, signal) => {
      this.running.delete(name);
      if (!this.stopping) this.onUnexpectedExit(name, signal === null ? `exited with code ${code ?? 'unknown'}` : `was killed by ${signal}`);
    });
  }

  /** SIGTERM, then SIGKILL for whatever is still alive after the grace period. */
  async stop(names: ChildName[]): Promise<void> {
    this.stopping = true;
    await Promise.all(
      names.map(async (name) => {
        const child = this.running.get(name);
        if (child === undefined || hasExited(child)) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        signalGroup(child, 'SIGTERM');
        const graceful = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
        if (!graceful) {
          say(`${name} did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
          signalGroup(child, 'SIGKILL');
          await exited;
        }
      }),
    );
  }

  /** Last resort on the way out: nothing may outlive this script. */
  killAllNow(): void {
    this.stopping = true;
    for (const child of this.running.values()) if (!hasExited(child)) signalGroup(child, 'SIGKILL');
  }
}

const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch (err) {
    // The group is already gone: that is what we wanted.
    if (!isErrno(err, 'ESRCH')) throw err;
  }
}

function tcpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    // Not listening yet, or too slow: the caller asks again.
    return false;
  }
}

/** Asked of Temporal directly: the account's workflow answers queries only once a worker runs. */
async function accountWorkflowRunning(address: string, namespace: string, subdomain: string): Promise<boolean> {
  const connection = await Connection.connect({ address });
  try {
    const description = await new Client({ connection, namespace }).workflow.getHandle(accountWorkflowId(subdomain)).describe();
    return description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  } finally {
    await connection.close();
  }
}

/** The whole local setup: started in order, stopped in reverse, and never half-running. */
class Launcher {
  private readonly children = new ChildProcesses((name, how) => void this.shutdown(1, `the ${name} ${how}; stopping everything`));
  private devServer: DevServer | null = null;
  /** Set while the dev server boots, so a stop in that moment still finds and stops it. */
  private devServerStarting: Promise<DevServer> | null = null;
  private temporalWatch: NodeJS.Timeout | null = null;
  private shuttingDown = false;
  private firstSignalAt = 0;

  constructor(private readonly plan: StartPlan) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => this.onSignal(signal));
    process.on('exit', () => this.children.killAllNow());
  }

  async run(env: NodeJS.ProcessEnv): Promise<void> {
    const { plan } = this;
    mkdirSync(plan.dataDir, { recursive: true });
    const encryptionKey = fromEnvOrDataDir(env, 'ENCRYPTION_KEY', () =>
      persistentSecret(plan.dataDir, 'encryption-key', () => Keyring.generateSpec(), (v) => Keyring.isValidSpec(v)),
    );
    const operatorToken = fromEnvOrDataDir(env, 'OPERATOR_TOKEN', () =>
      persistentSecret(plan.dataDir, 'operator-token', () => randomBytes(24).toString('base64url'), (v) => v.length >= 16),
    );

    const temporalAddress = await this.startTemporal(operatorToken);
    const childEnv: NodeJS.ProcessEnv = {
      ...env,
      PORT: String(plan.port),
      PUBLIC_URL: plan.publicUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      DATA_DIR: plan.dataDir,
      ENCRYPTION_KEY: encryptionKey,
      OPERATOR_TOKEN: operatorToken,
      // The Web UI's origin is the only one the codec grants CORS to.
      TEMPORAL_UI_URL: this.devServer?.uiUrl ?? env.TEMPORAL_UI_URL,
    };
    if (plan.sandbox !== null) {
      await this.startSandbox(plan.sandbox, childEnv);
      Object.assign(childEnv, plan.sandbox.secrets, {
        STOREGANISE_URL_TEMPLATE: `${plan.sandbox.storeganiseUrl}/{subdomain}/api`,
        ZENDESK_URL_TEMPLATE: `${plan.sandbox.zendeskUrl}/zendesk/{subdomain}`,
      });
    }
    say('starting the worker and the API (the worker bundles the workflows first; this takes a moment)');
    this.children.start('worker', 'worker/main.ts', childEnv);
    this.children.start('api', 'api/main.ts', childEnv);
    await this.waitUntilReady('the API to be ready', 180_000, () => httpOk(`${plan.localApiUrl}/readyz`));

    const authorizeLink = plan.sandbox?.demo === true ? await this.activateDemo(plan.sandbox, temporalAddress) : null;
    process.stdout.write(summary(plan, temporalAddress, this.devServer?.uiUrl ?? null, authorizeLink));
  }

  private async startTemporal(operatorToken: string): Promise<string> {
    const { temporal, dataDir, publicUrl } = this.plan;
    if (temporal.kind === 'external') return temporal.address;
    const cli = await resolveTemporalCli((line) => say(line));
    this.throwIfStopping();
    say(`starting the Temporal dev server (${cli})`);
    this.devServerStarting = startDevServer({
      cli,
      namespace: this.plan.namespace,
      port: temporal.port,
      uiPort: temporal.uiPort,
      uiCodecEndpoint: `${publicUrl}/codec/t/${operatorToken}`,
      dbFilename: path.join(dataDir, 'temporal.sqlite'),
      readyTimeoutSeconds: 120,
    });
    try {
      this.devServer = await this.devServerStarting;
    } catch (err) {
      throw new StartError(`the Temporal dev server did not start:\n${prefixed('[temporal]', err instanceof Error ? err.message : String(err))}`);
    }
    this.throwIfStopping();
    this.watchTemporal(temporal.port);
    return this.devServer.address;
  }

  /** The dev server is not our direct child, so its death is noticed by its port going quiet. */
  private watchTemporal(port: number): void {
    let misses = 0;
    this.temporalWatch = setInterval(() => {
      void tcpAnswers('127.0.0.1', port, 1_000).then((answers) => {
        misses = answers ? 0 : misses + 1;
        if (misses < 3 || this.shuttingDown) return;
        const output = this.devServer?.output() ?? '';
        if (output.trim() !== '') process.stderr.write(`${prefixed('[temporal]', output.trimEnd())}\n`);
        void this.shutdown(1, `the Temporal dev server stopped answering on port ${port}; stopping everything`);
      });
    }, 2_000);
  }

  private async startSandbox(sandbox: SandboxPlan, env: NodeJS.ProcessEnv): Promise<void> {
    say('starting the sandbox Zendesk and Storeganise');
    this.children.start('sandbox', 'sandbox/main.ts', {
      ...env,
      ...sandbox.secrets,
      SANDBOX_ZENDESK_PORT: String(sandbox.zendeskPort),
      SANDBOX_STOREGANISE_PORT: String(sandbox.storeganisePort),
      SANDBOX_DEMO: sandbox.demo ? '1' : '0',
    });
    const storeganise = new StoreganiseSandboxClient(sandbox.storeganiseUrl);
    await this.waitUntilReady('the sandboxes to answer', 60_000, async () => {
      const both = (await httpOk(`${sandbox.zendeskUrl}/_sandbox/requests`)) && (await httpOk(`${sandbox.storeganiseUrl}/_sandbox/requests`));
      if (!both || !sandbox.demo) return both;
      // The demo seed sets the webhook URL last, so it marks the seed as complete.
      return storeganise.getAccount(DEMO_ACCOUNT).then(
        (account) => account.webhookUrl !== null,
        () => false,
      );
    });
  }

  /** Sends the add-on's activation and returns the authorize link the operator has to open. */
  private async activateDemo(sandbox: SandboxPlan, temporalAddress: string): Promise<string> {
    const { publicUrl, namespace } = this.plan;
    const storeganise = new StoreganiseSandboxClient(sandbox.storeganiseUrl);
    // An account activated in an earlier run lives on in DATA_DIR and raises no second task; the
    // fresh sandbox Zendesk knows none of its old tokens, so its link is needed all the same.
    const activatedBefore = await accountWorkflowRunning(temporalAddress, namespace, DEMO_ACCOUNT);
    say(`activating the demo account (addon.installed from the Storeganise sandbox)`);
    await storeganise.emitInstalled(DEMO_ACCOUNT);
    const knownLink = `${publicUrl}/oauth/zendesk/authorize?account=${DEMO_ACCOUNT}`;
    if (activatedBefore) {
      say('the demo account was activated in an earlier run (its state is in DATA_DIR); the fresh sandbox Zendesk needs authorizing again');
      return knownLink;
    }
    const link = await this.poll(`the "${AUTHORIZE_TASK_TITLE}" task`, 180_000, async () => {
      const tasks = await storeganise.listJobs(DEMO_ACCOUNT, { type: 'task' }).catch(() => []);
      const task = tasks.find((job) => job.data.title === AUTHORIZE_TASK_TITLE);
      const desc = task?.data.desc;
      return typeof desc === 'string' ? (/https?:\/\/\S+/.exec(desc)?.[0] ?? null) : null;
    });
    if (link === null) say('the authorize task has not appeared yet; the link below works all the same');
    return link ?? knownLink;
  }

  /** Polls `probe` until it yields a value; null on timeout. Throws Stopping once a stop is under way. */
  private async poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T | null> {
    say(`waiting for ${what}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.throwIfStopping();
      const value = await probe();
      if (value !== null) return value;
      if (Date.now() > deadline) return null;
      await sleep(300);
    }
  }

  private async waitUntilReady(what: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
    const done = await this.poll(what, timeoutMs, async () => ((await ready()) ? true : null));
    if (done === null) throw new StartError(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
  }

  private throwIfStopping(): void {
    if (this.shuttingDown) throw new Stopping();
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (!this.shuttingDown) {
      this.firstSignalAt = Date.now();
      void this.shutdown(0, `${signal} received; stopping everything`);
      return;
    }
    // One Ctrl-C reaches us more than once (from the terminal, and relayed by npm and tsx).
    if (Date.now() - this.firstSignalAt < ECHO_WINDOW_MS) return;
    say(`${signal} again: killing everything now`);
    this.children.killAllNow();
    process.exit(130);
  }

  async shutdown(exitCode: number, reason: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.temporalWatch !== null) clearInterval(this.temporalWatch);
    if (exitCode === 0) say(reason);
    else complain(reason);
    try {
      await this.children.stop(['api', 'worker']);
      await this.children.stop(['sandbox']);
      const devServer = this.devServer ?? (await this.devServerStarting?.catch(() => null));
      if (devServer) {
        say('stopping the Temporal dev server');
        await devServer.stop();
      }
    } finally {
      say(exitCode === 0 ? 'stopped' : 'stopped after a failure');
      process.exit(exitCode);
    }
  }
}

function prefixed(prefix: string, text: string): string {
  return text
    .split('\n')
    .map((line) => `${prefix} ${line}`)
    .join('\n');
}

function summary(plan: StartPlan, temporalAddress: string, uiUrl: string | null, authorizeLink: string | null): string {
  const row = (label: string, value: string): string => `  ${`${label}:`.padEnd(22)}${value}`;
  const rule = '─'.repeat(78);
  const lines = [
    '',
    rule,
    'sg-zendesk-sync is running',
    '',
    row('API', `${plan.publicUrl}   (health /healthz, readiness /readyz, metrics /metrics)`),
    row('Temporal Web UI', uiUrl ?? 'not started here (TEMPORAL_ADDRESS points at an existing server)'),
    row('Temporal gRPC', temporalAddress),
  ];
  if (plan.sandbox !== null) {
    lines.push(
      row('Zendesk sandbox', `${plan.sandbox.zendeskUrl}   (control API ${plan.sandbox.zendeskUrl}/_sandbox)`),
      row('Storeganise sandbox', `${plan.sandbox.storeganiseUrl}   (control API ${plan.sandbox.storeganiseUrl}/_sandbox)`),
    );
  } else {
    lines.push(row('Zendesk and Storeganise', 'as configured by ZENDESK_URL_TEMPLATE and STOREGANISE_URL_TEMPLATE'));
  }
  lines.push(row('Data directory', `${plan.dataDir}   (generated keys, Temporal database)`));
  if (authorizeLink !== null && plan.sandbox !== null) {
    const customer = JSON.stringify({ email: 'aiko.tanaka@example.jp', firstName: 'Aiko', lastName: 'Tanaka', phone: '080-4321-8765' });
    lines.push(
      '',
      `Authorize link: ${authorizeLink}`,
      '  Open it to connect the demo account to the sandbox Zendesk (it shows the consent page; click Allow).',
      '',
      'Create a demo customer in Storeganise; once authorized, it appears in the sandbox Zendesk:',
      `  curl -X POST ${plan.sandbox.storeganiseUrl}/_sandbox/accounts/${DEMO_ACCOUNT}/users -H 'content-type: application/json' -d '${customer}'`,
      'Then look at it in Zendesk:',
      `  curl ${plan.sandbox.zendeskUrl}/_sandbox/accounts/${DEMO_ACCOUNT}/users`,
    );
  }
  lines.push('', 'Ctrl-C stops everything.', rule, '');
  return lines.join('\n');
}

/** `npm start`: everything on one machine (see the contract's command table). */
async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let plan: StartPlan;
  try {
    plan = planFrom(env);
  } catch (err) {
    complain(err instanceof Error ? err.message : String(err));
    process.exit(78);
  }
  const launcher = new Launcher(plan);
  try {
    await launcher.run(env);
  } catch (err) {
    if (err instanceof Stopping) return;
    const explained = err instanceof StartError || err instanceof TemporalCliUnavailable;
    const message = explained ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    await launcher.shutdown(1, message);
  }
}

if (require.main === module) void main();
