import type { Finding, FindingKind, Verdict } from '../oracle';
import {
  IN_FLIGHT_GRACE_MS,
  type AcceptedEvents,
  type InjectedFaults,
  type RetryAfterViolations,
  type Settling,
  type SideNumbers,
  type WebhookAnswers,
} from './evidence';
import type { ChaosCounts } from './faults';
import type { MadeEdit } from './load';
import type { ChaosOptions } from './options';

export interface EditFigures {
  made: number;
  /** Control requests that failed: these edits were not made and are not judged. */
  failed: number;
  storeganise: number;
  zendesk: number;
  name: number;
  email: number;
  phone: number;
  /** Edits that are one half of a same-field edit on both sides within 2.5 s. */
  twoSided: number;
}

export interface ChaosReport {
  command: string;
  options: Omit<ChaosOptions, 'json' | 'logLevel'>;
  seconds: { setup: number; chaos: number; settle: number; total: number };
  settling: Settling;
  edits: EditFigures;
  acceptedEvents: { storeganise: AcceptedEvents; zendesk: AcceptedEvents };
  webhookAnswers: WebhookAnswers;
  callsBeforeRetryAfter: RetryAfterViolations;
  faults: ChaosCounts & {
    crashes: { worker: number; api: number };
    injected: { zendesk: InjectedFaults; storeganise: InjectedFaults };
  };
  verdict: Verdict;
  /** Things the run could not do or measure, and problems on the way. */
  notes: string[];
  /** Logs and the Temporal database of a failed run, kept for a post-mortem. */
  keptFiles: string | null;
  failures: string[];
}

export function editFigures(edits: readonly MadeEdit[]): EditFigures {
  const made = edits.filter((e) => e.error === null);
  const count = (keep: (e: MadeEdit) => boolean): number => made.filter(keep).length;
  return {
    made: made.length,
    failed: edits.length - made.length,
    storeganise: count((e) => e.side === 'storeganise'),
    zendesk: count((e) => e.side === 'zendesk'),
    name: count((e) => e.field === 'name'),
    email: count((e) => e.field === 'email'),
    phone: count((e) => e.field === 'phone'),
    twoSided: count((e) => e.twoSided),
  };
}

/** What makes the run fail: the promises of issue 8's chaos run. */
export function failuresOf(report: Omit<ChaosReport, 'failures'>): string[] {
  const { counts } = report.verdict;
  const failures: string[] = [];
  if (counts.lostEdits !== null && counts.lostEdits > 0) failures.push(`${counts.lostEdits} edits lost`);
  if (counts.divergentPairs > 0) failures.push(`${counts.divergentPairs} pairs differ between the two sides`);
  if (counts.staleOverwrites !== null && counts.staleOverwrites > 0)
    failures.push(`${counts.staleOverwrites} writes overwrote a newer edit with an older value`);
  if (counts.duplicateUsers > 0) failures.push(`${counts.duplicateUsers} duplicate Zendesk users`);
  if (report.webhookAnswers.status500 > 0) failures.push(`${report.webhookAnswers.status500} webhooks answered 500`);
  return failures;
}

const traffic = (n: InjectedFaults): string => `${n.calls} / ${n.callsUnderFaults} / ${n.writesUnderFaults}`;
const measured = (value: number | null): string => (value === null ? 'n/a (no change log)' : String(value));
const pair = (sg: number | string, zd: number | string): string => `${sg} / ${zd}`;

function rows(report: ChaosReport): Array<[string, string]> {
  const { counts } = report.verdict;
  const { acceptedEvents: accepted, webhookAnswers: answers, faults, edits } = report;
  const injected = faults.injected;
  const sides = (pick: (n: InjectedFaults) => number): SideNumbers => ({
    storeganise: pick(injected.storeganise),
    zendesk: pick(injected.zendesk),
  });
  const lost = sides((n) => n.lostResponses);
  const errors = sides((n) => n.errors5xx);
  return [
    [
      'accepted events (Storeganise / Zendesk)',
      `${pair(accepted.storeganise.events, accepted.zendesk.events)} (deliveries answered 2xx: ${pair(accepted.storeganise.deliveries2xx, accepted.zendesk.deliveries2xx)})`,
    ],
    [
      'events the sender gave up on (Storeganise / Zendesk)',
      pair(accepted.storeganise.neverAccepted, accepted.zendesk.neverAccepted),
    ],
    [
      'edits made (Storeganise / Zendesk)',
      `${edits.made} (${pair(edits.storeganise, edits.zendesk)}; name ${edits.name}, email ${edits.email}, phone ${edits.phone}; ${edits.twoSided} in two-sided conflicts${edits.failed > 0 ? `; ${edits.failed} edit requests failed` : ''})`,
    ],
    ['**lost edits**', measured(counts.lostEdits)],
    ['**divergent pairs**', String(counts.divergentPairs)],
    ['final-state differences', String(counts.finalStateDifferences)],
    ['**stale overwrites**', measured(counts.staleOverwrites)],
    ['reverted edits', measured(counts.revertedEdits)],
    ["sync writes that raced a person's edit on the same record (< 1 s)", measured(counts.racedWrites)],
    ['**duplicate users**', String(counts.duplicateUsers)],
    ['writes back', measured(counts.writesBack)],
    ['foreign writes', measured(counts.foreignWrites)],
    ['webhook answers over 10 s', String(answers.over10s)],
    ['webhook answers 5xx (of which **500**)', `${answers.status5xx} (${answers.status500})`],
    ['webhook attempts refused or dropped (api down)', String(answers.networkFailures)],
    [
      `Zendesk calls before Retry-After elapsed (arriving ${IN_FLIGHT_GRACE_MS} ms or more after the 429)`,
      String(report.callsBeforeRetryAfter.count),
    ],
    ['SIGKILLs: worker / api', pair(faults.workerKills, faults.apiKills)],
    ['Temporal restarts (same database)', String(faults.temporalRestarts)],
    ['exits on their own (restarted): worker / api', pair(faults.crashes.worker, faults.crashes.api)],
    [
      'API calls by the sync: all / under faults / writes under faults (Storeganise; Zendesk)',
      `${traffic(injected.storeganise)}; ${traffic(injected.zendesk)}`,
    ],
    ['injected 5xx (Storeganise / Zendesk)', pair(errors.storeganise, errors.zendesk)],
    ['Zendesk 429 answers (forced bursts)', `${injected.zendesk.answered429} (${faults.rateLimitBursts} bursts)`],
    ['lost responses (Storeganise / Zendesk)', pair(lost.storeganise, lost.zendesk)],
    [
      'fault periods (duplicating / reordering / delaying webhooks)',
      `${faults.faultPeriods} (${faults.duplicatingPeriods} / ${faults.reorderingPeriods} / ${faults.delayingPeriods})`,
    ],
    [
      'settled',
      report.settling.settled
        ? `yes, after ${report.settling.seconds.toFixed(0)} s`
        : `no (${report.settling.reason ?? ''}), gave up after ${report.settling.seconds.toFixed(0)} s`,
    ],
    [
      'time: setup / chaos / settle / total (s)',
      `${report.seconds.setup.toFixed(0)} / ${report.seconds.chaos.toFixed(0)} / ${report.seconds.settle.toFixed(0)} / ${report.seconds.total.toFixed(0)}`,
    ],
  ];
}

const FINDING_TITLES: Record<FindingKind, string> = {
  lostEdit: 'Lost edits',
  divergentPair: 'Divergent pairs',
  finalStateDifference: 'Final-state differences',
  staleOverwrite: 'Stale overwrites',
  racedWrite: "Sync writes that landed on a person's edit made less than a second before (no conditional write exists)",
  revertedEdit: 'Reverted edits',
  writeBack: 'Writes back',
  foreignWrite: 'Foreign writes',
  duplicateUser: 'Duplicate users',
  unappliedEdit: 'Edits missing from the change log',
  logMismatch: 'Change logs that do not end in the final state',
};

/** At most this many lines per kind in the table view; `--json` has them all. */
const FINDINGS_SHOWN = 15;

function findingSections(findings: readonly Finding[]): string[] {
  const lines: string[] = [];
  for (const [kind, title] of Object.entries(FINDING_TITLES) as Array<[FindingKind, string]>) {
    const ofKind = findings.filter((f) => f.kind === kind);
    if (ofKind.length === 0) continue;
    lines.push('', `### ${title} (${ofKind.length})`, '');
    for (const finding of ofKind.slice(0, FINDINGS_SHOWN)) lines.push(`- ${finding.line}`);
    if (ofKind.length > FINDINGS_SHOWN)
      lines.push(`- … and ${ofKind.length - FINDINGS_SHOWN} more (\`--json\` lists them all)`);
  }
  return lines;
}

export function formatReport(report: ChaosReport): string {
  const lines = [
    '## Chaos run',
    '',
    '| measure | value |',
    '|---|---|',
    ...rows(report).map(([measure, value]) => `| ${measure} | ${value} |`),
  ];
  lines.push(
    '',
    `Reproduce: \`${report.command}\``,
    `Tolerance for concurrent edits: ${report.verdict.toleranceMs} ms.`,
  );
  if (report.callsBeforeRetryAfter.examples.length > 0)
    lines.push(
      '',
      'Calls before Retry-After, first ones:',
      ...report.callsBeforeRetryAfter.examples.map((e) => `- ${e}`),
    );
  if (report.webhookAnswers.slowest.length > 0)
    lines.push(
      '',
      'Slowest webhook answers:',
      ...report.webhookAnswers.slowest.map(
        (d) =>
          `- ${d.source} event ${d.eventId}: ${d.elapsedMs} ms, ${d.status === null ? 'no answer' : `status ${d.status}`}`,
      ),
    );
  lines.push(...findingSections(report.verdict.findings));
  if (report.notes.length > 0) lines.push('', '### Notes', '', ...report.notes.map((n) => `- ${n}`));
  if (report.keptFiles !== null)
    lines.push(
      '',
      `Logs and the Temporal database are kept in ${report.keptFiles} (\`temporal server start-dev --db-filename ${report.keptFiles}/temporal.sqlite\` to read the histories).`,
    );
  lines.push('', ...(report.failures.length === 0 ? ['PASS'] : report.failures.map((f) => `FAIL: ${f}`)));
  return lines.join('\n');
}
