import { appendFileSync } from 'node:fs';
import type { LoggedRequest } from '../sandbox/common/request-log';
import { callsBeforeRetryAfter } from './chaos/evidence';
import type { CpuUse } from './cpu';
import { classify, measure, percentile, type ApiRequest } from './measure';
import type { TappedWebhook } from './webhook-tap';
import type { BenchUser, Change } from './workload';

// The figures of `npm run bench -- --backfill` (bench/backfill.ts), computed from what the
// sandboxes recorded, and the table they are printed as.

/** The full sync's own account of itself, as the operator endpoint shows it. */
export interface SyncOutcome {
  state: string;
  done: number;
  total: number;
  linked: number;
  created: number;
  repaired: number;
  conflicts: number;
  errors: number;
  startedAtMs: number;
  finishedAtMs: number;
}

export interface LatencyFigures {
  edits: number;
  landed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface BackfillReport {
  setup: {
    customers: number;
    sharedEmails: number;
    zendeskUsers: number;
    budgetPerMinute: number;
    liveRatePerSecond: number;
    livePairs: number;
  };
  sync: SyncOutcome;
  durationMs: number;
  /** Zendesk calls answered (not 429) while the sync ran: the sync's own, and those of the live edits. */
  calls: { total: number; bulk: number; live: number };
  /** Calls answered ÷ budget: how long the budget makes those calls take at the least. */
  floorMs: number;
  /** Floor ÷ time taken. */
  paceOfFloor: number;
  /** Share of the budget the calls answered used over the sync's duration, and the sync's own part of it. */
  budgetShare: { total: number; bulk: number; live: number };
  /** Zendesk calls while the sync ran, by endpoint, the sync's own and the live edits'. */
  byKind: Array<{ kind: string; bulk: number; live: number }>;
  answered429: number;
  callsBeforeRetryAfter: { count: number; examples: string[] };
  latency: { idle: LatencyFigures; during: LatencyFigures; ratioP99: number | null };
  workerPeakBytes: number | null;
  /** The worker's resident memory when the sync started (start-up and the idle phase left it there). */
  workerResidentAtStartBytes: number | null;
  /**
   * CPU of the benchmark's processes (and the host) during the idle phase, during the sync, and
   * with nothing happening once it is over (every customer linked, their entities idle).
   */
  cpu: { idle: CpuUse; during: CpuUse; quiet: { customers: number; use: CpuUse } | null };
  /** Records that do not look as the sync should have left them. */
  problems: string[];
}

/** Edit made → its value written on the other side, for the edits of one phase (calls naming the live users only). */
export function liveLatency(input: {
  changes: readonly Change[];
  users: readonly BenchUser[];
  webhooks: readonly TappedWebhook[];
  zendesk: readonly LoggedRequest[];
  storeganise: readonly ApiRequest[];
  phase: { startMs: number; endMs: number };
}): LatencyFigures {
  const { users } = input;
  const zendeskIds = new Set(users.map((u) => String(u.zendeskId)));
  const storeganiseIds = new Set(users.map((u) => u.storeganiseId));
  const named = (side: 'storeganise' | 'zendesk') => (r: ApiRequest) => classify(side, r, users).user !== null;
  const m = measure({
    changes: input.changes,
    users,
    webhooks: input.webhooks.filter((w) =>
      w.source === 'zendesk' ? zendeskIds.has(w.userId) : storeganiseIds.has(w.userId),
    ),
    zendesk: input.zendesk.filter(named('zendesk')),
    storeganise: input.storeganise.filter(named('storeganise')),
    phaseStartMs: input.phase.startMs,
    phaseEndMs: input.phase.endMs,
  });
  const values = m.outcomes.flatMap((o) => (o.fromEditMs === null ? [] : [o.fromEditMs]));
  if (process.env.BENCH_DUMP) {
    const byUser = new Map<BenchUser, Array<[string, ApiRequest]>>();
    for (const [side, requests] of [
      ['zendesk', input.zendesk],
      ['storeganise', input.storeganise],
    ] as const) {
      for (const r of requests) {
        const u = classify(side, r, users).user;
        if (u === null) continue;
        const list = byUser.get(u) ?? [];
        list.push([side, r]);
        byUser.set(u, list);
      }
    }
    const rows = m.outcomes.map((o) => {
      const until = o.write ? o.write.atMs + o.write.durationMs : o.change.madeAtMs + 60_000;
      const calls = (byUser.get(o.change.user) ?? [])
        .filter(([, r]) => r.atMs >= o.change.madeAtMs && r.atMs <= until)
        .map(([side, r]) => [
          side,
          r.atMs - o.change.madeAtMs,
          r.durationMs,
          r.method,
          r.path.replace(/^.*\/(api\/v2|api\/v1\/admin)/, ''),
        ]);
      return {
        side: o.change.side,
        field: o.change.field,
        made: o.change.madeAtMs,
        ms: o.fromEditMs,
        webhook: o.webhook ? [o.webhook.sentAtMs - o.change.madeAtMs, o.webhook.answerMs] : null,
        calls,
      };
    });
    appendFileSync(process.env.BENCH_DUMP, `${JSON.stringify(rows)}\n`);
  }
  return {
    edits: input.changes.length,
    landed: values.length,
    p50Ms: percentile(values, 50),
    p99Ms: percentile(values, 99),
  };
}

export function buildBackfillReport(input: {
  setup: BackfillReport['setup'];
  sync: SyncOutcome;
  /** Every Zendesk call of the account from the full sync's start on. */
  zendesk: readonly LoggedRequest[];
  liveUsers: readonly BenchUser[];
  latency: { idle: LatencyFigures; during: LatencyFigures };
  workerPeakBytes: number | null;
  workerResidentAtStartBytes: number | null;
  cpu: BackfillReport['cpu'];
  problems: string[];
}): BackfillReport {
  const { sync, setup } = input;
  const durationMs = Math.max(1, sync.finishedAtMs - sync.startedAtMs);
  const during = input.zendesk.filter((r) => r.atMs >= sync.startedAtMs && r.atMs <= sync.finishedAtMs);
  const answered = during.filter((r) => r.status !== 429);
  const isLive = (r: LoggedRequest): boolean => classify('zendesk', r, input.liveUsers).user !== null;
  const live = answered.filter(isLive).length;
  const total = answered.length;
  const perMs = setup.budgetPerMinute / 60_000;
  const floorMs = total / perMs;
  const capacity = perMs * durationMs;
  const kinds = new Map<string, { bulk: number; live: number }>();
  for (const r of during) {
    const kind = `${classify('zendesk', r, []).endpoint}${r.status === 429 ? ' (429)' : ''}`;
    const entry = kinds.get(kind) ?? { bulk: 0, live: 0 };
    if (isLive(r)) entry.live++;
    else entry.bulk++;
    kinds.set(kind, entry);
  }
  const { idle, during: busy } = input.latency;
  return {
    setup,
    sync,
    durationMs,
    calls: { total, bulk: total - live, live },
    floorMs,
    paceOfFloor: floorMs / durationMs,
    budgetShare: { total: total / capacity, bulk: (total - live) / capacity, live: live / capacity },
    byKind: [...kinds.entries()]
      .map(([kind, n]) => ({ kind, ...n }))
      .sort((a, b) => b.bulk + b.live - (a.bulk + a.live)),
    answered429: input.zendesk.filter((r) => r.status === 429).length,
    callsBeforeRetryAfter: callsBeforeRetryAfter(input.zendesk),
    latency: {
      idle,
      during: busy,
      ratioP99: idle.p99Ms === null || busy.p99Ms === null || idle.p99Ms === 0 ? null : busy.p99Ms / idle.p99Ms,
    },
    workerPeakBytes: input.workerPeakBytes,
    workerResidentAtStartBytes: input.workerResidentAtStartBytes,
    cpu: input.cpu,
    problems: input.problems,
  };
}

const minutes = (ms: number): string => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};
const percent = (x: number): string => `${(x * 100).toFixed(1)} %`;
const ms = (x: number | null): string => (x === null ? 'n/a' : `${Math.round(x)} ms`);
const count = (n: number): string => n.toLocaleString('en-US');
const mib = (bytes: number | null): string => (bytes === null ? 'n/a' : `${Math.round(bytes / 1024 / 1024)} MiB`);

/** Cores each process kept busy on average, and the whole host (other people's processes included). */
function cpuLine(use: CpuUse): string {
  const wall = Math.max(0.001, use.wallSeconds);
  const parts = Object.entries(use.seconds).map(
    ([name, seconds]) => `${name} ${seconds === null ? 'n/a' : (seconds / wall).toFixed(2)}`,
  );
  return `${parts.join(', ')}; host ${use.hostSeconds === null ? 'n/a' : (use.hostSeconds / wall).toFixed(2)} of ${use.cores}`;
}

export function formatBackfillReport(r: BackfillReport): string {
  const { setup, sync, latency } = r;
  const rows: Array<[string, string]> = [
    [
      'seeded',
      `${count(setup.customers)} Storeganise customers, ${count(setup.zendeskUsers)} Zendesk users, ${count(setup.sharedEmails)} sharing an email; ${setup.livePairs} linked pairs for live edits`,
    ],
    [
      'Zendesk budget',
      `${count(setup.budgetPerMinute)} requests/minute; live edits ${setup.liveRatePerSecond}/s all through the sync`,
    ],
    [
      'full sync',
      `${sync.state}, ${sync.done}/${sync.total} customers: linked ${count(sync.linked)}, created ${count(sync.created)}, repaired ${sync.repaired}, conflicts ${sync.conflicts}, errors ${sync.errors}`,
    ],
    ['time to complete', `${minutes(r.durationMs)}`],
    [
      'floor (calls ÷ budget)',
      `${minutes(r.floorMs)} for ${count(r.calls.total)} Zendesk calls answered while it ran (sync ${count(r.calls.bulk)}, live edits ${count(r.calls.live)})`,
    ],
    ['pace against the floor', percent(r.paceOfFloor)],
    [
      'budget used',
      `${percent(r.budgetShare.total)} (sync ${percent(r.budgetShare.bulk)}, live edits ${percent(r.budgetShare.live)})`,
    ],
    ['429s', `${r.answered429}; calls before Retry-After ${r.callsBeforeRetryAfter.count}`],
    [
      'live edit → other side, idle',
      `p50 ${ms(latency.idle.p50Ms)}, p99 ${ms(latency.idle.p99Ms)} (${latency.idle.landed}/${latency.idle.edits} edits)`,
    ],
    [
      'live edit → other side, during',
      `p50 ${ms(latency.during.p50Ms)}, p99 ${ms(latency.during.p99Ms)} (${latency.during.landed}/${latency.during.edits} edits); p99 ${latency.ratioP99 === null ? 'n/a' : `${latency.ratioP99.toFixed(2)}×`} idle`,
    ],
    ['CPU, idle (cores busy)', cpuLine(r.cpu.idle)],
    ['CPU, during the sync', cpuLine(r.cpu.during)],
    [
      'CPU, nothing happening afterwards',
      r.cpu.quiet === null
        ? 'n/a'
        : `${cpuLine(r.cpu.quiet.use)} over ${Math.round(r.cpu.quiet.use.wallSeconds)} s with ${count(r.cpu.quiet.customers)} idle customers`,
    ],
    [
      'worker peak memory',
      `${mib(r.workerPeakBytes)} resident during the sync (${mib(r.workerResidentAtStartBytes)} when it started)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [
    'Backfill: a full sync under live edits',
    '',
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
    '  Zendesk calls while the sync ran, by kind (sync / live edits):',
  ];
  const kindWidth = Math.max(...r.byKind.map((k) => k.kind.length));
  for (const k of r.byKind)
    lines.push(`    ${k.kind.padEnd(kindWidth)}  ${count(k.bulk).padStart(7)}  ${count(k.live).padStart(6)}`);
  for (const example of r.callsBeforeRetryAfter.examples) lines.push(`  early call: ${example}`);
  for (const problem of r.problems.slice(0, 20)) lines.push(`  problem: ${problem}`);
  if (r.problems.length > 20) lines.push(`  ... and ${r.problems.length - 20} more problems`);
  return lines.join('\n');
}

/** The goals of issue 10: one line per goal missed. */
export function backfillFailures(r: BackfillReport): string[] {
  const failures: string[] = [];
  if (r.sync.state !== 'completed') failures.push(`the full sync ended ${r.sync.state}`);
  if (r.sync.errors > 0 || r.sync.conflicts > 0)
    failures.push(`the full sync reports ${r.sync.errors} errors and ${r.sync.conflicts} conflicts`);
  if (r.paceOfFloor < 0.9)
    failures.push(`the sync ran at ${percent(r.paceOfFloor)} of the floor's pace (goal: at least 90 %)`);
  if (r.callsBeforeRetryAfter.count > 0)
    failures.push(`${r.callsBeforeRetryAfter.count} calls went out before a Retry-After had passed (goal: 0)`);
  if (r.latency.ratioP99 === null || r.latency.ratioP99 > 2)
    failures.push(
      `live-edit p99 during the sync is ${r.latency.ratioP99 === null ? 'unknown' : `${r.latency.ratioP99.toFixed(2)}×`} its idle value (goal: at most 2×)`,
    );
  if (r.latency.during.landed < r.latency.during.edits || r.latency.idle.landed < r.latency.idle.edits)
    failures.push('some live edits never reached the other side');
  if (r.problems.length > 0) failures.push(`${r.problems.length} records are not as the sync should have left them`);
  return failures;
}
