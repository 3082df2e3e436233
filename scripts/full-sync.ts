import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

// `npm run full-sync -- --account SUB`: starts the account's full sync (or attaches to the one
// running, the initial import included) through the API's operator endpoint and draws its
// progress, read from the workflow, until it ends. Ctrl-C detaches (the sync goes on); `--cancel`
// cancels it. The API and the operator token are found as `npm run demo` finds them.

const USAGE = `Usage: npm run full-sync -- --account SUB [--cancel] [--api URL]

  --account SUB  the Storeganise subdomain of the account
  --cancel       cancel the account's running full sync instead of starting one
  --api URL      the API's base URL (default http://127.0.0.1:$PORT, PORT defaulting to 3000)

The operator token is OPERATOR_TOKEN, else the file DATA_DIR/operator-token that npm start writes.`;

class UsageError extends Error {}

const ProgressSchema = z.looseObject({
  state: z.string(),
  mode: z.string().optional(),
  done: z.number(),
  total: z.number(),
  linked: z.number(),
  created: z.number(),
  repaired: z.number(),
  conflicts: z.number(),
  errors: z.number(),
  inFlight: z.number().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().nullable().optional(),
  workflowId: z.string().optional(),
});
type Progress = z.infer<typeof ProgressSchema>;

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

const ENDED = new Set(['completed', 'cancelled', 'failed']);
const POLL_MS = 1_000;
/** Progress reads in a row that may fail (no answer, or a 5xx) before the CLI gives up. */
const MAX_UNANSWERED = 30;
/** Without a terminal, a line is printed this often (and whenever the state changes). */
const PLAIN_EVERY_MS = 5_000;

interface Options {
  account: string;
  cancel: boolean;
  api: string;
  token: string;
}

const blank = (value: string | undefined): boolean => value === undefined || value.trim() === '';

function optionsFrom(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  let account: string | null = null;
  let cancel = false;
  let api: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.split(/=(.*)/s, 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag ?? arg} needs a value`);
      return v;
    };
    if (flag === '--account') account = value().toLowerCase();
    else if (flag === '--api') api = value().replace(/\/+$/, '');
    else if (flag === '--cancel') cancel = true;
    else throw new UsageError(`unknown option ${arg}`);
  }
  if (account === null) throw new UsageError('--account is required');
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(account))
    throw new UsageError(`--account ${account}: not a Storeganise subdomain`);
  const port = blank(env.PORT) ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`PORT: must be a port number, got "${env.PORT}"`);
  let token = blank(env.OPERATOR_TOKEN) ? null : String(env.OPERATOR_TOKEN).trim();
  const tokenFile = path.join(path.resolve(blank(env.DATA_DIR) ? './.data' : String(env.DATA_DIR)), 'operator-token');
  if (token === null) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch {
      throw new UsageError(`no operator token: set OPERATOR_TOKEN, or run npm start (it writes ${tokenFile})`);
    }
  }
  return { account, cancel, api: api ?? `http://127.0.0.1:${port}`, token };
}

async function call(options: Options, method: 'GET' | 'POST' | 'DELETE'): Promise<{ status: number; body: unknown }> {
  const url = `${options.api}/operator/accounts/${encodeURIComponent(options.account)}/full-sync`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${options.token}` },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new Error(
      `the API at ${options.api} did not answer (${err instanceof Error ? err.message : String(err)}); is it running?`,
    );
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

function failure(what: string, answer: { status: number; body: unknown }): Error {
  const parsed = ErrorSchema.safeParse(answer.body);
  return new Error(`${what} answered ${answer.status}${parsed.success ? `: ${parsed.data.error.message}` : ''}`);
}

const duration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

const counts = (p: Progress): string =>
  `linked ${p.linked}, created ${p.created}, repaired ${p.repaired}, conflicts ${p.conflicts}, errors ${p.errors}`;

/** Customers per second over the last half minute of samples, and the time left at that pace. */
class Pace {
  private readonly samples: Array<{ at: number; done: number }> = [];

  add(done: number, at = Date.now()): void {
    this.samples.push({ at, done });
    while (this.samples.length > 2 && at - (this.samples[0]?.at ?? at) > 30_000) this.samples.shift();
  }

  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < 2_000) return null;
    return (last.done - first.done) / ((last.at - first.at) / 1000);
  }
}

/** One progress line; `width` is the terminal's, null when the output is not a terminal (a fixed bar then). */
function line(p: Progress, pace: Pace, width: number | null): string {
  const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const rate = pace.rate();
  const eta = rate !== null && rate > 0 ? duration(((p.total - p.done) / rate) * 1000) : '?';
  const text = `${String(Math.floor(fraction * 100)).padStart(3)}% ${p.done}/${p.total}  ${rate === null ? '?' : rate.toFixed(1)}/s  ETA ${eta}  ${counts(p)}${p.state === 'running' ? '' : `  [${p.state}]`}`;
  const barWidth = width === null ? 20 : Math.max(10, Math.min(40, width - text.length - 3));
  const filled = Math.round(fraction * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${text}`;
}

async function run(options: Options): Promise<number> {
  const print = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };
  if (options.cancel) {
    const answer = await call(options, 'DELETE');
    if (answer.status === 404) {
      print(`no full sync of ${options.account} is running`);
      return 0;
    }
    if (answer.status !== 202) throw failure('cancelling', answer);
    print(`cancelling the full sync of ${options.account} ...`);
  } else {
    const answer = await call(options, 'POST');
    if (answer.status !== 200 && answer.status !== 202) throw failure('starting the full sync', answer);
    const started = z
      .object({
        workflowId: z.string(),
        attached: z.boolean(),
        progress: z.looseObject({ mode: z.string() }).nullable(),
      })
      .parse(answer.body);
    const kind = started.progress?.mode === 'import' ? 'import' : 'full sync';
    print(
      started.attached
        ? `attached to the running ${kind} of ${options.account} (${started.workflowId})`
        : `started the full sync of ${options.account} (${started.workflowId})`,
    );
  }

  const tty = process.stdout.isTTY === true;
  const pace = new Pace();
  let detached = false;
  const detach = (): void => {
    detached = true;
  };
  process.once('SIGINT', detach);
  let lastPlain = 0;
  let lastState = '';
  let unanswered = 0;
  for (;;) {
    let answer: { status: number; body: unknown } | null = null;
    try {
      answer = await call(options, 'GET');
    } catch (err) {
      // The API restarting, or slow for a moment: the sync goes on regardless, so the CLI waits.
      if (++unanswered > MAX_UNANSWERED) throw err;
    }
    if (answer !== null && answer.status >= 500 && ++unanswered <= MAX_UNANSWERED) answer = null;
    if (answer !== null) {
      if (answer.status !== 200) throw failure('reading the progress', answer);
      unanswered = 0;
      const progress = ProgressSchema.parse(answer.body);
      pace.add(progress.done);
      const text = line(progress, pace, tty ? (process.stdout.columns ?? 100) : null);
      if (tty) process.stdout.write(`\r\x1b[2K${text}`);
      else if (Date.now() - lastPlain >= PLAIN_EVERY_MS || progress.state !== lastState || ENDED.has(progress.state)) {
        print(text);
        lastPlain = Date.now();
      }
      lastState = progress.state;
      if (ENDED.has(progress.state)) {
        if (tty) process.stdout.write('\n');
        const took =
          progress.startedAt && progress.finishedAt
            ? ` in ${duration(Date.parse(progress.finishedAt) - Date.parse(progress.startedAt))}`
            : '';
        print(
          `${progress.mode === 'import' ? 'import' : 'full sync'} of ${options.account} ${progress.state}${took}: ${progress.done}/${progress.total} customers; ${counts(progress)}`,
        );
        return progress.state === 'completed' || (options.cancel && progress.state === 'cancelled') ? 0 : 1;
      }
    }
    for (let waited = 0; waited < POLL_MS && !detached; waited += 100) await sleep(100);
    if (detached) {
      if (tty) process.stdout.write('\n');
      print(
        `detached; the full sync of ${options.account} goes on (npm run full-sync -- --account ${options.account} to watch it again, --cancel to stop it)`,
      );
      return 0;
    }
  }
}

let options: Options;
try {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  options = optionsFrom(argv, process.env);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`${err.message}\n\n${USAGE}`);
  process.exit(2);
}

run(options).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`full-sync: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
