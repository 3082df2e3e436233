import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { AUTHORIZE_TASK_TITLE } from '../domain/tasks';
import { Keyring } from '../lib/crypto';
import { DEMO_ACCOUNT, sandboxSecretsFrom, type SandboxSecrets } from '../sandbox/demo';
import { authorizeLink } from '../sandbox/installation';
import { StoreganiseSandboxClient } from '../sandbox/storeganise/client';
import { accountWorkflowId } from '../workflows/definitions';
import { ancestorsToWatch, goneAncestor } from './ancestors';
import { retentionDaysFrom, startDevServer, type DevServer } from './dev-server';
import { descendantPids, portHeldBy, portProblem, sharedPortProblem, type WantedPort } from './ports';
import { resolveTemporalCli, TemporalCliUnavailable } from './temporal-cli';

const projectRoot = path.resolve(__dirname, '..');
const tsxCli = require.resolve('tsx/cli');
const STOP_GRACE_MS = 10_000;
const ECHO_WINDOW_MS = 2_000;
/** Every child, and the server the API is reached on, listens on loopback only under `npm start`. */
const LOOPBACK = '127.0.0.1';

/** Problems the newcomer can fix from the message alone. */
class StartError extends Error {}
/** Thrown out of a wait when everything is being stopped anyway. */
class Stopping extends Error {}

interface SandboxPlan {
  /** Where the sandboxes keep their records between runs. */
  stateDir: string;
  zendeskUrl: string;
  storeganiseUrl: string;
  zendeskPort: number;
  storeganisePort: number;
  demo: boolean;
  secrets: SandboxSecrets;
}

interface StartPlan {
  dataDir: string;
  /** `npm start -- --reset`: the Temporal database and the sandboxes' records are deleted first. */
  reset: boolean;
  /** Null when OPERATOR_TOKEN is given; else the file in DATA_DIR it is generated into. */
  operatorTokenFile: string | null;
  port: number;
  publicUrl: string;
  /** Where this script itself reaches the API, whatever PUBLIC_URL says. */
  localApiUrl: string;
  namespace: string;
  /** The worker's Prometheus endpoint (Temporal SDK metrics), on by default here. */
  workerMetricsPort: number;
  temporal: { kind: 'external'; address: string } | { kind: 'embedded'; port: number; uiPort: number };
  /** Null when a real Zendesk or Storeganise configuration is given. */
  sandbox: SandboxPlan | null;
}

const blank = (value: string | undefined): boolean => value === undefined || value.trim() === '';

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || blank(raw)) return fallback;
  const port = Number(raw.trim());
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new StartError(`${name}: must be a port number (1-65535), got "${raw}"`);
  return port;
}

const USAGE =
  "usage: npm start [-- --reset]   (--reset deletes the Temporal database and the sandboxes' records in DATA_DIR first)";

function planFrom(env: NodeJS.ProcessEnv, args: readonly string[]): StartPlan {
  const unknown = args.filter((arg) => arg !== '--reset');
  if (unknown.length > 0)
    throw new StartError(`unknown argument ${unknown.map((a) => JSON.stringify(a)).join(', ')}; ${USAGE}`);
  const port = portFrom(env, 'PORT', 3000);
  const dataDir = path.resolve(blank(env.DATA_DIR) ? './.data' : String(env.DATA_DIR));
  const publicUrl = (blank(env.PUBLIC_URL) ? `http://localhost:${port}` : String(env.PUBLIC_URL).trim()).replace(
    /\/+$/,
    '',
  );
  const temporalAddress = env.TEMPORAL_ADDRESS?.trim();
  const realServices = !blank(env.STOREGANISE_URL_TEMPLATE) || !blank(env.ZENDESK_URL_TEMPLATE);
  return {
    dataDir,
    reset: args.includes('--reset'),
    operatorTokenFile: blank(env.OPERATOR_TOKEN) ? path.join(dataDir, 'operator-token') : null,
    port,
    publicUrl,
    localApiUrl: `http://127.0.0.1:${port}`,
    namespace: blank(env.TEMPORAL_NAMESPACE) ? 'default' : String(env.TEMPORAL_NAMESPACE).trim(),
    workerMetricsPort: portFrom(env, 'WORKER_METRICS_PORT', 9464),
    temporal:
      temporalAddress !== undefined && temporalAddress !== ''
        ? { kind: 'external', address: temporalAddress }
        : {
            kind: 'embedded',
            port: portFrom(env, 'TEMPORAL_PORT', 7233),
            uiPort: portFrom(env, 'TEMPORAL_UI_PORT', 8233),
          },
    sandbox: realServices ? null : sandboxPlanFrom(env, dataDir),
  };
}

function sandboxPlanFrom(env: NodeJS.ProcessEnv, dataDir: string): SandboxPlan {
  const zendeskPort = portFrom(env, 'SANDBOX_ZENDESK_PORT', 4010);
  const storeganisePort = portFrom(env, 'SANDBOX_STOREGANISE_PORT', 4020);
  return {
    stateDir: path.join(dataDir, 'sandbox'),
    zendeskPort,
    storeganisePort,
    zendeskUrl: `http://127.0.0.1:${zendeskPort}`,
    storeganiseUrl: `http://127.0.0.1:${storeganisePort}`,
    demo: env.SANDBOX_DEMO?.trim() !== '0',
    secrets: sandboxSecretsFrom(env),
  };
}

/** Every port this start would listen on, with the variable that moves it. */
function wantedPorts(plan: StartPlan): WantedPort[] {
  const ports: WantedPort[] = [
    { port: plan.port, what: 'the API', variable: 'PORT' },
    { port: plan.workerMetricsPort, what: "the worker's metrics endpoint", variable: 'WORKER_METRICS_PORT' },
  ];
  if (plan.temporal.kind === 'embedded') {
    ports.push(
      { port: plan.temporal.port, what: 'the Temporal dev server', variable: 'TEMPORAL_PORT' },
      { port: plan.temporal.uiPort, what: 'the Temporal Web UI', variable: 'TEMPORAL_UI_PORT' },
    );
  }
  if (plan.sandbox !== null) {
    ports.push(
      { port: plan.sandbox.zendeskPort, what: 'the sandbox Zendesk', variable: 'SANDBOX_ZENDESK_PORT' },
      { port: plan.sandbox.storeganisePort, what: 'the sandbox Storeganise', variable: 'SANDBOX_STOREGANISE_PORT' },
    );
  }
  return ports;
}

/** Before anything starts: a port taken now would fail a child half-way, or let another program answer for it. */
async function firstPortProblem(plan: StartPlan): Promise<string | null> {
  const ports = wantedPorts(plan);
  const shared = sharedPortProblem(ports);
  if (shared !== null) return shared;
  for (const wanted of ports) {
    const problem = await portProblem(wanted);
    if (problem !== null) return problem;
  }
  return null;
}

/** `--reset`: what the last runs kept goes; the generated keys stay, so the operator token in use keeps working. */
function resetData(plan: StartPlan): void {
  const removed: string[] = [];
  if (plan.temporal.kind === 'embedded' && existsSync(plan.dataDir)) {
    for (const file of readdirSync(plan.dataDir).filter((name) => name.startsWith('temporal.sqlite'))) {
      rmSync(path.join(plan.dataDir, file), { force: true });
      removed.push(file);
    }
  }
  if (plan.sandbox !== null && existsSync(plan.sandbox.stateDir)) {
    rmSync(plan.sandbox.stateDir, { recursive: true, force: true });
    removed.push(`${path.basename(plan.sandbox.stateDir)}/`);
  }
  say(
    `--reset: ${removed.length === 0 ? 'nothing kept in' : `removed ${removed.join(', ')} from`} ${plan.dataDir} (the generated keys stay)`,
  );
  if (plan.temporal.kind === 'external')
    say(
      `--reset: the Temporal server at ${plan.temporal.address} keeps its workflows; only the sandboxes start from scratch`,
    );
}

/** A value generated on the first start and kept in DATA_DIR, so a restart decrypts what the last run wrote. */
function persistentSecret(
  dataDir: string,
  file: string,
  generate: () => string,
  isValid: (value: string) => boolean,
): string {
  const location = path.join(dataDir, file);
  for (let attempt = 0; ; attempt++) {
    try {
      const stored = readFileSync(location, 'utf8').trim();
      if (!isValid(stored)) {
        throw new StartError(
          `${location} does not hold a valid value. Restore it, or delete it to generate a new one (data encrypted under an old key becomes unreadable).`,
        );
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
  readline
    .createInterface({ input: stream, crlfDelay: Infinity })
    .on('line', (line) => out.write(`${prefix} ${line}\n`));
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
      if (!this.stopping)
        this.onUnexpectedExit(
          name,
          signal === null ? `exited with code ${code ?? 'unknown'}` : `was killed by ${signal}`,
        );
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

/**
 * Asked of Temporal directly: the account's workflow answers queries only once a worker runs. The
 * raw call, because the client's `describe` would decode the memo, which only the codec can read.
 */
async function accountWorkflowRunning(address: string, namespace: string, subdomain: string): Promise<boolean> {
  const connection = await Connection.connect({ address });
  try {
    const { workflowExecutionInfo } = await connection.workflowService.describeWorkflowExecution({
      namespace,
      execution: { workflowId: accountWorkflowId(subdomain) },
    });
    return (
      workflowExecutionInfo?.status === temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    );
  } catch (err) {
    if (isGrpcNotFound(err)) return false;
    throw err;
  } finally {
    await connection.close();
  }
}

/** gRPC status NOT_FOUND (grpc-js `status.NOT_FOUND`). */
const GRPC_NOT_FOUND = 5;
const isGrpcNotFound = (err: unknown): boolean => isGrpcServiceError(err) && Number(err.code) === GRPC_NOT_FOUND;

/** What the embedded Web UI is told about the codec, and so publishes to anyone who loads it: the endpoint, never a credential. */
export const webUiCodecEndpoint = (publicUrl: string): string => `${publicUrl}/codec`;

/** Signed links the summary prints; null when the API could not mint one. */
interface AccessLinks {
  codec: string | null;
  status: string | null;
}

/** Where the demo account stands once this start is done, as the summary tells it. */
type DemoConnection = { kind: 'connected' } | { kind: 'authorize'; link: string; why: string | null };

const ConnectionAnswer = z.looseObject({ connection: z.string() });

/** The operator endpoints of the API this start runs, with the operator token. */
async function operatorRequest(apiUrl: string, token: string, method: 'GET' | 'POST', route: string): Promise<unknown> {
  const res = await fetch(`${apiUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new StartError(`${method} ${route} answered ${res.status}: ${text.slice(0, 300)}`);
  return text === '' ? null : (JSON.parse(text) as unknown);
}

/** Both sandboxes' records were kept by an earlier run (a restart), rather than seeded afresh. */
function sandboxStateKept(sandbox: SandboxPlan): boolean {
  return (
    existsSync(path.join(sandbox.stateDir, 'zendesk.json')) &&
    existsSync(path.join(sandbox.stateDir, 'storeganise.json'))
  );
}

/** The whole local setup: started in order, stopped in reverse, and never half-running. */
class Launcher {
  private readonly children = new ChildProcesses(
    (name, how) => void this.shutdown(1, `the ${name} ${how}; stopping everything`),
  );
  private devServer: DevServer | null = null;
  /** Set while the dev server boots, so a stop in that moment still finds and stops it. */
  private devServerStarting: Promise<DevServer> | null = null;
  private temporalWatch: NodeJS.Timeout | null = null;
  private ancestorWatch: NodeJS.Timeout | null = null;
  private shuttingDown = false;
  private firstSignalAt = 0;

  constructor(private readonly plan: StartPlan) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => this.onSignal(signal));
    process.on('exit', () => {
      this.children.killAllNow();
      this.devServer?.kill();
    });
    // A signal sent to npm's pid never reaches this script (see scripts/ancestors.ts): npm, or the
    // shell below it, going away is the stop request.
    const ancestors = ancestorsToWatch();
    const top = ancestors.at(-1);
    if (top !== undefined) {
      const starter = `${top.command.split(' ').slice(0, 2).join(' ')} (pid ${top.pid})`;
      this.ancestorWatch = setInterval(() => {
        if (goneAncestor(ancestors) !== null)
          void this.shutdown(0, `${starter}, which started this script, was stopped; stopping everything`);
      }, 500);
    }
    // A closed terminal or output pipe stops everything like a signal, instead of an EPIPE crash that would strand the children.
    for (const stream of [process.stdout, process.stderr]) {
      stream.on('error', () => void this.shutdown(0, 'the output was closed; stopping everything'));
    }
  }

  async run(env: NodeJS.ProcessEnv): Promise<void> {
    const { plan } = this;
    mkdirSync(plan.dataDir, { recursive: true });
    const encryptionKey = fromEnvOrDataDir(env, 'ENCRYPTION_KEY', () =>
      persistentSecret(
        plan.dataDir,
        'encryption-key',
        () => Keyring.generateSpec(),
        (v) => Keyring.isValidSpec(v),
      ),
    );
    const operatorToken = fromEnvOrDataDir(env, 'OPERATOR_TOKEN', () =>
      persistentSecret(
        plan.dataDir,
        'operator-token',
        () => randomBytes(24).toString('base64url'),
        (v) => v.length >= 16,
      ),
    );

    const temporalAddress = await this.startTemporal();
    const childEnv: NodeJS.ProcessEnv = {
      ...env,
      PORT: String(plan.port),
      HOST: LOOPBACK,
      PUBLIC_URL: plan.publicUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      DATA_DIR: plan.dataDir,
      ENCRYPTION_KEY: encryptionKey,
      OPERATOR_TOKEN: operatorToken,
      WORKER_METRICS_PORT: String(plan.workerMetricsPort),
      // The Web UI's origin is the only one the codec grants CORS to.
      TEMPORAL_UI_URL: this.webUiUrl() ?? env.TEMPORAL_UI_URL,
    };
    let sandboxKept = false;
    if (plan.sandbox !== null) {
      sandboxKept = sandboxStateKept(plan.sandbox);
      await this.startSandbox(plan.sandbox, childEnv, sandboxKept);
      Object.assign(childEnv, plan.sandbox.secrets, {
        STOREGANISE_URL_TEMPLATE: `${plan.sandbox.storeganiseUrl}/{subdomain}/api`,
        ZENDESK_URL_TEMPLATE: `${plan.sandbox.zendeskUrl}/zendesk/{subdomain}`,
      });
    }
    say('starting the worker and the API (the worker bundles the workflows first; this takes a moment)');
    this.children.start('worker', 'worker/main.ts', childEnv);
    this.children.start('api', 'api/main.ts', childEnv);
    await this.waitUntilReady('the API to be ready', 180_000, () => httpOk(`${plan.localApiUrl}/readyz`));
    // The worker's metrics endpoint opens once it polls: the banner promises both.
    await this.waitUntilReady('the worker to be ready', 180_000, () =>
      httpOk(`http://${LOOPBACK}:${plan.workerMetricsPort}/metrics`),
    );
    this.confirmOwnProcessesAnswer();

    const demo =
      plan.sandbox?.demo === true
        ? await this.connectDemo(plan.sandbox, temporalAddress, operatorToken, sandboxKept)
        : null;
    const links = await this.accessLinks(operatorToken, demo === null ? null : DEMO_ACCOUNT);
    this.confirmOwnProcessesAnswer();
    process.stdout.write(summary(plan, temporalAddress, this.webUiUrl(), demo, links));
  }

  /**
   * The Web UI as the browser should open it: on the API's host name, so the UI and the codec are
   * the same site and the codec's cookie travels with the UI's requests.
   */
  private webUiUrl(): string | null {
    const { temporal } = this.plan;
    if ((this.devServer?.uiUrl ?? null) === null || temporal.kind !== 'embedded') return null;
    const host = new URL(this.plan.publicUrl).hostname === 'localhost' ? 'localhost' : LOOPBACK;
    return `http://${host}:${temporal.uiPort}`;
  }

  /** Links a browser opens instead of ever holding the operator token: the codec's, and the demo account's status page. */
  private async accessLinks(operatorToken: string, account: string | null): Promise<AccessLinks> {
    const { localApiUrl } = this.plan;
    const url = (answer: unknown): string | null => {
      const parsed = z.object({ url: z.string() }).safeParse(answer);
      return parsed.success ? parsed.data.url : null;
    };
    // A link that cannot be minted yet (the account still registering) is left out, not fatal.
    const mint = (route: string): Promise<string | null> =>
      operatorRequest(localApiUrl, operatorToken, 'POST', route).then(url, () => null);
    return {
      codec: await mint('/codec/link'),
      status: account === null ? null : await mint(`/status/${account}/operator-link`),
    };
  }

  /**
   * The ports were free before the start, but a program may have taken one since, so that the
   * readiness checks were answered by it: the banner is printed only for this start's own processes.
   */
  private confirmOwnProcessesAnswer(): void {
    this.throwIfStopping();
    if (process.platform !== 'linux') return;
    const ours = descendantPids(process.pid);
    for (const wanted of wantedPorts(this.plan)) {
      if (portHeldBy(wanted.port, ours) === false) {
        throw new StartError(
          `port ${wanted.port} (${wanted.what}) is answered by another program, not by this start; stop it, or set ${wanted.variable} to another port`,
        );
      }
    }
  }

  private async startTemporal(): Promise<string> {
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
      // The endpoint only: the UI publishes its settings to anyone who loads it, so no credential
      // goes there. A browser gets the codec's own credential by opening the codec link (summary).
      uiCodecEndpoint: webUiCodecEndpoint(publicUrl),
      dbFilename: path.join(dataDir, 'temporal.sqlite'),
      readyTimeoutSeconds: 120,
      retentionDays: retentionDaysFrom(process.env),
    });
    try {
      this.devServer = await this.devServerStarting;
    } catch (err) {
      throw new StartError(
        `the Temporal dev server did not start:\n${prefixed('[temporal]', err instanceof Error ? err.message : String(err))}`,
      );
    }
    this.throwIfStopping();
    this.watchTemporal(temporal.port);
    return this.devServer.address;
  }

  /** The dev server is not our direct child, so its death is noticed by its port going quiet. */
  private watchTemporal(port: number): void {
    let misses = 0;
    this.temporalWatch = setInterval(() => {
      void tcpAnswers(LOOPBACK, port, 1_000).then((answers) => {
        misses = answers ? 0 : misses + 1;
        if (misses < 3 || this.shuttingDown) return;
        const output = this.devServer?.output() ?? '';
        if (output.trim() !== '') process.stderr.write(`${prefixed('[temporal]', output.trimEnd())}\n`);
        void this.shutdown(1, `the Temporal dev server stopped answering on port ${port}; stopping everything`);
      });
    }, 2_000);
  }

  private async startSandbox(sandbox: SandboxPlan, env: NodeJS.ProcessEnv, kept: boolean): Promise<void> {
    say(
      kept
        ? `starting the sandbox Zendesk and Storeganise with the records kept in ${shownPath(sandbox.stateDir)}`
        : 'starting the sandbox Zendesk and Storeganise',
    );
    this.children.start('sandbox', 'sandbox/main.ts', {
      ...env,
      ...sandbox.secrets,
      SANDBOX_ZENDESK_PORT: String(sandbox.zendeskPort),
      SANDBOX_STOREGANISE_PORT: String(sandbox.storeganisePort),
      SANDBOX_DEMO: sandbox.demo ? '1' : '0',
      SANDBOX_STATE_DIR: sandbox.stateDir,
      SANDBOX_SUMMARY: '0',
    });
    const storeganise = new StoreganiseSandboxClient(sandbox.storeganiseUrl);
    const webhookUrl = `${this.plan.publicUrl}/addon/storeganise`;
    await this.waitUntilReady('the sandboxes to answer', 60_000, async () => {
      const both =
        (await httpOk(`${sandbox.zendeskUrl}/_sandbox/requests`)) &&
        (await httpOk(`${sandbox.storeganiseUrl}/_sandbox/requests`));
      if (!both || !sandbox.demo) return both;
      // The demo seed sets the webhook URL last, and a kept demo is pointed at this run's API: either marks it as ready.
      return storeganise.getAccount(DEMO_ACCOUNT).then(
        (account) => account.webhookUrl === webhookUrl,
        () => false,
      );
    });
  }

  /** Brings the demo account to where the operator can use it, and says whether the authorize link is needed. */
  private async connectDemo(
    sandbox: SandboxPlan,
    temporalAddress: string,
    operatorToken: string,
    sandboxKept: boolean,
  ): Promise<DemoConnection> {
    const { publicUrl, namespace, localApiUrl } = this.plan;
    const storeganise = new StoreganiseSandboxClient(sandbox.storeganiseUrl);
    const knownLink = `${publicUrl}/oauth/zendesk/authorize?account=${DEMO_ACCOUNT}`;
    const activatedBefore = await accountWorkflowRunning(temporalAddress, namespace, DEMO_ACCOUNT);

    if (activatedBefore && sandboxKept) {
      const answer = ConnectionAnswer.parse(
        await operatorRequest(localApiUrl, operatorToken, 'GET', `/operator/accounts/${DEMO_ACCOUNT}`),
      );
      if (answer.connection === 'connected') {
        say('the demo account is connected to the sandbox Zendesk, as the last run left it');
        return { kind: 'connected' };
      }
      return {
        kind: 'authorize',
        link: (await authorizeLink(storeganise, DEMO_ACCOUNT).catch(() => null)) ?? knownLink,
        why: `the demo account is ${answer.connection}`,
      };
    }
    if (activatedBefore) {
      // Temporal remembers the account, but the sandboxes start empty (their records deleted, or
      // kept by no earlier run): its grant and webhook belong to a Zendesk that is gone. Disconnected,
      // the account says so instead of claiming a connection, and the authorize link connects it anew.
      say(
        'the sandboxes start empty but Temporal remembers the demo account: disconnecting it from the Zendesk it knew',
      );
      await operatorRequest(localApiUrl, operatorToken, 'POST', `/operator/accounts/${DEMO_ACCOUNT}/disconnect`);
      await storeganise.emitInstalled(DEMO_ACCOUNT);
      return { kind: 'authorize', link: knownLink, why: 'the sandbox Zendesk started empty' };
    }
    say('activating the demo account (addon.installed from the Storeganise sandbox)');
    await storeganise.emitInstalled(DEMO_ACCOUNT);
    const link = await this.poll(`the "${AUTHORIZE_TASK_TITLE}" task`, 180_000, () =>
      authorizeLink(storeganise, DEMO_ACCOUNT).catch(() => null),
    );
    if (link === null) say('the authorize task has not appeared yet; the link below works all the same');
    return { kind: 'authorize', link: link ?? knownLink, why: null };
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
    this.devServer?.kill();
    process.exit(130);
  }

  async shutdown(exitCode: number, reason: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.temporalWatch !== null) clearInterval(this.temporalWatch);
    if (this.ancestorWatch !== null) clearInterval(this.ancestorWatch);
    if (exitCode === 0) say(reason);
    else complain(reason);
    try {
      await this.children.stop(['api', 'worker']);
      // The sandboxes write their records to DATA_DIR as they stop.
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

/** A path as the newcomer would type it from the project directory. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function summary(
  plan: StartPlan,
  temporalAddress: string,
  uiUrl: string | null,
  demo: DemoConnection | null,
  links: AccessLinks,
): string {
  const row = (label: string, value: string): string => `  ${`${label}:`.padEnd(22)}${value}`;
  const rule = '─'.repeat(78);
  const lines = [
    '',
    rule,
    'sg-zendesk-sync is running',
    '',
    row('API', `${plan.publicUrl}   (health /healthz, readiness /readyz, metrics /metrics)`),
    row('Worker metrics', `http://${LOOPBACK}:${plan.workerMetricsPort}/metrics   (Temporal SDK metrics)`),
    row('Temporal Web UI', uiUrl ?? 'not started here (TEMPORAL_ADDRESS points at an existing server)'),
    row('Temporal gRPC', temporalAddress),
  ];
  if (plan.sandbox !== null) {
    lines.push(
      row('Zendesk sandbox', `${plan.sandbox.zendeskUrl}   (control API ${plan.sandbox.zendeskUrl}/_sandbox)`),
      row(
        'Storeganise sandbox',
        `${plan.sandbox.storeganiseUrl}   (control API ${plan.sandbox.storeganiseUrl}/_sandbox)`,
      ),
    );
  } else {
    lines.push(row('Zendesk and Storeganise', 'as configured by ZENDESK_URL_TEMPLATE and STOREGANISE_URL_TEMPLATE'));
  }
  const kept =
    plan.sandbox === null ? 'generated keys, Temporal database' : 'generated keys, Temporal database, sandbox records';
  lines.push(row('Data directory', `${shownPath(plan.dataDir)}   (${kept}; \`npm start -- --reset\` starts afresh)`));
  const tokenFile = plan.operatorTokenFile;
  lines.push(
    row(
      'Operator token',
      tokenFile === null
        ? 'the OPERATOR_TOKEN variable'
        : `${shownPath(tokenFile)}   (send it as Authorization: Bearer <token>)`,
    ),
  );
  lines.push(
    row('Temporal CLI', `npm run temporal -- workflow list   (the project's own CLI, pointed at ${temporalAddress})`),
  );

  const token = tokenFile === null ? '$OPERATOR_TOKEN' : `$(cat ${shownPath(tokenFile)})`;
  const account = demo === null ? '<subdomain>' : DEMO_ACCOUNT;
  lines.push(
    '',
    `The account's state, as the operator endpoints see it:`,
    `  curl -H "Authorization: Bearer ${token}" ${plan.publicUrl}/operator/accounts/${account}`,
  );
  if (links.status !== null)
    lines.push(
      '',
      `Status page of the ${account} account (sync log, outcomes, full sync; this browser link lasts 12 h):`,
      `  ${links.status}`,
    );
  lines.push(
    `  A read-only link for the storage operator: curl -X POST -H "Authorization: Bearer ${token}" ${plan.publicUrl}/status/${account}/link`,
  );
  if (uiUrl !== null && links.codec !== null) {
    lines.push(
      '',
      'Decrypted payloads in the Web UI: open this codec link once in your browser (it sets a cookie for the codec, then opens the UI),',
      `  ${links.codec}`,
      `  then in the UI's Codec Server settings (the ⚙ at the bottom left) turn on "Include cross-origin credentials".`,
    );
  }

  if (demo !== null && plan.sandbox !== null) {
    if (demo.kind === 'connected') {
      lines.push(
        '',
        'The demo account is connected to the sandbox Zendesk, as the last run left it: no need to authorize again.',
      );
    } else {
      lines.push(
        '',
        `Authorize link: ${demo.link}`,
        `  Open it to connect the demo account to the sandbox Zendesk (it shows the consent page; click Allow)${demo.why === null ? '.' : `: ${demo.why}.`}`,
      );
    }
    // A fresh address each start, so the example works again after a restart that kept the last one's customer.
    const customer = JSON.stringify({
      email: `aiko.tanaka.${randomBytes(2).toString('hex')}@example.jp`,
      firstName: 'Aiko',
      lastName: 'Tanaka',
      phone: '080-4321-8765',
    });
    lines.push(
      '',
      `Create a demo customer in Storeganise; ${demo.kind === 'connected' ? 'it' : 'once authorized, it'} appears in the sandbox Zendesk:`,
      `  curl -X POST ${plan.sandbox.storeganiseUrl}/_sandbox/accounts/${DEMO_ACCOUNT}/users -H 'content-type: application/json' -d '${customer}'`,
      'Then look at it in Zendesk:',
      `  curl ${plan.sandbox.zendeskUrl}/_sandbox/accounts/${DEMO_ACCOUNT}/users`,
      'Or take the guided tour, in another terminal: npm run demo',
    );
  }
  lines.push('', 'Ctrl-C stops everything.', rule, '');
  return lines.join('\n');
}

/** `npm start`: everything on one machine (see the contract's command table). */
async function main(
  env: NodeJS.ProcessEnv = process.env,
  args: readonly string[] = process.argv.slice(2),
): Promise<void> {
  let plan: StartPlan;
  try {
    plan = planFrom(env, args);
  } catch (err) {
    complain(err instanceof Error ? err.message : String(err));
    process.exit(78);
  }
  // Before anything starts or is deleted: a port in use may be another instance of this very setup.
  const problem = await firstPortProblem(plan);
  if (problem !== null) {
    complain(problem);
    process.exit(1);
  }
  if (plan.reset) {
    try {
      resetData(plan);
    } catch (err) {
      complain(`--reset could not delete what earlier runs kept: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
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
