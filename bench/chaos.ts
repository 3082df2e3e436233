import { judgeRun, type PersonEdit } from './oracle';
import {
  acceptedEvents,
  callsBeforeRetryAfter,
  collectEvidence,
  injectedFaults,
  takeBaseline,
  waitUntilSettled,
  webhookAnswers,
} from './chaos/evidence';
import { ChaosAgent, planChaos } from './chaos/faults';
import { EditLoad, seedLinkedUsers, type MadeEdit } from './chaos/load';
import { parseChaosOptions, reproduceCommand, usage, UsageError, type ChaosOptions } from './chaos/options';
import { editFigures, failuresOf, formatReport, type ChaosReport } from './chaos/report';
import { ChaosSystem, DEFAULT_CALLING_CODE, NAME_FORMAT } from './chaos/system';

/**
 * `npm run chaos`: the real api and worker against the sandboxes, under a load of edits on both
 * sides while the worker and the api are SIGKILLed, Temporal restarts on its database, and both
 * sandboxes inject 5xx, 429 bursts, lost answers and duplicated, reordered and delayed webhooks.
 * Then the faults stop, the sync settles, and the oracle judges what every edit became.
 * Progress goes to stderr, the report to stdout.
 */

/** Same-field edits of one user on both sides within 2.5 s: four a minute. */
const CONFLICT_EVERY_MS = 15_000;
/** The chaos phase is never shorter than this, whatever the budget left after setup. */
const MIN_CHAOS_MS = 60_000;

const toPersonEdit = ({ side, userKey, field, value, atMs }: MadeEdit): PersonEdit => ({
  side,
  userKey,
  field,
  value,
  atMs,
});

async function run(
  options: ChaosOptions,
  log: (line: string) => void,
  onSystem: (system: ChaosSystem) => void,
): Promise<number> {
  const began = Date.now();
  const deadline = began + options.minutes * 60_000;
  const notes: string[] = [];
  let started: ChaosSystem | null = null;
  let failed = true;
  try {
    const system = await ChaosSystem.start({
      logLevel: options.logLevel,
      note: log,
      onStarted: (s) => {
        started = s;
        onSystem(s);
      },
    });
    const account = await system.installAccount('chaos');
    log(`account connected; seeding ${options.users} linked users ...`);
    const users = await seedLinkedUsers(system, account, options.users, log);
    const seeded = await waitUntilSettled(system, account, users, 120_000);
    if (!seeded.settled) notes.push(`the seeded users had not settled when the chaos began: ${seeded.reason ?? ''}`);
    const baseline = await takeBaseline(system, account, (line) => {
      notes.push(line);
      log(line);
    });
    const setupSeconds = (Date.now() - began) / 1000;

    const settleMs = options.settleMinutes * 60_000;
    const chaosMs = Math.max(MIN_CHAOS_MS, deadline - Date.now() - Math.min(settleMs, options.minutes * 15_000));
    const chaosStart = Date.now();
    const chaosEnd = chaosStart + chaosMs;
    log(
      `chaos for ${(chaosMs / 1000).toFixed(0)} s: ${options.rate} edits/s on ${options.users} users, process kills, a Temporal restart, sandbox faults ...`,
    );
    const agent = new ChaosAgent(system, account, log);
    const load = new EditLoad(system, account, users, options.seed);
    const progress = setInterval(() => log(`  ${load.edits.length} edits made ...`), 30_000);
    try {
      await Promise.all([
        agent.run(planChaos(chaosMs, options.seed), chaosStart, chaosEnd),
        load.run({ rate: options.rate, conflictEveryMs: CONFLICT_EVERY_MS, untilMs: chaosEnd }),
      ]);
    } finally {
      clearInterval(progress);
    }
    const chaosSeconds = (Date.now() - chaosStart) / 1000;

    log('faults and edits stopped; waiting for both sides to be quiet and equal ...');
    await agent.stopFaults();
    const faultWindow = { fromMs: chaosStart, toMs: Date.now() };
    await bringBack(system, notes);
    const settling = await waitUntilSettled(system, account, users, settleMs);
    if (!settling.settled)
      notes.push(`the sync did not settle (${settling.reason ?? ''}); the figures are as it stood then`);

    log('reading the change logs and final states back, judging ...');
    const evidence = await collectEvidence(system, account, baseline);
    const verdict = judgeRun({
      edits: load.edits.filter((e) => e.error === null).map(toPersonEdit),
      pairs: users,
      baseline: baseline.states,
      final: evidence.final,
      changes: evidence.changes,
      nameFormat: NAME_FORMAT,
      defaultCallingCode: DEFAULT_CALLING_CODE,
    });
    const timed = system.timer.since(baseline.atMs);
    const partial: Omit<ChaosReport, 'failures'> = {
      command: reproduceCommand(options),
      options: {
        minutes: options.minutes,
        seed: options.seed,
        users: options.users,
        rate: options.rate,
        settleMinutes: options.settleMinutes,
      },
      seconds: {
        setup: setupSeconds,
        chaos: chaosSeconds,
        settle: settling.seconds,
        total: (Date.now() - began) / 1000,
      },
      settling,
      edits: editFigures(load.edits),
      acceptedEvents: {
        storeganise: acceptedEvents(evidence.deliveries.storeganise),
        zendesk: acceptedEvents(evidence.deliveries.zendesk),
      },
      webhookAnswers: webhookAnswers(timed),
      callsBeforeRetryAfter: callsBeforeRetryAfter(evidence.requests.zendesk),
      faults: {
        ...agent.counts,
        crashes: { worker: system.worker.crashes, api: system.api.crashes },
        injected: {
          zendesk: injectedFaults(evidence.requests.zendesk, faultWindow),
          storeganise: injectedFaults(evidence.requests.storeganise, faultWindow),
        },
      },
      verdict,
      notes: [...notes, ...agent.problems, ...unmeasured(verdict.counts.lostEdits)],
      keptFiles: null,
    };
    const failures = failuresOf(partial);
    failed = failures.length > 0;
    const report: ChaosReport = { ...partial, failures, keptFiles: failed ? system.dir : null };
    process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    return failed ? 1 : 0;
  } finally {
    await stopSystem(started, failed, log);
  }
}

async function stopSystem(system: ChaosSystem | null, failed: boolean, log: (line: string) => void): Promise<void> {
  if (system === null) return;
  log('stopping the api, the worker, the sandboxes and Temporal ...');
  await system.close();
  if (failed) log(`logs and the Temporal database kept in ${system.dir}`);
  else system.removeFiles();
}

function unmeasured(lostEdits: number | null): string[] {
  return lostEdits === null
    ? ['without change logs, lost edits, stale overwrites, reverted edits and writes back were not measured']
    : [];
}

/** Starts whatever the chaos left down, so the sync can settle. */
async function bringBack(system: ChaosSystem, notes: string[]): Promise<void> {
  system.worker.start();
  system.api.start();
  const ready = async (what: string, wait: Promise<void>): Promise<void> => {
    try {
      await wait;
    } catch (err) {
      notes.push(`${what} did not come back after the chaos: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  await Promise.all([ready('the worker', system.workerReady(300_000)), ready('the api', system.apiReady(60_000))]);
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  let options: ChaosOptions;
  try {
    options = parseChaosOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n\n${usage()}`);
    process.exit(2);
  }
  const began = Date.now();
  const log = (line: string): void =>
    void process.stderr.write(`[chaos +${((Date.now() - began) / 1000).toFixed(1)}s] ${line}\n`);
  let system: ChaosSystem | null = null;
  // Ctrl-C still stops every process this run started.
  const interrupt = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping ...`);
    const stopping = system;
    void (stopping?.close() ?? Promise.resolve()).finally(() => {
      if (stopping) log(`logs and the Temporal database kept in ${stopping.dir}`);
      process.exit(130);
    });
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  process.once('exit', () => system?.killNow());
  run(options, log, (started) => {
    system = started;
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.stdout.write(`FAIL: the chaos run could not run: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

main();
