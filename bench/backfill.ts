import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { runningEventWorkflows } from '../sandbox/installation';
import { customerStatusQuery, customerWorkflowId, storeganiseCustomer } from '../workflows/definitions';
import { CpuMeter, cpuOfPid, cpuOfThisProcess, findProcess, type CpuUse } from './cpu';
import {
  backfillFailures,
  buildBackfillReport,
  formatBackfillReport,
  liveLatency,
  type SyncOutcome,
} from './backfill-report';
import type { BenchOptions } from './options';
import { BenchSystem, type BenchAccount } from './system';
import { fireEdits, phoneNumber, planEdits, seedLinkedUsers, type BenchUser } from './workload';

/**
 * `npm run bench -- --backfill`: the full sync of a large account while live edits go on (issue 10).
 * An account is connected, a few pairs are linked by the sync as usual (the live edits' subjects),
 * then `customers` Storeganise customers and as many Zendesk users appear, half of them sharing an
 * email, with every webhook about them lost: the sync knows nothing of them. After a phase of live
 * edits on the idle system (the latency baseline), the operator starts a full sync and the live
 * edits go on until it completes. Judged from the sandboxes' request logs: time against the floor
 * the budget sets, budget used, calls by kind, 429s and calls before Retry-After, live-edit latency
 * against the idle phase, the worker's peak memory, and the records both sides end with.
 */

const ProgressSchema = z.object({
  state: z.string(),
  done: z.number(),
  total: z.number(),
  linked: z.number(),
  created: z.number(),
  repaired: z.number(),
  conflicts: z.number(),
  errors: z.number(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  running: z.boolean(),
});
type Progress = z.infer<typeof ProgressSchema>;

const ENDED = new Set(['completed', 'cancelled', 'failed']);
const SEED_CONCURRENCY = 16;
const FIRST_NAMES = ['Akira', 'Beth', 'Chika', 'Dan', 'Eri', 'Fumi', 'Gen', 'Hana'];
/** However long the sync takes, live edits stop after this (the report then shows a sync that did not complete). */
const MAX_SYNC_MS = 4 * 60 * 60_000;
/** How long the idle cost of the synced account is measured once everything has landed. */
const QUIET_SECONDS = 30;

interface SeededPair {
  storeganiseId: string;
  /** The Zendesk user holding the same email, when the pair shares one. */
  zendeskId: number | null;
}

async function inParallel(count: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(SEED_CONCURRENCY, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/**
 * The records the sync never heard of: `count` customers, the first half sharing name, email and
 * phone with a Zendesk user, and `count` Zendesk users, the second half requesters who are no
 * customer. Every webhook about them is dropped, as if they predated the add-on.
 */
async function seedUnknownRecords(
  system: BenchSystem,
  account: BenchAccount,
  count: number,
  log: (line: string) => void,
): Promise<{ pairs: SeededPair[]; requesters: number[] }> {
  const shared = Math.floor(count / 2);
  const pairs: SeededPair[] = new Array<SeededPair>(count);
  const requesters: number[] = [];
  await system.storeganise.client.setFaults(account.subdomain, { webhooks: { dropRate: 1 } });
  await system.zendesk.client.setFaults(account.zendeskSubdomain, { webhooks: { dropRate: 1 } });
  try {
    let made = 0;
    await inParallel(count, async (i) => {
      const firstName = FIRST_NAMES[i % FIRST_NAMES.length] ?? 'Akira';
      const lastName = `Backfill${i}`;
      const email = `backfill-${i}@example.com`;
      const phone = phoneNumber(20_000_000 + i);
      const sg = await system.storeganise.client.createUser(account.subdomain, { firstName, lastName, email, phone });
      let zendeskId: number | null = null;
      if (i < shared) {
        zendeskId = (
          await system.zendesk.client.createUser(account.zendeskSubdomain, {
            name: `${firstName} ${lastName}`,
            email,
            phone,
          })
        ).id;
      } else {
        const requester = await system.zendesk.client.createUser(account.zendeskSubdomain, {
          name: `Requester ${i}`,
          email: `requester-${i}@example.com`,
        });
        requesters.push(requester.id);
      }
      pairs[i] = { storeganiseId: sg.id, zendeskId };
      if (++made % 2_000 === 0) log(`  seeded ${made}/${count} customers and Zendesk users ...`);
    });
  } finally {
    await system.storeganise.client.setFaults(account.subdomain, {});
    await system.zendesk.client.setFaults(account.zendeskSubdomain, {});
  }
  return { pairs, requesters };
}

/** What the sync should have left: every customer linked both ways, by email when a user held it; requesters untouched. */
async function checkRecords(
  system: BenchSystem,
  account: BenchAccount,
  seeded: { pairs: SeededPair[]; requesters: number[] },
  liveUsers: number,
): Promise<string[]> {
  const [sgUsers, zdUsers] = await Promise.all([
    system.storeganise.client.listUsers(account.subdomain),
    system.zendesk.client.listUsers(account.zendeskSubdomain),
  ]);
  const problems: string[] = [];
  const sgById = new Map(sgUsers.map((u) => [u.id, u]));
  const zdByExternalId = new Map<string, number[]>();
  for (const u of zdUsers)
    if (u.external_id !== null) zdByExternalId.set(u.external_id, [...(zdByExternalId.get(u.external_id) ?? []), u.id]);
  const zdById = new Map(zdUsers.map((u) => [u.id, u]));
  if (sgUsers.length !== seeded.pairs.length + liveUsers)
    problems.push(
      `Storeganise has ${sgUsers.length} customers, expected ${seeded.pairs.length + liveUsers}: the sync must never create one`,
    );
  for (const pair of seeded.pairs) {
    const owned = zdByExternalId.get(pair.storeganiseId) ?? [];
    const pointer = sgById.get(pair.storeganiseId)?.customFields?.zendesk_userId;
    if (owned.length !== 1) problems.push(`customer ${pair.storeganiseId} has ${owned.length} Zendesk users`);
    else if (pointer !== String(owned[0]))
      problems.push(`customer ${pair.storeganiseId} points at ${String(pointer)}, its Zendesk user is ${owned[0]}`);
    if (pair.zendeskId !== null && owned[0] !== pair.zendeskId)
      problems.push(`customer ${pair.storeganiseId} is not linked to ${pair.zendeskId}, which holds its email`);
  }
  for (const id of seeded.requesters)
    if (zdById.get(id)?.external_id !== null) problems.push(`requester ${id} got linked`);
  return problems;
}

/**
 * Waits until the live edits have landed: webhooks delivered, no event workflow of the account
 * running, and the live customers' entities idle, a few looks in a row. (`BenchSystem.settle`
 * asks every customer's entity, thousands after a backfill: far too slow here.)
 */
async function settleLive(
  system: BenchSystem,
  account: BenchAccount,
  live: readonly BenchUser[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 3) {
    if (Date.now() > deadline) throw new Error(`the live edits did not settle in ${timeoutMs} ms`);
    await Promise.all([system.zendesk.client.idle(), system.storeganise.client.idle()]);
    let busy = await runningEventWorkflows(system.client, account.subdomain);
    for (const user of live) {
      if (busy > 0) break;
      const status = await system.client.workflow
        .getHandle(customerWorkflowId(account.subdomain, storeganiseCustomer(user.storeganiseId)))
        .query(customerStatusQuery);
      busy += status.queued + (status.running === null ? 0 : 1) + status.deferred.length;
    }
    quiet = busy === 0 ? quiet + 1 : 0;
    await sleep(250);
  }
}

export async function runBackfill(options: BenchOptions, log: (line: string) => void): Promise<number> {
  const operatorToken = `operator-${randomBytes(12).toString('hex')}`;
  // Reconciliation would cover the same ground if it ran before the sync; an hour keeps it out of the measurement.
  const system = await BenchSystem.start({
    logLevel: options.logLevel,
    log,
    env: { OPERATOR_TOKEN: operatorToken, RECONCILE_INTERVAL: '1h' },
  });
  const interrupt = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping ...`);
    void system.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const account = await system.addAccount('backfill', { zendeskRateLimitPerMinute: options.zendeskRateLimit });
    const endpoint = `${system.config.publicUrl}/operator/accounts/${account.subdomain}/full-sync`;
    const call = async (method: 'GET' | 'POST'): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(endpoint, { method, headers: { authorization: `Bearer ${operatorToken}` } });
      const body: unknown = await res.json();
      return { status: res.status, body };
    };
    const progress = async (): Promise<Progress> => {
      const answer = await call('GET');
      if (answer.status !== 200)
        throw new Error(`GET ${endpoint} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      return ProgressSchema.parse(answer.body);
    };
    const ended = async (): Promise<Progress> => {
      for (;;) {
        const p = await progress().catch(() => null);
        if (p !== null && ENDED.has(p.state) && !p.running) return p;
        await sleep(1_000);
      }
    };
    log('account connected; waiting for its (empty) initial import ...');
    await ended();

    log(`linking ${options.users} customers through the sync, for the live edits ...`);
    const live: BenchUser[] = await seedLinkedUsers(system, account, options.users, log);
    log(`seeding ${options.customers} customers and ${options.customers} Zendesk users the sync never heard of ...`);
    const seeded = await seedUnknownRecords(system, account, options.customers, log);

    const plan = planEdits(
      live,
      Math.ceil(options.rate * (options.idleSeconds + MAX_SYNC_MS / 1000)) + 1,
      0.5,
      options.seed,
    );
    const idlePlan = plan.slice(0, Math.round(options.rate * options.idleSeconds));
    const temporalPort = system.devServer.address.split(':').at(-1) ?? '';
    const meter = (): CpuMeter =>
      new CpuMeter({
        worker: cpuOfPid(system.worker.pid),
        temporalServer: cpuOfPid(findProcess(['start-dev', `--port ${temporalPort} `])),
        apiSandboxesAndEdits: cpuOfThisProcess,
      });
    log(`idle phase: ${idlePlan.length} live edits at ${options.rate}/s ...`);
    const idleStart = Date.now();
    const idleCpu = meter();
    idleCpu.start();
    const idleChanges = await fireEdits(system, account, idlePlan, options.rate);
    const idleCpuUse: CpuUse = idleCpu.stop();
    await system.settle(account, 120_000);
    const idleEnd = Date.now();

    const [zendeskMark, storeganiseMark] = await Promise.all([
      system.zendesk.client.requests({ account: account.zendeskSubdomain }),
      system.storeganise.client.requests({ account: account.subdomain }),
    ]);
    const zendeskSince = zendeskMark.lastSeq;
    const storeganiseSince = Math.max(0, ...storeganiseMark.map((r) => r.seq));
    const idleRequests = {
      zendesk: zendeskMark.requests.filter((r) => r.atMs >= idleStart),
      storeganise: storeganiseMark.filter((r) => r.atMs >= idleStart),
    };
    const idle = liveLatency({
      changes: idleChanges,
      users: live,
      webhooks: system.tap.deliveries,
      ...idleRequests,
      phase: { startMs: idleStart, endMs: idleEnd },
    });
    log(`idle: p50 ${idle.p50Ms ?? 'n/a'} ms, p99 ${idle.p99Ms ?? 'n/a'} ms`);

    // The kernel's peak counter, reset here, covers the sync alone; without it, samples do.
    const peakReset = system.worker.resetPeakMemory();
    const residentAtStart = system.worker.memory()?.currentBytes ?? null;
    let sampledPeak = 0;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, system.worker.memory()?.currentBytes ?? 0);
    }, 500);
    const duringCpu = meter();
    duringCpu.start();
    const started = await call('POST');
    if (started.status !== 202 && started.status !== 200)
      throw new Error(`starting the full sync answered ${started.status}: ${JSON.stringify(started.body)}`);
    log(`full sync started; live edits go on at ${options.rate}/s until it completes ...`);
    const duringStart = Date.now();
    let last: Progress | null = null;
    const watching = (async () => {
      let loggedAt = 0;
      while (Date.now() - duringStart < MAX_SYNC_MS) {
        const p = await progress().catch(() => null);
        if (p !== null) {
          if (Date.now() - loggedAt >= 30_000) {
            log(`  ${p.state} ${p.done}/${p.total}: linked ${p.linked}, created ${p.created}, errors ${p.errors}`);
            loggedAt = Date.now();
          }
          if (ENDED.has(p.state) && !p.running) {
            last = p;
            return;
          }
        }
        await sleep(2_000);
      }
    })();
    const duringChanges = await fireEdits(
      system,
      account,
      plan.slice(idlePlan.length),
      options.rate,
      () => last !== null || Date.now() - duringStart >= MAX_SYNC_MS,
    );
    await watching;
    const duringCpuUse: CpuUse = duringCpu.stop();
    const duringEnd = Date.now();
    clearInterval(sampler);
    const final: Progress = last ?? (await progress());
    log(`full sync ${final.state}; letting the last live edits land ...`);
    await settleLive(system, account, live, 300_000).catch((err: unknown) =>
      log(err instanceof Error ? err.message : String(err)),
    );
    const peak = peakReset ? (system.worker.memory()?.peakBytes ?? null) : sampledPeak || null;
    // What thousands of idle customers cost when nothing happens: their entities' timers, the pollers, the caches.
    log(`measuring ${QUIET_SECONDS} s with nothing happening ...`);
    const quietCpu = meter();
    quietCpu.start();
    await sleep(QUIET_SECONDS * 1000);
    const quiet = { customers: seeded.pairs.length + live.length, use: quietCpu.stop() };

    const [zendesk, storeganise] = await Promise.all([
      system.zendesk.client.requests({ account: account.zendeskSubdomain, sinceSeq: zendeskSince }),
      system.storeganise.client.requests({ account: account.subdomain, sinceSeq: storeganiseSince }),
    ]);
    if (process.env.BENCH_DUMP)
      (await import('node:fs')).writeFileSync(
        process.env.BENCH_DUMP,
        JSON.stringify({
          sync: final,
          live: live.map((u) => u.zendeskId),
          zendesk: zendesk.requests.map((r) => [
            r.atMs,
            r.durationMs,
            r.status,
            r.method,
            r.path.replace(/^\/zendesk\/[^/]+/, ''),
            r.retryAfterSeconds,
          ]),
        }),
      );
    const during = liveLatency({
      changes: duringChanges,
      users: live,
      webhooks: system.tap.deliveries,
      zendesk: zendesk.requests,
      storeganise,
      phase: { startMs: duringStart, endMs: duringEnd },
    });
    log('checking both sides ...');
    const problems = await checkRecords(system, account, seeded, live.length);
    const sync: SyncOutcome = {
      state: final.state,
      done: final.done,
      total: final.total,
      linked: final.linked,
      created: final.created,
      repaired: final.repaired,
      conflicts: final.conflicts,
      errors: final.errors,
      startedAtMs: Date.parse(final.startedAt),
      finishedAtMs: final.finishedAt === null ? duringEnd : Date.parse(final.finishedAt),
    };
    const report = buildBackfillReport({
      setup: {
        customers: options.customers,
        sharedEmails: Math.floor(options.customers / 2),
        zendeskUsers: options.customers,
        budgetPerMinute: options.zendeskRateLimit,
        liveRatePerSecond: options.rate,
        livePairs: live.length,
      },
      sync,
      zendesk: zendesk.requests,
      liveUsers: live,
      latency: { idle, during },
      workerPeakBytes: peak,
      workerResidentAtStartBytes: residentAtStart,
      cpu: { idle: idleCpuUse, during: duringCpuUse, quiet },
      problems,
    });
    process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : formatBackfillReport(report)}\n`);
    const failures = backfillFailures(report);
    for (const failure of failures) process.stdout.write(`FAIL: ${failure}\n`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    log('stopping ...');
    await system.close();
  }
}
