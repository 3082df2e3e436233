import { is2xx, type Campaign, type SentRequest } from './campaign';
import { FUZZ_CLASSES, type FuzzClass } from './cases';
import type { FreshEdit, Liveness, SecretInLog, StartedByRefused } from './evidence';

export interface ClassRow {
  fuzzClass: FuzzClass | 'all';
  requests: number;
  /** Answers by status (`none` for no answer). */
  statuses: Record<string, number>;
  status5xx: number;
  /** No complete answer within the case's timeout, or closed without one where an answer was due. */
  noAnswer: number;
  /** Refused by design yet answered 2xx, or an answer whose own check failed (CORS for a foreign origin). */
  wronglyAccepted: number;
  /** Valid requests not answered 2xx. */
  validRefused: number;
  startedByRefused: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface FuzzReport {
  command: string;
  seed: number;
  seconds: { setup: number; campaign: number; total: number };
  requestsSent: number;
  cappedByTime: boolean;
  rows: ClassRow[];
  total: ClassRow;
  /** The mutations with the slowest answers (p99), to read the classes' p99 by. */
  slowest: Array<{ fuzzClass: FuzzClass; label: string; requests: number; p50Ms: number; p99Ms: number }>;
  /** Up to ten examples of each kind of problem, `#n class: label → status`. */
  problems: {
    status5xx: string[];
    noAnswer: string[];
    wronglyAccepted: string[];
    validRefused: string[];
    startedByRefused: string[];
  };
  personEdits: Campaign['personEdits'];
  genuineWebhooks: { deliveries: number; not2xx: number };
  trapRequests: number;
  strangerAccounts: string[];
  unqueriedCustomers: string[];
  /** Accepted requests whose workflows (or recorded events) were found: the tracing works when this is above 0. */
  tracedAccepted: number;
  settled: boolean;
  freshEdits: FreshEdit[];
  liveness: Liveness;
  secrets: { scannedLines: number; found: SecretInLog[] };
  notes: string[];
  failures: string[];
  keptFiles: string | null;
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);

const isNoAnswer = (s: SentRequest): boolean => s.outcome === 'timeout' || (s.outcome === 'closed' && !s.mayClose);
const isWronglyAccepted = (s: SentRequest): boolean => (s.expect === 'refuse' && is2xx(s.status)) || s.problem !== null;
const isValidRefused = (s: SentRequest): boolean => s.expect === 'accept' && !is2xx(s.status);
const is5xx = (s: SentRequest): boolean => s.status !== null && s.status >= 500;

function rowOf(fuzzClass: FuzzClass | 'all', requests: readonly SentRequest[], started: number): ClassRow {
  const statuses: Record<string, number> = {};
  for (const s of requests) {
    const key = s.status === null ? (s.outcome === 'timeout' ? 'hang' : 'closed') : String(s.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const times = requests.map((s) => s.ms).sort((a, b) => a - b);
  return {
    fuzzClass,
    requests: requests.length,
    statuses: Object.fromEntries(Object.entries(statuses).sort(([a], [b]) => a.localeCompare(b))),
    status5xx: requests.filter(is5xx).length,
    noAnswer: requests.filter(isNoAnswer).length,
    wronglyAccepted: requests.filter(isWronglyAccepted).length,
    validRefused: requests.filter(isValidRefused).length,
    startedByRefused: started,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    maxMs: times.at(-1) ?? 0,
  };
}

const example = (s: SentRequest): string =>
  `#${s.n} ${s.fuzzClass}: ${s.label} → ${s.status ?? s.outcome}${s.problem ? ` (${s.problem})` : ''}`;

/** Per mutation (class and label), its answer times; the `count` slowest by p99. */
export function slowestMutations(sent: readonly SentRequest[], count = 8): FuzzReport['slowest'] {
  const groups = new Map<string, SentRequest[]>();
  for (const s of sent) {
    const key = `${s.fuzzClass}\u0000${s.label}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()]
    .map((group) => {
      const times = group.map((s) => s.ms).sort((a, b) => a - b);
      const [first] = group;
      return {
        fuzzClass: first?.fuzzClass ?? 'valid',
        label: first?.label ?? '',
        requests: group.length,
        p50Ms: percentile(times, 50),
        p99Ms: percentile(times, 99),
      };
    })
    .sort((a, b) => b.p99Ms - a.p99Ms)
    .slice(0, count);
}

export function classRows(
  sent: readonly SentRequest[],
  started: StartedByRefused,
): { rows: ClassRow[]; total: ClassRow; problems: FuzzReport['problems'] } {
  const rows = FUZZ_CLASSES.map((c) =>
    rowOf(
      c,
      sent.filter((s) => s.fuzzClass === c),
      started.byClass[c],
    ),
  );
  const total = rowOf(
    'all',
    sent,
    Object.values(started.byClass).reduce((a, b) => a + b, 0),
  );
  const examples = (keep: (s: SentRequest) => boolean): string[] => sent.filter(keep).slice(0, 10).map(example);
  return {
    rows,
    total,
    problems: {
      status5xx: examples(is5xx),
      noAnswer: examples(isNoAnswer),
      wronglyAccepted: examples(isWronglyAccepted),
      validRefused: examples(isValidRefused),
      startedByRefused: started.examples,
    },
  };
}

/** What makes the run fail: issue 9's promises. */
export function failuresOf(report: Omit<FuzzReport, 'failures' | 'keptFiles'>): string[] {
  const { total } = report;
  const failures: string[] = [];
  if (total.status5xx > 0) failures.push(`${total.status5xx} answers were 5xx`);
  if (total.noAnswer > 0) failures.push(`${total.noAnswer} requests got no answer (hang or dropped connection)`);
  if (total.wronglyAccepted > 0) failures.push(`${total.wronglyAccepted} requests refused by design were accepted`);
  if (total.validRefused > 0) failures.push(`${total.validRefused} valid requests were not accepted`);
  if (total.startedByRefused > 0) failures.push(`${total.startedByRefused} refused requests started workflows`);
  if (report.tracedAccepted === 0)
    failures.push('no accepted request could be traced to a workflow: the tracing of started workflows does not work');
  if (report.strangerAccounts.length > 0)
    failures.push(`accounts the run never installed were registered: ${report.strangerAccounts.join(', ')}`);
  if (report.trapRequests > 0) failures.push(`${report.trapRequests} requests reached the trap host`);
  if (report.genuineWebhooks.not2xx > 0)
    failures.push(`${report.genuineWebhooks.not2xx} genuine sandbox webhooks were not answered 2xx`);
  if (!report.settled) failures.push('the accepted events did not all finish');
  for (const edit of report.freshEdits)
    if (!edit.synced) failures.push(`a ${edit.side} edit made after the run did not sync`);
  if (!report.liveness.workerPolls) failures.push('the worker no longer polls its task queue');
  if (report.liveness.workerCrashes > 0 || report.liveness.apiCrashes > 0)
    failures.push(`crashes: worker ${report.liveness.workerCrashes}, api ${report.liveness.apiCrashes}`);
  if (report.liveness.healthz !== 200) failures.push(`/healthz answered ${report.liveness.healthz ?? 'nothing'}`);
  for (const leak of report.secrets.found)
    failures.push(`${leak.secret} appears in ${leak.lines} lines of ${leak.file}`);
  return failures;
}

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const statusText = (statuses: Record<string, number>): string =>
  Object.entries(statuses)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');

export function formatReport(report: FuzzReport): string {
  const lines: string[] = [];
  lines.push(`## npm run fuzz: ${report.requestsSent} requests, seed ${report.seed}`, '');
  lines.push(
    `\`${report.command}\` · campaign ${report.seconds.campaign.toFixed(0)} s, whole run ${report.seconds.total.toFixed(0)} s${report.cappedByTime ? ' · stopped by --minutes before every request was sent' : ''}`,
    '',
  );
  lines.push(
    '| class | requests | statuses | 5xx | no answer / hang | wrongly accepted | valid refused | started by refused | p50 ms | p99 ms | max ms |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of [...report.rows, report.total]) {
    const name = row.fuzzClass === 'all' ? '**all**' : row.fuzzClass;
    lines.push(
      `| ${name} | ${row.requests} | ${statusText(row.statuses)} | ${row.status5xx} | ${row.noAnswer} | ${row.wronglyAccepted} | ${row.fuzzClass === 'valid' || row.fuzzClass === 'all' ? row.validRefused : '–'} | ${row.startedByRefused} | ${ms(row.p50Ms)} | ${ms(row.p99Ms)} | ${ms(row.maxMs)} |`,
    );
  }
  lines.push('', '| after the run | |', '|---|---|');
  lines.push(`| accepted events finished | ${report.settled ? 'yes' : 'NO'} |`);
  for (const edit of report.freshEdits)
    lines.push(
      `| fresh ${edit.side} edit synced end to end | ${edit.synced ? `yes, ${edit.seconds.toFixed(1)} s` : 'NO'} |`,
    );
  lines.push(`| worker still polls its task queue | ${report.liveness.workerPolls ? 'yes' : 'NO'} |`);
  lines.push(`| crashes (worker / api) | ${report.liveness.workerCrashes} / ${report.liveness.apiCrashes} |`);
  lines.push(`| /healthz | ${report.liveness.healthz ?? 'no answer'} |`);
  lines.push(
    `| secrets in ${report.secrets.scannedLines} log lines (api, worker) | ${report.secrets.found.length === 0 ? '0' : report.secrets.found.map((f) => `${f.secret} in ${f.file} ×${f.lines}`).join(', ')} |`,
  );
  lines.push(`| requests that reached the trap host (SSRF) | ${report.trapRequests} |`);
  lines.push(`| accounts registered that the run never installed | ${report.strangerAccounts.length} |`);
  lines.push(
    `| accepted requests traced to the workflows they started (the tracing's own check) | ${report.tracedAccepted} |`,
  );
  lines.push(
    `| genuine sandbox webhooks during the run (not 2xx) | ${report.genuineWebhooks.deliveries} (${report.genuineWebhooks.not2xx}) |`,
  );
  lines.push(
    `| names edited by a person through the sandboxes (hostile, refused by the sandbox) | ${report.personEdits.made} (${report.personEdits.hostile}, ${report.personEdits.failed}) |`,
  );
  lines.push(
    '',
    'slowest mutations (p50 / p99 ms):',
    ...report.slowest.map((m) => `- ${m.fuzzClass}: ${m.label} (${m.requests}): ${ms(m.p50Ms)} / ${ms(m.p99Ms)}`),
  );
  const sections: Array<[string, string[]]> = [
    ['5xx', report.problems.status5xx],
    ['no answer', report.problems.noAnswer],
    ['wrongly accepted', report.problems.wronglyAccepted],
    ['valid refused', report.problems.validRefused],
    ['started by refused requests', report.problems.startedByRefused],
    ['notes', [...report.notes, ...report.unqueriedCustomers.slice(0, 5).map((c) => `customer not queried: ${c}`)]],
  ];
  for (const [title, items] of sections) {
    if (items.length === 0) continue;
    lines.push('', `${title}:`, ...items.map((item) => `- ${item}`));
  }
  lines.push('', report.failures.length === 0 ? 'PASS' : `FAIL:\n${report.failures.map((f) => `- ${f}`).join('\n')}`);
  if (report.keptFiles) lines.push(`logs and the Temporal database kept in ${report.keptFiles}`);
  return lines.join('\n');
}
