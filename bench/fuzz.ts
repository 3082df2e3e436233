import { runCampaign } from './fuzz/campaign';
import { freshEditsSync, liveness, secretsInLogs, settle, startedByRefused, workflowIds } from './fuzz/evidence';
import { parseFuzzOptions, reproduceCommand, usage, UsageError, type FuzzOptions } from './fuzz/options';
import { classRows, failuresOf, formatReport, slowestMutations, type FuzzReport } from './fuzz/report';
import { startFuzzSystem, type FuzzSystem } from './fuzz/system';
import type { ChaosSystem } from './chaos/system';

/**
 * `npm run fuzz`: seeded malformed, forged and hostile requests against the real api and worker
 * processes on a Temporal dev server and the sandboxes, all on loopback, with valid signed events
 * for real linked customers interleaved and names edited through the sandboxes meanwhile. Then:
 * what refused requests started, whether an edit still syncs both ways, whether the worker still
 * polls, and whether a secret reached a log. Progress goes to stderr, the report to stdout.
 */

/** The longest wait for the accepted events to finish once the requests stop. */
const SETTLE_MS = 5 * 60_000;
const FRESH_EDIT_TIMEOUT_MS = 120_000;

async function run(
  options: FuzzOptions,
  log: (line: string) => void,
  onSystem: (system: ChaosSystem) => void,
): Promise<number> {
  const began = Date.now();
  let system: FuzzSystem | null = null;
  let failed = true;
  try {
    system = await startFuzzSystem({
      logLevel: options.logLevel,
      users: options.users,
      note: log,
      onStarted: onSystem,
    });
    const { target, client, chaos } = system;
    const before = await workflowIds(client);
    const setupSeconds = (Date.now() - began) / 1000;

    log(`sending ${options.requests} requests, ${options.concurrency} at a time (seed ${options.seed}) ...`);
    const campaign = await runCampaign(system, options, log);
    const genuine = chaos.timer.since(campaign.startedAtMs);

    log('requests sent; waiting for the accepted events to finish ...');
    const settled = await settle(system, target.accounts, SETTLE_MS);
    log('tracing workflows to the requests that started them ...');
    const started = await startedByRefused(client, before, campaign.sent, target.accounts);
    log('editing on both sides to see the sync still works ...');
    const [account] = target.accounts;
    if (account === undefined) throw new Error('no account was installed');
    const freshEdits = await freshEditsSync(system, account, FRESH_EDIT_TIMEOUT_MS);
    const alive = await liveness(system);
    const secrets = secretsInLogs(chaos.dir, chaos.env, target.accounts);

    const { rows, total, problems } = classRows(campaign.sent, started);
    const notes: string[] = [];
    if (campaign.cappedByTime)
      notes.push(
        `--minutes ${options.minutes} stopped the run after ${campaign.sent.length} of ${options.requests} requests`,
      );
    const partial: Omit<FuzzReport, 'failures' | 'keptFiles'> = {
      command: reproduceCommand(options),
      seed: options.seed,
      seconds: { setup: setupSeconds, campaign: campaign.seconds, total: (Date.now() - began) / 1000 },
      requestsSent: campaign.sent.length,
      cappedByTime: campaign.cappedByTime,
      rows,
      total,
      problems,
      slowest: slowestMutations(campaign.sent),
      personEdits: campaign.personEdits,
      genuineWebhooks: {
        deliveries: genuine.length,
        not2xx: genuine.filter((d) => d.status === null || d.status < 200 || d.status >= 300).length,
      },
      trapRequests: system.trap.requests,
      strangerAccounts: started.strangerAccounts,
      unqueriedCustomers: started.unqueried,
      tracedAccepted: started.tracedAccepted,
      settled,
      freshEdits,
      liveness: alive,
      secrets,
      notes,
    };
    const failures = failuresOf(partial);
    failed = failures.length > 0;
    const report: FuzzReport = { ...partial, failures, keptFiles: failed ? chaos.dir : null };
    process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    return failed ? 1 : 0;
  } finally {
    if (system !== null) {
      log('stopping the api, the worker, the sandboxes and Temporal ...');
      await system.close();
      if (failed) log(`logs and the Temporal database kept in ${system.chaos.dir}`);
      else system.chaos.removeFiles();
    }
  }
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  let options: FuzzOptions;
  try {
    options = parseFuzzOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n\n${usage()}`);
    process.exit(2);
  }
  const began = Date.now();
  const log = (line: string): void =>
    void process.stderr.write(`[fuzz +${((Date.now() - began) / 1000).toFixed(1)}s] ${line}\n`);
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
      process.stdout.write(`FAIL: the fuzz run could not run: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

main();
