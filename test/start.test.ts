import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../scripts/dev-server';
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

  /** The process running scripts/start.ts itself, under npx and tsx. */
  startScriptPid(): number {
    const script = [...this.seen.values()].find((p) => / scripts\/start\.ts$/.test(p.command) && p.command.includes('preflight'));
    assert.ok(script, `no scripts/start.ts process among:\n${[...this.seen.values()].map((p) => p.command).join('\n')}`);
    return script.pid;
  }

  survivors(): ProcessRecord[] {
    return [...this.seen.values()].filter(stillAlive);
  }

  killEverything(): void {
    for (const record of this.survivors()) process.kill(record.pid, 'SIGKILL');
    if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(-this.child.pid, 'SIGKILL');
  }
}

async function answers(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

describe('npm start', function () {
  this.timeout(300_000);
  let dataDir: string;
  let run: StartRun | null = null;

  before(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'sg-start-'));
  });
  after(() => {
    run?.stopWatching();
    run?.killEverything();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts everything on free ports, prints every URL, and SIGINT stops every process it started', async () => {
    const [apiPort, temporalPort, uiPort, zendeskPort, storeganisePort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of CONFIGURATION_VARIABLES) delete env[name];
    Object.assign(env, {
      DATA_DIR: dataDir,
      PORT: String(apiPort),
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      SANDBOX_ZENDESK_PORT: String(zendeskPort),
      SANDBOX_STOREGANISE_PORT: String(storeganisePort),
      // The CLI the root hook already provisioned, so this run never installs one.
      TEMPORAL_CLI: await resolveTemporalCli(() => undefined),
      LOG_LEVEL: 'warn',
    });
    const current = new StartRun(spawn('npx', ['tsx', 'scripts/start.ts'], { cwd: projectRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
    run = current;

    const outcome = await Promise.race([
      eventually(
        () => {
          if (!current.text.includes(SUMMARY_END)) throw new Error(`no summary yet:\n${current.text}`);
          return 'ready' as const;
        },
        { timeoutMs: 180_000, intervalMs: 250 },
      ),
      current.exited.then((exit) => ({ exit })),
    ]);
    assert.equal(outcome, 'ready', `npm start ended before it was ready:\n${current.text}`);
    current.recordTree();

    const api = current.printed('API');
    assert.equal(api, `http://localhost:${apiPort}`);
    assert.equal((await answers(`${api}/healthz`)).status, 200);
    assert.equal((await answers(`${api}/readyz`)).status, 200);
    assert.equal(current.printed('Temporal gRPC'), `127.0.0.1:${temporalPort}`);
    const webUi = current.printed('Temporal Web UI');
    assert.equal(webUi, `http://127.0.0.1:${uiPort}`);
    assert.equal((await answers(webUi)).status, 200);

    const zendesk = current.printed('Zendesk sandbox');
    const storeganise = current.printed('Storeganise sandbox');
    assert.equal(zendesk, `http://127.0.0.1:${zendeskPort}`);
    assert.equal(storeganise, `http://127.0.0.1:${storeganisePort}`);
    assert.equal((await answers(`${zendesk}/_sandbox/accounts/demo`)).status, 200);
    const demoAccount = JSON.parse((await answers(`${storeganise}/_sandbox/accounts/demo`)).body) as { webhookUrl?: unknown };
    assert.equal(demoAccount.webhookUrl, `${api}/addon/storeganise`);

    // The link leads through the API to the sandbox Zendesk's consent page, as a newcomer's browser would go.
    const authorizeLink = current.printed('Authorize link');
    assert.equal(authorizeLink, `${api}/oauth/zendesk/authorize?account=demo`);
    const toZendesk = await fetch(authorizeLink, { redirect: 'manual' });
    assert.equal(toZendesk.status, 302);
    const consentUrl = toZendesk.headers.get('location') ?? '';
    assert.ok(consentUrl.startsWith(`${zendesk}/zendesk/demo/oauth/authorizations/new?`), consentUrl);
    const consent = await answers(consentUrl);
    assert.equal(consent.status, 200);
    assert.match(consent.body, /Allow/);

    assert.match(current.text, /curl -X POST http:\/\/127\.0\.0\.1:\d+\/_sandbox\/accounts\/demo\/users/);

    // The Web UI decodes payloads through the API's codec, with the operator token kept in DATA_DIR.
    const operatorToken = readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim();
    const codecEndpoint = `${api}/codec/t/${operatorToken}`;
    assert.ok([...current.seen.values()].some((p) => p.command.includes(`--ui-codec-endpoint ${codecEndpoint}`)), 'the Web UI is given the codec endpoint');
    const decoded = await fetch(`${codecEndpoint}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) });
    assert.equal(decoded.status, 200);
    const encryptionKey = readFileSync(path.join(dataDir, 'encryption-key'), 'utf8').trim();
    assert.equal(current.text.includes(encryptionKey), false, 'the encryption key is never printed');
    for (const file of ['encryption-key', 'operator-token']) assert.equal(statSync(path.join(dataDir, file)).mode & 0o777, 0o600, `${file} is private`);
    assert.ok(statSync(path.join(dataDir, 'temporal.sqlite')).isFile(), 'Temporal keeps its state in DATA_DIR');

    const commands = [...current.seen.values()].map((p) => p.command);
    for (const expected of [/api\/main\.ts/, /worker\/main\.ts/, /sandbox\/main\.ts/, /temporal server start-dev/]) {
      assert.ok(
        commands.some((c) => expected.test(c)),
        `the process tree should include ${String(expected)}:\n${commands.join('\n')}`,
      );
    }

    // npm itself answers a terminal Ctrl-C with 130 whatever its child does, so the signal goes to
    // the script, which must then stop everything it started on its own.
    process.kill(current.startScriptPid(), 'SIGINT');
    const exit = await Promise.race([current.exited, sleep(60_000).then(() => null)]);
    current.stopWatching();
    assert.deepEqual(exit, { code: 0, signal: null }, `npm start should exit 0 after SIGINT:\n${current.text.slice(-3000)}`);
    assert.match(current.text, /\[start\] stopped/);
    assert.deepEqual(
      current.survivors().map((p) => `${p.pid} ${p.command}`),
      [],
      'no process started by npm start outlives it',
    );
  });
});
