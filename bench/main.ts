import { startDevServer } from '../scripts/dev-server';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { temporalCostBetween } from './actions';
import { runBackfill } from './backfill';
import { CpuMeter, cpuOfPid, cpuOfThisProcess, findProcess } from './cpu';
import { measure, type ApiRequest } from './measure';
import { parseOptions, usage, UsageError, type BenchOptions } from './options';
import { probeStoreganiseEdits } from './probe';
import { profileEdits } from './profile';
import { buildReport, failures, formatReport, type Memory } from './report';
import { BenchSystem } from './system';
import { formatFloor, measureTemporalFloor } from './temporal-floor';
import { judgePhase, takeBaseline } from './verify';
import { readWorkerMetrics, workerWorkPerEdit } from './worker-metrics';
import { fireEdits, planEdits, seedLinkedUsers } from './workload';

/**
 * `npm run bench`: seeds linked users, fires single-field edits on both sides at a fixed rate and
 * reports latency, webhook answer time, throughput, API calls, writes and worker memory, then
 * judges the run with the convergence oracle (bench/oracle.ts). `--backfill` runs the full-sync
 * benchmark instead (bench/backfill.ts), and `--temporal-floor` measures Temporal's own cost per
 * event (bench/temporal-floor.ts). Progress goes to stderr, the report to stdout.
 */
async function run(options: BenchOptions): Promise<number> {
  const began = Date.now();
  const log = (line: string): void => {
    process.stderr.write(`[bench +${((Date.now() - began) / 1000).toFixed(1)}s] ${line}\n`);
  };
  const system = await BenchSystem.start({ logLevel: options.logLevel, log });
  // Ctrl-C still stops the worker and the Temporal dev server this run started.
  const interrupt = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping ...`);
    void system.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const account = await system.addAccount('bench', { zendeskRateLimitPerMinute: options.zendeskRateLimit });
    log(`account connected; seeding ${options.users} linked users ...`);
    const users = await seedLinkedUsers(system, account, options.users, log);
    const edits = planEdits(users, options.changes, options.zendeskShare, options.seed);
    const baseline = await takeBaseline(system, account);

    if (options.latencyMs > 0) {
      await system.zendesk.client.setFaults(account.zendeskSubdomain, { latencyMs: options.latencyMs });
      await system.storeganise.client.setFaults(account.subdomain, { latencyMs: options.latencyMs });
    }
    const zendeskSince = (await system.zendesk.client.requests({ account: account.zendeskSubdomain })).lastSeq;
    const storeganiseSince = Math.max(
      0,
      ...(await system.storeganise.client.requests({ account: account.subdomain })).map((r) => r.seq),
    );
    const lifetimeBefore = system.worker.memory()?.peakBytes ?? null;
    const peakReset = system.worker.resetPeakMemory();
    const temporalPort = system.devServer.address.split(':').at(-1) ?? '';
    const cpu = new CpuMeter({
      worker: cpuOfPid(system.worker.pid),
      temporalServer: cpuOfPid(findProcess(['start-dev', `--port ${temporalPort} `])),
      apiSandboxesAndGenerator: cpuOfThisProcess,
    });
    let sampledPeak = 0;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, system.worker.memory()?.currentBytes ?? 0);
    }, 100);

    log(`firing ${options.changes} edits at ${options.rate}/s (simulated API latency ${options.latencyMs} ms) ...`);
    const metricsBefore = await readWorkerMetrics(system.workerMetricsUrl);
    const phaseStartMs = Date.now();
    cpu.start();
    const progress = setInterval(
      () =>
        log(
          `  ${Math.min(options.changes, Math.floor(((Date.now() - phaseStartMs) / 1000) * options.rate))} edits fired ...`,
        ),
      10_000,
    );
    let changes;
    try {
      changes = await fireEdits(system, account, edits, options.rate);
    } finally {
      clearInterval(progress);
    }
    log('all edits made; waiting for the sync to settle ...');
    const phaseSeconds = options.changes / options.rate;
    let unsettled: string | null = null;
    try {
      await system.settle(account, 120_000 + phaseSeconds * 3_000);
    } catch (err) {
      // Report what did land: the report shows how far behind the sync fell.
      unsettled = err instanceof Error ? err.message : String(err);
      log(unsettled);
    }
    const phaseEndMs = Date.now();
    const cpuUse = cpu.stop();
    const metricsAfter = await readWorkerMetrics(system.workerMetricsUrl);
    clearInterval(sampler);
    const after = system.worker.memory();
    const memory: Memory = {
      phasePeakBytes: peakReset ? (after?.peakBytes ?? null) : sampledPeak || null,
      lifetimePeakBytes: Math.max(lifetimeBefore ?? 0, after?.peakBytes ?? 0) || null,
    };

    const [zendeskLog, storeganiseLog] = await Promise.all([
      system.zendesk.client.requests({ account: account.zendeskSubdomain, sinceSeq: zendeskSince }),
      system.storeganise.client.requests({ account: account.subdomain, sinceSeq: storeganiseSince }),
    ]);
    const measurement = measure({
      changes,
      users,
      webhooks: system.tap.deliveries,
      zendesk: zendeskLog.requests satisfies ApiRequest[],
      storeganise: storeganiseLog satisfies ApiRequest[],
      phaseStartMs,
      phaseEndMs,
    });
    log('reading back what the phase cost in Temporal (history events, Cloud actions) ...');
    const temporalCost = await temporalCostBetween(system.client, phaseStartMs, phaseEndMs).catch((err: unknown) => {
      log(`could not read the histories: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    });
    log('judging the run: every edit, every write, both final states ...');
    const correctness = await judgePhase(system, account, users, baseline);
    for (const line of [...correctness.problems, ...correctness.raced]) log(line);
    let profile = null;
    if (options.profile) {
      log('reading event histories back from Temporal ...');
      profile = await profileEdits(system.client, account.subdomain, measurement.outcomes);
    }
    log('counting the Zendesk calls of single Storeganise edits on the idle system ...');
    const isolated = await probeStoreganiseEdits(system, account, users, 2);
    const report = buildReport({
      options,
      measurement,
      correctness,
      memory,
      cpu: cpuUse,
      workerWorkPerEdit: workerWorkPerEdit(metricsBefore, metricsAfter, changes.length),
      temporal: temporalCost,
      unsettled,
      profile,
      isolated,
    });
    process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    const problems = failures(report);
    for (const problem of problems) process.stdout.write(`FAIL: ${problem}\n`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    const keep = Number(process.env.BENCH_KEEP_SECONDS ?? 0);
    if (keep > 0) {
      // Time to look at the run with the Temporal CLI before everything stops.
      log(`keeping Temporal at ${system.devServer.address} for ${keep} s (BENCH_KEEP_SECONDS) ...`);
      await new Promise((resolve) => setTimeout(resolve, keep * 1000));
    }
    log('stopping ...');
    await system.close();
  }
}

/** `--temporal-floor`: a dev server of its own with the project's settings, and the floor worker. */
async function runTemporalFloor(options: BenchOptions, log: (line: string) => void): Promise<number> {
  const server = await startDevServer({ cli: await resolveTemporalCli(log), readyTimeoutSeconds: 120 });
  try {
    const port = server.address.split(':').at(-1) ?? '';
    const rows = await measureTemporalFloor({
      address: server.address,
      namespace: server.namespace,
      serverPid: findProcess(['start-dev', `--port ${port} `]),
      events: options.changes,
      rate: options.rate,
      customers: options.users,
      log,
    });
    process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatFloor(rows, options)}\n`);
    return 0;
  } finally {
    await server.stop();
  }
}

const startedAt = Date.now();
let options: BenchOptions;
try {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    process.exit(0);
  }
  options = parseOptions(argv, process.env);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`${err.message}\n\n${usage()}`);
  process.exit(2);
}

const progress = (line: string): void => {
  process.stderr.write(`[bench +${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${line}\n`);
};
(options.backfill
  ? runBackfill(options, progress)
  : options.temporalFloor
    ? runTemporalFloor(options, progress)
    : run(options)
).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.stdout.write(`FAIL: the benchmark could not run: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
