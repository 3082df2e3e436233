import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../lib/config';
import { authorizeWithConsent } from '../sandbox/installation';
import { StoreganiseSandboxClient } from '../sandbox/storeganise/client';
import { ZendeskSandboxClient } from '../sandbox/zendesk/client';
import { freePort } from '../scripts/dev-server';
import { portHeldBy, portProblem } from '../scripts/ports';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { eventually, sleep } from './support/eventually';

const projectRoot = path.resolve(__dirname, '..');
const SUMMARY_END = 'Ctrl-C stops everything.';

/** Variables that would switch `npm start` away from the embedded, sandboxed setup under test. */
const CONFIGURATION_VARIABLES = [
  'PORT',
  'PUBLIC_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'DATA_DIR',
  'ENCRYPTION_KEY',
  'OPERATOR_TOKEN',
  'SG_ADDON_API_KEY',
  'SG_WEBHOOK_SECRET',
  'STOREGANISE_URL_TEMPLATE',
  'ZENDESK_URL_TEMPLATE',
  'ZENDESK_CLIENT_ID',
  'ZENDESK_CLIENT_SECRET',
  'SANDBOX_DEMO',
  'WORKER_METRICS_PORT',
];

/** One process as /proc shows it; the start time tells a process from a later one reusing its pid. */
interface ProcessRecord {
  pid: number;
  startTime: string;
  command: string;
}

function readStat(pid: number): { ppid: number; state: string; startTime: string } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // The process is gone (or was never there).
    return null;
  }
  // The command name may hold spaces and parentheses; every field after the last ')' is plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, startTime] = [fields[0], fields[1], fields[19]];
  if (state === undefined || ppid === undefined || startTime === undefined) return null;
  return { state, ppid: Number(ppid), startTime };
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // Exited between the listing and this read.
    return '';
  }
}

/** Every live descendant of `root`, walking parent links across all of /proc. */
function descendantsOf(root: number): ProcessRecord[] {
  const childrenOf = new Map<number, Array<{ pid: number; startTime: string }>>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === null) continue;
    const siblings = childrenOf.get(stat.ppid) ?? [];
    siblings.push({ pid: Number(entry), startTime: stat.startTime });
    childrenOf.set(stat.ppid, siblings);
  }
  const found: ProcessRecord[] = [];
  const queue = [root];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const child of childrenOf.get(parent) ?? []) {
      found.push({ ...child, command: commandOf(child.pid) });
      queue.push(child.pid);
    }
  }
  return found;
}

function stillAlive(record: ProcessRecord): boolean {
  const stat = readStat(record.pid);
  // A zombie has finished; only its parent's bookkeeping is left.
  return stat !== null && stat.startTime === record.startTime && stat.state !== 'Z';
}

/** `npm start` as a newcomer runs it, with its output collected and its process tree watched. */
class StartRun {
  private output = '';
  readonly seen = new Map<string, ProcessRecord>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly watcher: NodeJS.Timeout;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.watcher = setInterval(() => this.recordTree(), 250);
  }

  get text(): string {
    return this.output;
  }

  recordTree(): void {
    if (this.child.pid === undefined) return;
    for (const record of descendantsOf(this.child.pid)) this.seen.set(`${record.pid}:${record.startTime}`, record);
  }

  stopWatching(): void {
    clearInterval(this.watcher);
  }

  /** The value printed after `label:` in the summary. */
  printed(label: string): string {
    const match = new RegExp(`^\\s*${label}:\\s+(\\S+)`, 'm').exec(this.output);
    assert.ok(match?.[1], `the summary should print ${label}:\n${this.output}`);
    return match[1];
  }

  survivors(): ProcessRecord[] {
    return [...this.seen.values()].filter(stillAlive);
  }

  killEverything(): void {
    for (const record of this.survivors()) process.kill(record.pid, 'SIGKILL');
    try {
      if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
}

async function answers(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

/** Whether this process could listen on the port now: what a next start needs. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

interface StartPorts {
  PORT: number;
  TEMPORAL_PORT: number;
  TEMPORAL_UI_PORT: number;
  SANDBOX_ZENDESK_PORT: number;
  SANDBOX_STOREGANISE_PORT: number;
  WORKER_METRICS_PORT: number;
}

async function freePorts(): Promise<StartPorts> {
  const [a, b, c, d, e, f] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  return {
    PORT: a,
    TEMPORAL_PORT: b,
    TEMPORAL_UI_PORT: c,
    SANDBOX_ZENDESK_PORT: d,
    SANDBOX_STOREGANISE_PORT: e,
    WORKER_METRICS_PORT: f,
  };
}

/** The environment of a newcomer's shell: no configuration but the ports and DATA_DIR the test chose. */
async function startEnv(dataDir: string, ports: StartPorts): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIGURATION_VARIABLES) delete env[name];
  Object.assign(
    env,
    Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
    // The CLI the root hook already provisioned, so this run never installs one.
    { DATA_DIR: dataDir, TEMPORAL_CLI: await resolveTemporalCli(() => undefined), LOG_LEVEL: 'warn' },
  );
  return env;
}

/** `npm start` (with `-- args`), its own process group, output collected and process tree watched. */
function npmStart(env: NodeJS.ProcessEnv, args: string[] = []): StartRun {
  const npmArgs = args.length === 0 ? ['start'] : ['start', '--', ...args];
  return new StartRun(
    spawn('npm', npmArgs, { cwd: projectRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

async function untilReady(run: StartRun): Promise<void> {
  const outcome = await Promise.race([
    eventually(
      () => {
        if (!run.text.includes(SUMMARY_END)) throw new Error(`no summary yet:\n${run.text}`);
        return 'ready' as const;
      },
      { timeoutMs: 240_000, intervalMs: 250 },
    ),
    run.exited.then((exit) => ({ exit })),
  ]);
  assert.equal(outcome, 'ready', `npm start ended before it was ready:\n${run.text}`);
  run.recordTree();
}

/** Waits until nothing `npm start` started is left, and every port it used can be taken again. */
async function assertNothingLeft(run: StartRun, ports: StartPorts, how: string): Promise<void> {
  await eventually(
    () => {
      const left = run.survivors().map((p) => `${p.pid} ${p.command}`);
      assert.deepEqual(left, [], `no process started by npm start outlives ${how}`);
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  run.stopWatching();
  for (const [name, port] of Object.entries(ports) as Array<[string, number]>)
    assert.equal(await portIsFree(port), true, `${name} ${port} is free again after ${how}`);
  assert.match(run.text, /\[start\] stopped$/m, `the script stopped everything itself:\n${run.text.slice(-2000)}`);
}

const ConnectionAnswer = z.looseObject({ connection: z.string() });

describe('npm start', function () {
  this.timeout(600_000);
  let dataDir: string;
  const runs: StartRun[] = [];

  before(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'sg-start-'));
  });
  after(() => {
    for (const run of runs) {
      run.stopWatching();
      run.killEverything();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the demo across a restart, stops every process on SIGTERM or SIGHUP to npm or a terminal Ctrl-C, re-installs honestly when the sandboxes start empty, and starts afresh with --reset', async () => {
    const ports = await freePorts();
    const env = await startEnv(dataDir, ports);

    // 1. The first start: every URL, the authorize link, the operator token's file and a ready operator command.
    const first = npmStart(env);
    runs.push(first);
    await untilReady(first);

    const api = first.printed('API');
    assert.equal(api, `http://localhost:${ports.PORT}`);
    assert.equal((await answers(`${api}/healthz`)).status, 200);
    assert.equal((await answers(`${api}/readyz`)).status, 200);
    assert.equal(first.printed('Temporal gRPC'), `127.0.0.1:${ports.TEMPORAL_PORT}`);
    const webUi = first.printed('Temporal Web UI');
    // On the API's host name: the UI and the codec are one site, so the codec's cookie travels with the UI's requests.
    assert.equal(webUi, `http://localhost:${ports.TEMPORAL_UI_PORT}`);
    assert.equal((await answers(webUi)).status, 200);
    const workerMetrics = first.printed('Worker metrics');
    assert.equal(workerMetrics, `http://127.0.0.1:${ports.WORKER_METRICS_PORT}/metrics`);
    await eventually(async () =>
      assert.match((await answers(workerMetrics)).body, /^temporal_/m, "the worker's Temporal SDK metrics are on"),
    );
    const zendesk = first.printed('Zendesk sandbox');
    const storeganise = first.printed('Storeganise sandbox');
    assert.equal(zendesk, `http://127.0.0.1:${ports.SANDBOX_ZENDESK_PORT}`);
    assert.equal(storeganise, `http://127.0.0.1:${ports.SANDBOX_STOREGANISE_PORT}`);
    const demoAccount = JSON.parse((await answers(`${storeganise}/_sandbox/accounts/demo`)).body) as {
      webhookUrl?: unknown;
    };
    assert.equal(demoAccount.webhookUrl, `${api}/addon/storeganise`);
    assert.match(first.text, /curl -X POST http:\/\/127\.0\.0\.1:\d+\/_sandbox\/accounts\/demo\/users/);

    const tokenFile = path.join(dataDir, 'operator-token');
    assert.equal(first.printed('Operator token'), tokenFile);
    const operatorToken = readFileSync(tokenFile, 'utf8').trim();
    const command = `curl -H "Authorization: Bearer $(cat ${tokenFile})" ${api}/operator/accounts/demo`;
    assert.ok(first.text.includes(command), `the summary shows a ready operator command:\n${first.text}`);
    const operatorGet = async (): Promise<string> => {
      const res = await fetch(`${api}/operator/accounts/demo`, {
        headers: { authorization: `Bearer ${operatorToken}` },
      });
      assert.equal(res.status, 200);
      return ConnectionAnswer.parse(await res.json()).connection;
    };
    assert.equal(await operatorGet(), 'awaiting-authorization');
    assert.match(first.text, /npm run temporal -- workflow list/);

    // The Web UI decodes payloads through the API's codec: it is given the endpoint alone (it publishes its
    // settings to anyone), and no process carries the operator token on its command line.
    const codecEndpoint = `${api}/codec`;
    assert.ok(
      [...first.seen.values()].some((p) => p.command.includes(`--ui-codec-endpoint ${codecEndpoint}`)),
      'the Web UI is given the codec endpoint',
    );
    assert.deepEqual(
      [...first.seen.values()].filter((p) => p.command.includes(operatorToken)).map((p) => p.command),
      [],
      'no command line holds the operator token',
    );
    const decode = (headers: Record<string, string>) =>
      fetch(`${codecEndpoint}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ payloads: [] }),
      });
    assert.equal((await decode({})).status, 401, 'the codec wants a credential');
    assert.equal((await decode({ authorization: `Bearer ${operatorToken}` })).status, 200);
    const encryptionKey = readFileSync(path.join(dataDir, 'encryption-key'), 'utf8').trim();
    assert.equal(first.text.includes(encryptionKey), false, 'the encryption key is never printed');
    for (const file of ['encryption-key', 'operator-token'])
      assert.equal(statSync(path.join(dataDir, file)).mode & 0o777, 0o600, `${file} is private`);
    assert.ok(statSync(path.join(dataDir, 'temporal.sqlite')).isFile(), 'Temporal keeps its state in DATA_DIR');
    const commands = [...first.seen.values()].map((p) => p.command);
    for (const expected of [/api\/main\.ts/, /worker\/main\.ts/, /sandbox\/main\.ts/, /temporal server start-dev/]) {
      assert.ok(
        commands.some((c) => expected.test(c)),
        `the process tree should include ${String(expected)}:\n${commands.join('\n')}`,
      );
    }

    // Authorized as a newcomer would (the consent page, Allow), then a customer is created and linked.
    const link = first.printed('Authorize link');
    assert.equal(link, `${api}/oauth/zendesk/authorize?account=demo`);
    const consent = await authorizeWithConsent(link);
    assert.equal(consent.status, 200, consent.body);
    await eventually(async () => assert.equal(await operatorGet(), 'connected'));
    const sg = new StoreganiseSandboxClient(storeganise);
    const zd = new ZendeskSandboxClient(zendesk);
    const customer = await sg.createUser('demo', {
      firstName: 'Aiko',
      lastName: 'Tanaka',
      email: 'aiko.tanaka@example.jp',
      phone: '080-4321-8765',
    });
    const zdId = await eventually<number>(async () => {
      const pointer = (await sg.getUser('demo', customer.id)).customFields?.zendesk_userId;
      assert.equal(typeof pointer, 'string', 'the customer is not linked yet');
      return Number(pointer);
    });
    assert.equal((await zd.getUser('demo', zdId)).external_id, customer.id);

    // 2. SIGTERM to npm's own pid (an IDE's stop button, a process manager, `kill <pid>`).
    process.kill(first.child.pid ?? assert.fail('npm has a pid'), 'SIGTERM');
    await assertNothingLeft(first, ports, 'SIGTERM to npm');

    // 3. The restart: same customers, still linked, no authorization needed, and a Zendesk edit reaches Storeganise.
    const second = npmStart(env);
    runs.push(second);
    await untilReady(second);
    assert.doesNotMatch(second.text, /Authorize link:/, 'no authorization is asked for');
    assert.match(second.text, /connected to the sandbox Zendesk, as the last run left it/);
    assert.equal(await operatorGet(), 'connected');
    assert.equal((await sg.getUser('demo', customer.id)).customFields?.zendesk_userId, String(zdId));
    assert.equal((await zd.getUser('demo', zdId)).external_id, customer.id);
    await zd.updateUser('demo', zdId, { name: 'Aiko Tanabe' });
    await eventually(async () => assert.equal((await sg.getUser('demo', customer.id)).lastName, 'Tanabe'), {
      timeoutMs: 60_000,
    });

    // The project's own Temporal CLI, pointed at this server by the same variables.
    const cli = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(
        'npm',
        ['run', '--silent', 'temporal', '--', 'workflow', 'count', '--query', "SyncAccount = 'demo'"],
        { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, out }));
    });
    assert.equal(cli.code, 0, cli.out);
    assert.match(cli.out, /Total: [1-9]\d*/);

    // 4. SIGHUP to npm's pid: npm dies of it and passes nothing on.
    process.kill(second.child.pid ?? assert.fail('npm has a pid'), 'SIGHUP');
    await assertNothingLeft(second, ports, 'SIGHUP to npm');

    // 5. The sandboxes' records gone while Temporal keeps the account (an upgrade from a version that
    //    kept none, or the files deleted): the account says it is disconnected instead of claiming a
    //    connection the new sandbox Zendesk never granted, and one authorization makes it work again.
    rmSync(path.join(dataDir, 'sandbox'), { recursive: true, force: true });
    const fourth = npmStart(env);
    runs.push(fourth);
    await untilReady(fourth);
    assert.equal(fourth.printed('Authorize link'), `${api}/oauth/zendesk/authorize?account=demo`);
    assert.match(fourth.text, /the sandbox Zendesk started empty/);
    assert.equal(await operatorGet(), 'disconnected');
    assert.equal((await authorizeWithConsent(`${api}/oauth/zendesk/authorize?account=demo`)).status, 200);
    await eventually(async () => assert.equal(await operatorGet(), 'connected'));
    const newcomer = await sg.createUser('demo', {
      firstName: 'Kaito',
      lastName: 'Mori',
      email: 'kaito.mori@example.jp',
    });
    await eventually(
      async () =>
        assert.equal(
          typeof (await sg.getUser('demo', newcomer.id)).customFields?.zendesk_userId,
          'string',
          'the newcomer is not linked yet',
        ),
      { timeoutMs: 60_000 },
    );
    process.kill(fourth.child.pid ?? assert.fail('npm has a pid'), 'SIGTERM');
    await assertNothingLeft(fourth, ports, 'SIGTERM to npm');

    // 6. --reset: a fresh demo that needs authorizing, the earlier customer gone; then a terminal Ctrl-C (SIGINT to the whole group).
    const third = npmStart(env, ['--reset']);
    runs.push(third);
    await untilReady(third);
    assert.match(third.text, /--reset: removed temporal\.sqlite.*sandbox\//);
    assert.equal(third.printed('Authorize link'), `${api}/oauth/zendesk/authorize?account=demo`);
    assert.equal(await operatorGet(), 'awaiting-authorization');
    assert.equal(
      (await sg.listUsers('demo')).some((u) => u.id === customer.id),
      false,
      'the earlier customer is gone',
    );
    assert.equal(readFileSync(tokenFile, 'utf8').trim(), operatorToken, 'the operator token is kept');
    process.kill(-(third.child.pid ?? assert.fail('npm has a pid')), 'SIGINT');
    await assertNothingLeft(third, ports, 'a terminal Ctrl-C');
  });

  it('a port in use stops it before anything starts or is reset: one line naming the port and the variable, no banner, no process left, and the other program gets no request', async () => {
    const ports = await freePorts();
    const env = await startEnv(dataDir, ports);
    // Kept data that --reset would delete if it ran.
    writeFileSync(path.join(dataDir, 'temporal.sqlite.marker'), 'kept');
    for (const variable of [
      'PORT',
      'TEMPORAL_PORT',
      'TEMPORAL_UI_PORT',
      'SANDBOX_ZENDESK_PORT',
      'SANDBOX_STOREGANISE_PORT',
      'WORKER_METRICS_PORT',
    ] as const) {
      // Another program on the port that would answer every readiness check.
      const requests: string[] = [];
      const other = http.createServer((req, res) => {
        requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
      });
      await new Promise<void>((resolve) => other.listen(ports[variable], '127.0.0.1', resolve));
      try {
        const run = npmStart(env, ['--reset']);
        runs.push(run);
        const exit = await Promise.race([run.exited, sleep(60_000).then(() => null)]);
        assert.ok(exit !== null, `npm start did not stop:\n${run.text}`);
        assert.notEqual(exit.code, 0);
        const lines = run.text.split('\n').filter((line) => line.startsWith('[start]'));
        assert.equal(lines.length, 1, `one line:\n${run.text}`);
        assert.match(lines[0] ?? '', new RegExp(`port ${ports[variable]} .*set ${variable} to another port`));
        assert.doesNotMatch(run.text, /sg-zendesk-sync is running/);
        await assertNoSurvivors(run);
        assert.deepEqual(requests, [], 'nothing was sent to the other program');
      } finally {
        await new Promise<void>((resolve) => other.close(() => resolve()));
      }
    }
    assert.equal(readFileSync(path.join(dataDir, 'temporal.sqlite.marker'), 'utf8'), 'kept', '--reset deleted nothing');

    // Two variables naming one port are refused the same way.
    const run = npmStart({ ...env, SANDBOX_ZENDESK_PORT: String(ports.PORT) });
    runs.push(run);
    const exit = await Promise.race([run.exited, sleep(60_000).then(() => null)]);
    assert.ok(exit !== null && exit.code !== 0, run.text);
    assert.match(run.text, new RegExp(`PORT and SANDBOX_ZENDESK_PORT both name port ${ports.PORT}`));
  });

  it("tells this start's own listening socket from another program's on the same port", async () => {
    const mine = net.createServer();
    await new Promise<void>((resolve) => mine.listen(0, '127.0.0.1', resolve));
    const port = (mine.address() as net.AddressInfo).port;
    try {
      assert.equal(portHeldBy(port, [process.pid]), true, 'held by this process');
      assert.equal(portHeldBy(port, [process.ppid]), false, 'not by another one');
      assert.match(
        (await portProblem({ port, what: 'the API', variable: 'PORT' })) ?? '',
        new RegExp(`port ${port} \\(the API\\) is already in use.*set PORT to another port`),
      );
    } finally {
      await new Promise<void>((resolve) => mine.close(() => resolve()));
    }
    assert.equal(await portProblem({ port, what: 'the API', variable: 'PORT' }), null, 'a free port is no problem');
  });
});

/** Waits until every process a run started has ended. */
async function assertNoSurvivors(run: StartRun): Promise<void> {
  await eventually(
    () =>
      assert.deepEqual(
        run.survivors().map((p) => `${p.pid} ${p.command}`),
        [],
      ),
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  run.stopWatching();
}

describe('npm run sandbox', function () {
  this.timeout(120_000);

  it('prints an .env snippet with which `npm run api` and `npm run worker` accept their configuration', async () => {
    const [zendeskPort, storeganisePort] = await Promise.all([freePort(), freePort()]);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SANDBOX_ZENDESK_PORT: String(zendeskPort),
      SANDBOX_STOREGANISE_PORT: String(storeganisePort),
    };
    for (const name of CONFIGURATION_VARIABLES) if (!name.startsWith('SANDBOX_')) delete env[name];
    const run = new StartRun(
      spawn('npm', ['run', 'sandbox'], { cwd: projectRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    try {
      await eventually(() => assert.match(run.text, /^OPERATOR_TOKEN=/m), { timeoutMs: 60_000, intervalMs: 250 });
      run.recordTree();
      const snippet = Object.fromEntries(
        run.text
          .split('\n')
          .filter((line) => /^[A-Z_]+=/.test(line))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      assert.equal(snippet.ZENDESK_URL_TEMPLATE, `http://127.0.0.1:${zendeskPort}/zendesk/{subdomain}`);
      assert.equal(snippet.STOREGANISE_URL_TEMPLATE, `http://127.0.0.1:${storeganisePort}/{subdomain}/api`);
      // The configuration the api and worker read, from the snippet alone.
      const config = loadConfig(snippet);
      assert.equal(config.storeganise.addonApiKey, snippet.SG_ADDON_API_KEY);
      assert.equal(config.zendesk.clientId, snippet.ZENDESK_CLIENT_ID);
      // The demo account in the sandbox takes exactly these credentials.
      const account = await new StoreganiseSandboxClient(`http://127.0.0.1:${storeganisePort}`).getAccount('demo');
      assert.equal(account.addonApiKey, snippet.SG_ADDON_API_KEY);
      assert.equal(account.webhookSecret, snippet.SG_WEBHOOK_SECRET);
    } finally {
      if (run.child.pid !== undefined) process.kill(-run.child.pid, 'SIGTERM');
      await assertNoSurvivors(run);
    }
  });
});
