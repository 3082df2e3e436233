import {
  judgeRun,
  type FieldChange,
  type LinkedPair,
  type PersonEdit,
  type SideStates,
  type SyncedField,
  type VerdictCounts,
} from './oracle';
import type { BenchAccount, BenchSystem } from './system';
import type { BenchUser } from './workload';

/** Where the measured phase starts in both change logs, and both sides as they were then. */
export interface Baseline {
  changeSeq: { storeganise: number; zendesk: number };
  states: SideStates;
}

export interface Correctness {
  counts: VerdictCounts;
  /** One line per finding that breaks a promise (raced writes and foreign writes are reported apart). */
  problems: string[];
  /** Sync writes that landed on a person's edit of the same field made less than a second before. */
  raced: string[];
}

async function states(system: BenchSystem, account: BenchAccount): Promise<SideStates> {
  const [sg, zd] = await Promise.all([
    system.storeganise.client.listUsers(account.subdomain),
    system.zendesk.client.listUsers(account.zendeskSubdomain),
  ]);
  return {
    storeganise: sg.map((u) => ({
      id: u.id,
      firstName: u.firstName,
      lastName: u.lastName,
      email: u.email,
      phone: u.phone ?? null,
    })),
    zendesk: zd.map((u) => ({
      id: u.id,
      name: u.name,
      email: u.email,
      phone: u.phone,
      externalId: u.external_id,
      active: u.active,
      role: u.role,
    })),
  };
}

const lastSeq = (entries: ReadonlyArray<{ seq: number }>): number =>
  entries.reduce((max, e) => Math.max(max, e.seq), 0);

export async function takeBaseline(system: BenchSystem, account: BenchAccount): Promise<Baseline> {
  const [sg, zd] = await Promise.all([
    system.storeganise.client.changes(account.subdomain),
    system.zendesk.client.changes(account.zendeskSubdomain),
  ]);
  return { changeSeq: { storeganise: lastSeq(sg), zendesk: lastSeq(zd) }, states: await states(system, account) };
}

const SYNCED: Record<string, SyncedField> = {
  email: 'email',
  phone: 'phone',
  name: 'name',
  firstName: 'name',
  lastName: 'name',
};

/**
 * The people's edits as the sandboxes recorded them: each control write, with the value its side
 * showed right after it (a Storeganise first or last name edit names the whole name, as the
 * edited record shows it, whatever the sync had or had not carried over yet).
 */
function editsFromLogs(
  changes: { storeganise: FieldChange[]; zendesk: FieldChange[] },
  baseline: SideStates,
  pairs: readonly LinkedPair[],
): PersonEdit[] {
  const edits: PersonEdit[] = [];
  const byStoreganise = new Map(pairs.map((p) => [p.storeganiseId, p.userKey]));
  const byZendesk = new Map(pairs.map((p) => [String(p.zendeskId), p.userKey]));
  const names = new Map(baseline.storeganise.map((u) => [u.id, { firstName: u.firstName, lastName: u.lastName }]));
  for (const change of [...changes.storeganise].sort((a, b) => a.seq - b.seq)) {
    const name = names.get(String(change.userId));
    if (name && (change.field === 'firstName' || change.field === 'lastName'))
      name[change.field] = String(change.value ?? '');
    const userKey = byStoreganise.get(String(change.userId));
    const field = SYNCED[change.field];
    if (change.via !== 'control' || userKey === undefined || field === undefined) continue;
    const value = field === 'name' ? `${name?.firstName ?? ''} ${name?.lastName ?? ''}` : String(change.value ?? '');
    edits.push({ side: 'storeganise', userKey, field, value, atMs: change.atMs });
  }
  for (const change of changes.zendesk) {
    const userKey = byZendesk.get(String(change.userId));
    const field =
      change.field === 'name' || change.field === 'email' || change.field === 'phone' ? change.field : undefined;
    if (change.via !== 'control' || userKey === undefined || field === undefined) continue;
    edits.push({ side: 'zendesk', userKey, field, value: String(change.value ?? ''), atMs: change.atMs });
  }
  return edits;
}

/**
 * Judges the measured phase with the convergence oracle (bench/oracle.ts): every edit landed unless
 * a later one of the same field replaced it, both sides equal on the latest edit, nothing written
 * back to the edited side, no value older than the one it replaced, one Zendesk user per customer.
 */
export async function judgePhase(
  system: BenchSystem,
  account: BenchAccount,
  users: readonly BenchUser[],
  baseline: Baseline,
): Promise<Correctness> {
  const [sg, zd] = await Promise.all([
    system.storeganise.client.changes(account.subdomain, { sinceSeq: baseline.changeSeq.storeganise }),
    system.zendesk.client.changes(account.zendeskSubdomain, { sinceSeq: baseline.changeSeq.zendesk }),
  ]);
  const changes = { storeganise: sg, zendesk: zd };
  const pairs: LinkedPair[] = users.map((u) => ({
    userKey: u.storeganiseId,
    storeganiseId: u.storeganiseId,
    zendeskId: u.zendeskId,
  }));
  const verdict = judgeRun({
    edits: editsFromLogs(changes, baseline.states, pairs),
    pairs,
    baseline: baseline.states,
    final: await states(system, account),
    changes,
    nameFormat: 'first_last',
    defaultCallingCode: '+81',
  });
  const lines = (kinds: readonly string[]): string[] =>
    verdict.findings.filter((f) => kinds.includes(f.kind)).map((f) => `${f.kind}: ${f.line}`);
  return {
    counts: verdict.counts,
    problems: lines([
      'lostEdit',
      'divergentPair',
      'finalStateDifference',
      'staleOverwrite',
      'revertedEdit',
      'writeBack',
      'duplicateUser',
    ]),
    raced: lines(['racedWrite']),
  };
}
