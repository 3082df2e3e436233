/**
 * The convergence oracle: after a run, judges whether the sync kept the promises of product spec
 * §4.6 from what people did (their edits), what each side went through (the sandboxes' field-level
 * change logs) and how the run ended (both sides' final state). Pure: no I/O, no clock.
 *
 * The model of "correct", per linked pair and per two-way field (name, email, phone):
 * - the edit *made* later wins, by its edit time, whatever the lag; the sync's own writes are not
 *   edits, and edits of other fields do not matter;
 * - edits of the field on the two sides less than `toleranceMs` apart are concurrent: either may
 *   win, but both sides must end equal (Zendesk stamps its events in whole seconds);
 * - an edit ends on both sides unless a later edit of the field replaced it (on its own side any
 *   later edit; on the other side one made less than `toleranceMs` before it or later), and no
 *   value ever replaces one that is newer beyond doubt: from an edit of the same side applied
 *   later, or of the other side made `toleranceMs` or more later. The values from before the run
 *   are older than every edit.
 *
 * One physical limit is modelled, not forgiven silently: neither API offers a conditional write,
 * so a person's edit that lands on a record less than `toleranceMs` before the sync's own write of
 * the same field there, carrying the other side's edit (the sync read the record just before),
 * can be overwritten. Such an edit
 * counts as a raced write: it is reported, it is not a lost edit or a stale overwrite, and both
 * sides must still end equal on the value that stayed.
 *
 * Findings: lost edits, divergent pairs, final-state differences, stale overwrites (per write),
 * reverted edits (per edit: an edit held by both sides and then replaced by an older value, so a
 * subset of what stale overwrites hit), writes back (a sync write to a side of a value that came
 * from that side, reformats included), foreign writes (a value no edit and no baseline holds),
 * duplicate Zendesk users (beyond one active user per customer, and beyond one end user per
 * customer), plus two checks of the input itself: edits missing from the log, and logs that do
 * not end in the final state.
 *
 * Values are compared normalised, the way the product compares them: names with white space
 * collapsed and Storeganise's first and last name joined in the account's format (`unknown` left
 * out), emails trimmed and lower-cased, phones in E.164 with the account's calling code. Every
 * edit's value is unique, so a value seen anywhere names the edit it comes from.
 */
import { formatZendeskName, normaliseWhitespace, type NameFormat } from '../domain/names';
import { normalisePhone } from '../domain/phones';

export type Side = 'storeganise' | 'zendesk';
export const SIDES: readonly Side[] = ['storeganise', 'zendesk'];
export type SyncedField = 'name' | 'email' | 'phone';
export const SYNCED_FIELDS: readonly SyncedField[] = ['name', 'email', 'phone'];

/** Zendesk stamps events in whole seconds, so edits closer than this cannot be ordered. */
export const DEFAULT_TOLERANCE_MS = 1_000;

/**
 * A person's edit of one field. `value` is the field as the edited side shows it right after the
 * edit: Zendesk's `name`, or for a Storeganise name edit the first and last name joined in the
 * account's format (so an edit of the first name alone still names the whole name).
 */
export interface PersonEdit {
  side: Side;
  userKey: string;
  field: SyncedField;
  value: string;
  /** Epoch ms when the person made the edit; the side's change-log entry for it, when found, is used instead. */
  atMs: number;
}

export type ChangeValue = string | number | boolean | string[] | null;

/**
 * One entry of a sandbox's field-level change log. `via: 'control'` is a person's edit through the
 * control API, `via: 'api'` a write the sync made through the product-facing API.
 */
export interface FieldChange {
  seq: number;
  atMs: number;
  userId: string | number;
  /** Storeganise: `email`, `firstName`, `lastName`, `phone`, ...; Zendesk: `name`, `email`, `phone`, ... */
  field: string;
  value: ChangeValue;
  via: 'api' | 'control';
}

export interface StoreganiseUserState {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string | null;
}

export interface ZendeskUserState {
  id: string | number;
  name: string;
  email: string | null;
  phone: string | null;
  externalId: string | null;
  active: boolean;
  role: string;
}

export interface SideStates {
  storeganise: readonly StoreganiseUserState[];
  zendesk: readonly ZendeskUserState[];
}

/** A Storeganise customer and the Zendesk user it is linked to; edits name the pair by `userKey`. */
export interface LinkedPair {
  userKey: string;
  storeganiseId: string;
  zendeskId: string | number;
}

export interface OracleInput {
  edits: readonly PersonEdit[];
  pairs: readonly LinkedPair[];
  /** Both sides when the edits began; their values count as agreed and older than any edit. */
  baseline: SideStates;
  final: SideStates;
  /** Each side's change-log entries made after the baseline; null when the sandboxes keep no log. */
  changes: { storeganise: readonly FieldChange[]; zendesk: readonly FieldChange[] } | null;
  nameFormat: NameFormat;
  /** The account's default calling code, e.g. `+81`. */
  defaultCallingCode: string;
  toleranceMs?: number;
}

export type FindingKind =
  | 'lostEdit'
  | 'divergentPair'
  | 'finalStateDifference'
  | 'staleOverwrite'
  | 'racedWrite'
  | 'revertedEdit'
  | 'writeBack'
  | 'foreignWrite'
  | 'duplicateUser'
  | 'unappliedEdit'
  | 'logMismatch';

/** One readable line about one pair (or the whole account), naming values and times. */
export interface Finding {
  kind: FindingKind;
  userKey: string | null;
  field: SyncedField | null;
  side: Side | null;
  line: string;
}

export interface VerdictCounts {
  edits: number;
  /** Edits the change log shows applied on their side (all edits when there is no log). */
  appliedEdits: number;
  /** Writes by the sync to a two-way field; null without a change log. */
  syncWrites: number | null;
  /** Null: not measurable without a change log. */
  lostEdits: number | null;
  divergentPairs: number;
  /** Pair, field and side whose final value is not that of the winning edit. */
  finalStateDifferences: number;
  staleOverwrites: number | null;
  /** Writes by the sync that landed on a person's edit of the same field made less than the tolerance before (see the header). */
  racedWrites: number | null;
  /** Distinct edits held by both sides and later replaced by an older value (see `revertedEdits`). */
  revertedEdits: number | null;
  writesBack: number | null;
  /** Writes of a value no edit and no baseline holds. */
  foreignWrites: number | null;
  /** Zendesk users beyond one per customer. */
  duplicateUsers: number;
  /** Edits the change log does not show applied (the harness's edit request failed). */
  unappliedEdits: number | null;
  /** Fields whose logged history does not end in their final state. */
  logMismatches: number | null;
}

export interface Verdict {
  toleranceMs: number;
  counts: VerdictCounts;
  findings: Finding[];
}

// --- normalisation ------------------------------------------------------------------------------

interface Normaliser {
  format: NameFormat;
  callingCode: string;
}

/** The comparable form of a field's value: what the product compares, so equal keys never cause a write. */
function keyOf(field: SyncedField, raw: string | null, n: Normaliser): string {
  switch (field) {
    case 'name':
      return normaliseWhitespace(raw ?? '');
    case 'email':
      return (raw ?? '').trim().toLowerCase();
    case 'phone': {
      const phone = normalisePhone(raw, n.callingCode);
      return phone.kind === 'e164' ? phone.e164 : phone.kind === 'invalid' ? phone.raw : '';
    }
  }
}

/** A side's fields as raw text, the way the change log replays them. */
type RawRecord = Record<string, string | null>;

/** Raw text of one two-way field: Storeganise keeps a name in two fields. */
function rawOf(side: Side, field: SyncedField, record: RawRecord, n: Normaliser): string | null {
  if (side === 'storeganise' && field === 'name') {
    return formatZendeskName({ firstName: record.firstName ?? null, lastName: record.lastName ?? null }, n.format);
  }
  return record[field] ?? null;
}

/** Distinguishes writes that change the raw text without changing the key, e.g. a reformatted phone. */
function rawSignature(side: Side, field: SyncedField, record: RawRecord): string {
  if (side === 'storeganise' && field === 'name')
    return JSON.stringify([record.firstName ?? null, record.lastName ?? null]);
  return JSON.stringify(record[field] ?? null);
}

/** Which two-way field a change-log field belongs to, per side. */
function syncedFieldOf(side: Side, logField: string): SyncedField | null {
  if (logField === 'email' || logField === 'phone') return logField;
  if (side === 'zendesk' && logField === 'name') return 'name';
  if (side === 'storeganise' && (logField === 'firstName' || logField === 'lastName')) return 'name';
  return null;
}

const textOf = (value: ChangeValue): string | null =>
  value === null ? null : Array.isArray(value) ? value.join(', ') : String(value);

function storeganiseRaw(user: StoreganiseUserState): RawRecord {
  return { firstName: user.firstName, lastName: user.lastName, email: user.email, phone: user.phone };
}

function zendeskRaw(user: ZendeskUserState): RawRecord {
  return { name: user.name, email: user.email, phone: user.phone };
}

// --- the run, reconstructed ---------------------------------------------------------------------

/** A write to one two-way field of one side, by a person (`control`) or the sync (`api`). */
interface FieldWrite {
  side: Side;
  userKey: string;
  field: SyncedField;
  seq: number;
  atMs: number;
  via: 'api' | 'control';
  before: string;
  after: string;
  afterRaw: string | null;
  /** The raw text changed although the key did not (a reformat). */
  rewrite: boolean;
}

interface ResolvedEdit extends PersonEdit {
  key: string;
  /** The person's write in the change log; null when not found (or there is no log). */
  applied: FieldWrite | null;
}

/**
 * When the edit happened: when its side recorded it, as that side would report it to the sync;
 * the harness's own clock only when the log does not show it. The harness's time runs ahead by
 * the control request's own delay, which under load can push two edits across the tolerance.
 */
const editedAt = (edit: ResolvedEdit): number => edit.applied?.atMs ?? edit.atMs;

type Origin = { kind: 'edit'; edit: ResolvedEdit } | { kind: 'baseline' } | { kind: 'foreign' };

/** Everything known about one pair. */
interface PairRun {
  pair: LinkedPair;
  baseline: Record<Side, RawRecord | null>;
  final: Record<Side, RawRecord | null>;
  /** Per side, the field writes in log order; null without a change log. */
  writes: Record<Side, FieldWrite[]> | null;
  /** Per side, the record as the log replays it to its end. */
  replayed: Record<Side, RawRecord | null> | null;
}

/**
 * A sandbox logs every field of one update as consecutive entries with the same time: together they
 * are one write, so a Storeganise first and last name written together are judged as one name.
 */
function groupWrites(changes: readonly FieldChange[]): FieldChange[][] {
  const sorted = [...changes].sort((a, b) => a.seq - b.seq);
  const groups: FieldChange[][] = [];
  for (const change of sorted) {
    const group = groups.at(-1);
    const last = group?.at(-1);
    const sameWrite =
      last !== undefined &&
      last.seq + 1 === change.seq &&
      String(last.userId) === String(change.userId) &&
      last.via === change.via &&
      last.atMs === change.atMs;
    if (group !== undefined && sameWrite) group.push(change);
    else groups.push([change]);
  }
  return groups;
}

/** Replays one side's log over the baseline, turning each write into the two-way fields it touched. */
function replaySide(
  side: Side,
  changes: readonly FieldChange[],
  runs: Map<string, PairRun>,
  idToKey: Map<string, string>,
  n: Normaliser,
): void {
  for (const group of groupWrites(changes)) {
    const first = group[0];
    if (first === undefined) continue;
    const userKey = idToKey.get(String(first.userId));
    const run = userKey === undefined ? undefined : runs.get(userKey);
    if (run === undefined || run.writes === null || run.replayed === null || userKey === undefined) continue;
    const before: RawRecord = { ...(run.replayed[side] ?? {}) };
    const after: RawRecord = { ...before };
    const touched = new Set<SyncedField>();
    for (const change of group) {
      const field = syncedFieldOf(side, change.field);
      if (field === null) continue;
      after[change.field] = textOf(change.value);
      touched.add(field);
    }
    run.replayed[side] = after;
    for (const field of SYNCED_FIELDS) {
      if (!touched.has(field)) continue;
      const afterRaw = rawOf(side, field, after, n);
      const write: FieldWrite = {
        side,
        userKey,
        field,
        seq: first.seq,
        atMs: first.atMs,
        via: first.via,
        before: keyOf(field, rawOf(side, field, before, n), n),
        after: keyOf(field, afterRaw, n),
        afterRaw,
        rewrite: rawSignature(side, field, before) !== rawSignature(side, field, after),
      };
      if (write.before !== write.after || write.rewrite) run.writes[side].push(write);
    }
  }
}

function buildRuns(input: OracleInput, n: Normaliser): Map<string, PairRun> {
  const find = <T extends { id: string | number }>(users: readonly T[], id: string | number): T | undefined =>
    users.find((u) => String(u.id) === String(id));
  const runs = new Map<string, PairRun>();
  for (const pair of input.pairs) {
    const sgBase = find(input.baseline.storeganise, pair.storeganiseId);
    const zdBase = find(input.baseline.zendesk, pair.zendeskId);
    const sgFinal = find(input.final.storeganise, pair.storeganiseId);
    const zdFinal = find(input.final.zendesk, pair.zendeskId);
    const baseline = {
      storeganise: sgBase ? storeganiseRaw(sgBase) : null,
      zendesk: zdBase ? zendeskRaw(zdBase) : null,
    };
    runs.set(pair.userKey, {
      pair,
      baseline,
      final: { storeganise: sgFinal ? storeganiseRaw(sgFinal) : null, zendesk: zdFinal ? zendeskRaw(zdFinal) : null },
      writes: input.changes === null ? null : { storeganise: [], zendesk: [] },
      replayed:
        input.changes === null
          ? null
          : {
              storeganise: baseline.storeganise ? { ...baseline.storeganise } : null,
              zendesk: baseline.zendesk ? { ...baseline.zendesk } : null,
            },
    });
  }
  if (input.changes !== null) {
    replaySide(
      'storeganise',
      input.changes.storeganise,
      runs,
      new Map(input.pairs.map((p) => [String(p.storeganiseId), p.userKey])),
      n,
    );
    replaySide(
      'zendesk',
      input.changes.zendesk,
      runs,
      new Map(input.pairs.map((p) => [String(p.zendeskId), p.userKey])),
      n,
    );
  }
  return runs;
}

/** Pairs each person's write in the log with the edit that made it (same side, field and value). */
function resolveEdits(input: OracleInput, runs: Map<string, PairRun>, n: Normaliser): ResolvedEdit[] {
  const resolved = input.edits.map((edit): ResolvedEdit => {
    if (!runs.has(edit.userKey)) throw new Error(`edit of unknown pair ${edit.userKey}`);
    return { ...edit, key: keyOf(edit.field, edit.value, n), applied: null };
  });
  for (const run of runs.values()) {
    if (run.writes === null) continue;
    for (const side of SIDES) {
      for (const write of run.writes[side]) {
        if (write.via !== 'control') continue;
        const edit = resolved.find(
          (e) =>
            e.applied === null &&
            e.userKey === write.userKey &&
            e.side === side &&
            e.field === write.field &&
            e.key === write.after,
        );
        if (edit) edit.applied = write;
      }
    }
  }
  return resolved;
}

// --- judging ------------------------------------------------------------------------------------

const SIDE_NAME: Record<Side, string> = { storeganise: 'Storeganise', zendesk: 'Zendesk' };
const other = (side: Side): Side => (side === 'storeganise' ? 'zendesk' : 'storeganise');
const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 23);
const quoted = (value: string | null): string => (value === null || value === '' ? '(empty)' : JSON.stringify(value));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

function pairLabel(pair: LinkedPair): string {
  return `${pair.userKey} (sg ${pair.storeganiseId}, zd ${String(pair.zendeskId)})`;
}

function describeEdit(edit: ResolvedEdit): string {
  return `${SIDE_NAME[edit.side]} edit ${quoted(edit.value)} at ${clock(editedAt(edit))}`;
}

function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case 'edit':
      return `from the ${describeEdit(origin.edit)}`;
    case 'baseline':
      return 'the value from before the run';
    case 'foreign':
      return "no edit's value";
  }
}

/** The judge of one pair and field: the edits made to it and where every value seen came from. */
class FieldJudge {
  /** The edits that count: every edit of the field but those a sync write raced away. */
  private readonly edits: ResolvedEdit[];
  /** Every edit of the field, to tell where a value came from. */
  private readonly made: ResolvedEdit[];
  private readonly raced: Set<ResolvedEdit>;
  private readonly baselineKeys: Set<string>;

  constructor(
    private readonly run: PairRun,
    readonly field: SyncedField,
    allEdits: readonly ResolvedEdit[],
    private readonly n: Normaliser,
    private readonly toleranceMs: number,
    hasLog: boolean,
  ) {
    this.made = allEdits.filter(
      (e) => e.userKey === run.pair.userKey && e.field === field && (e.applied !== null || !hasLog),
    );
    this.edits = this.made;
    this.baselineKeys = new Set(SIDES.flatMap((side) => this.baselineKey(side) ?? []));
    this.raced = this.racedEdits();
    this.edits = this.made.filter((e) => !this.raced.has(e));
  }

  /** Person's edits a sync write landed on less than the tolerance after them, on the same side, with an older value. */
  private racedEdits(): Set<ResolvedEdit> {
    const raced = new Set<ResolvedEdit>();
    for (const side of SIDES) {
      for (const write of this.writesOn(side)) {
        if (write.via !== 'api' || write.before === write.after) continue;
        const replaced = this.origin(write.before);
        if (replaced.kind !== 'edit' || replaced.edit.side !== side || replaced.edit.applied === null) continue;
        // Only a value carried over from the other side's edit can race: the sync read its target just before.
        const written = this.origin(write.after);
        const carried = written.kind === 'edit' && written.edit.side !== side;
        if (carried && write.atMs - replaced.edit.applied.atMs < this.toleranceMs && this.isOlder(written, replaced))
          raced.add(replaced.edit);
      }
    }
    return raced;
  }

  private baselineKey(side: Side): string | null {
    const record = this.run.baseline[side];
    return record === null ? null : keyOf(this.field, rawOf(side, this.field, record, this.n), this.n);
  }

  /** The field's writes on one side, in log order; empty without a change log. */
  private writesOn(side: Side): FieldWrite[] {
    return (this.run.writes?.[side] ?? []).filter((w) => w.field === this.field);
  }

  finalKey(side: Side): string | null {
    const record = this.run.final[side];
    return record === null ? null : keyOf(this.field, rawOf(side, this.field, record, this.n), this.n);
  }

  finalRaw(side: Side): string | null {
    const record = this.run.final[side];
    return record === null ? null : rawOf(side, this.field, record, this.n);
  }

  origin(key: string): Origin {
    const edit = this.made.find((e) => e.key === key);
    if (edit) return { kind: 'edit', edit };
    return this.baselineKeys.has(key) ? { kind: 'baseline' } : { kind: 'foreign' };
  }

  /**
   * The written value is older beyond doubt than the one it replaced: the baseline is older than
   * every edit; two edits of one side are ordered by that side; edits of the two sides only when
   * made `toleranceMs` or more apart.
   */
  private isOlder(written: Origin, replaced: Origin): boolean {
    if (replaced.kind !== 'edit' || written.kind === 'foreign') return false;
    if (written.kind === 'baseline') return true;
    if (written.edit.side === replaced.edit.side) return this.replaces(replaced.edit, written.edit);
    return editedAt(replaced.edit) - editedAt(written.edit) >= this.toleranceMs;
  }

  /** Same side: the side's own order decides. Other side: an edit made later, or less than `toleranceMs` earlier (the two may go either way). */
  private replaces(later: ResolvedEdit, earlier: ResolvedEdit): boolean {
    if (later === earlier) return false;
    if (later.side === earlier.side) {
      return later.applied !== null && earlier.applied !== null
        ? later.applied.seq > earlier.applied.seq
        : editedAt(later) > editedAt(earlier);
    }
    return editedAt(later) > editedAt(earlier) - this.toleranceMs;
  }

  /** The keys the field may end with: the latest edit of each side, unless the other side's is `toleranceMs` or more later. */
  acceptable(): { keys: Set<string>; because: string } {
    if (this.edits.length === 0)
      return { keys: this.baselineKeys, because: 'no edit was made: the value from before the run' };
    const latest = SIDES.flatMap((side) => this.latestOf(side) ?? []);
    const newest = Math.max(...latest.map(editedAt));
    const winners = latest.filter((e) => newest - editedAt(e) < this.toleranceMs);
    const because = winners.map(describeEdit).join(winners.length > 1 ? ' or the ' : '');
    return { keys: new Set(winners.map((e) => e.key)), because: `the ${because}` };
  }

  private latestOf(side: Side): ResolvedEdit | null {
    const ofSide = this.edits.filter((e) => e.side === side);
    return ofSide.reduce<ResolvedEdit | null>(
      (latest, e) => (latest === null || this.replaces(e, latest) ? e : latest),
      null,
    );
  }

  finalStateDifferences(): Finding[] {
    const { keys, because } = this.acceptable();
    return SIDES.flatMap((side) => {
      const key = this.finalKey(side);
      if (key === null || keys.has(key)) return [];
      const line = `${pairLabel(this.run.pair)} ${this.field}: ${SIDE_NAME[side]} ends ${quoted(this.finalRaw(side))} (${describeOrigin(this.origin(key))}), expected ${because}`;
      return [this.finding('finalStateDifference', side, line)];
    });
  }

  lostEdits(): Finding[] {
    if (this.run.writes === null) return [];
    return this.edits.flatMap((edit) => {
      if (this.edits.some((later) => this.replaces(later, edit))) return [];
      const there = other(edit.side);
      if (this.writesOn(there).some((w) => w.after === edit.key)) return [];
      const endKey = this.finalKey(there);
      const ends =
        endKey === null
          ? 'has no record'
          : `ends ${quoted(this.finalRaw(there))} (${describeOrigin(this.origin(endKey))})`;
      const line = `${pairLabel(this.run.pair)} ${this.field}: the ${describeEdit(edit)} never reached ${SIDE_NAME[there]}, and no later edit replaced it; ${SIDE_NAME[there]} ${ends}`;
      return [this.finding('lostEdit', edit.side, line)];
    });
  }

  /** Every write by the sync: stale overwrites, foreign values, writes back, and the edits they reverted. */
  syncWrites(): { count: number; findings: Finding[]; reverted: Set<ResolvedEdit> } {
    const reverted = new Set<ResolvedEdit>();
    const findings: Finding[] = [];
    let count = 0;
    for (const side of SIDES) {
      for (const write of this.writesOn(side)) {
        if (write.via !== 'api') continue;
        count++;
        const judged = this.judgeWrite(write);
        findings.push(...judged.findings);
        if (judged.reverted) reverted.add(judged.reverted);
      }
    }
    return { count, findings, reverted };
  }

  private judgeWrite(write: FieldWrite): { findings: Finding[]; reverted: ResolvedEdit | null } {
    const findings: Finding[] = [];
    const replaced = this.origin(write.before);
    const written = this.origin(write.after);
    const where = `${pairLabel(this.run.pair)} ${this.field}: the sync wrote ${quoted(write.afterRaw)} to ${SIDE_NAME[write.side]} at ${clock(write.atMs)}`;
    let reverted: ResolvedEdit | null = null;
    if (write.before !== write.after) {
      if (written.kind === 'foreign')
        findings.push(
          this.finding(
            'foreignWrite',
            write.side,
            `${where} (${describeOrigin(written)}), replacing ${quoted(write.before)}`,
          ),
        );
      else if (replaced.kind === 'edit' && this.raced.has(replaced.edit) && this.isOlder(written, replaced)) {
        findings.push(
          this.finding(
            'racedWrite',
            write.side,
            `${where} (${describeOrigin(written)}) ${write.atMs - editedAt(replaced.edit)} ms after the ${describeEdit(replaced.edit)} landed there`,
          ),
        );
      } else if (this.isOlder(written, replaced)) {
        const gap =
          written.kind === 'edit' && replaced.kind === 'edit'
            ? `, ${seconds(editedAt(replaced.edit) - editedAt(written.edit))} older`
            : '';
        findings.push(
          this.finding(
            'staleOverwrite',
            write.side,
            `${where} (${describeOrigin(written)}${gap}) over ${quoted(write.before)} (${describeOrigin(replaced)})`,
          ),
        );
        if (replaced.kind === 'edit' && this.heldByBoth(replaced.edit, write.atMs)) reverted = replaced.edit;
      }
    }
    if (this.isWriteBack(write, written)) {
      const what =
        write.before === write.after ? 'a rewrite of the value it already held' : `replacing ${quoted(write.before)}`;
      findings.push(this.finding('writeBack', write.side, `${where} (${describeOrigin(written)}): ${what}`));
    }
    return { findings, reverted };
  }

  /** Anything but carrying the other side's edit over (or settling a conflict) is a write back to the side. */
  private isWriteBack(write: FieldWrite, written: Origin): boolean {
    if (written.kind === 'edit') return written.edit.side === write.side;
    return written.kind === 'baseline' && write.before === write.after;
  }

  /** The edit's value had been on its own side and had reached the other side by `atMs`. */
  private heldByBoth(edit: ResolvedEdit, atMs: number): boolean {
    return edit.applied !== null && this.writesOn(other(edit.side)).some((w) => w.after === edit.key && w.atMs <= atMs);
  }

  logMismatches(): Finding[] {
    const replayed = this.run.replayed;
    if (replayed === null) return [];
    return SIDES.flatMap((side) => {
      const record = replayed[side];
      const finalKey = this.finalKey(side);
      if (record === null || finalKey === null) return [];
      const logged = keyOf(this.field, rawOf(side, this.field, record, this.n), this.n);
      if (logged === finalKey) return [];
      return [
        this.finding(
          'logMismatch',
          side,
          `${pairLabel(this.run.pair)} ${this.field}: the ${SIDE_NAME[side]} change log ends at ${quoted(logged)} but the record holds ${quoted(finalKey)}`,
        ),
      ];
    });
  }

  private finding(kind: FindingKind, side: Side | null, line: string): Finding {
    return { kind, userKey: this.run.pair.userKey, field: this.field, side, line };
  }
}

function divergence(run: PairRun, judges: readonly FieldJudge[]): Finding | null {
  const label = pairLabel(run.pair);
  const missing = SIDES.filter((side) => run.final[side] === null).map((side) => `no ${SIDE_NAME[side]} record`);
  const differing = judges.flatMap((judge) => {
    const [sg, zd] = [judge.finalKey('storeganise'), judge.finalKey('zendesk')];
    return sg === null || zd === null || sg === zd
      ? []
      : [
          `${judge.field} ${quoted(judge.finalRaw('storeganise'))} in Storeganise vs ${quoted(judge.finalRaw('zendesk'))} in Zendesk`,
        ];
  });
  const problems = [...missing, ...differing];
  if (problems.length === 0) return null;
  return {
    kind: 'divergentPair',
    userKey: run.pair.userKey,
    field: null,
    side: null,
    line: `${label}: ${problems.join('; ')}`,
  };
}

function inactiveCounterpart(input: OracleInput, run: PairRun): Finding | null {
  const zd = input.final.zendesk.find((u) => String(u.id) === String(run.pair.zendeskId));
  if (zd === undefined || zd.active) return null;
  return {
    kind: 'divergentPair',
    userKey: run.pair.userKey,
    field: null,
    side: 'zendesk',
    line: `${pairLabel(run.pair)}: the Zendesk user is no longer active`,
  };
}

/** More than one active Zendesk user linked to one customer, or more end users than customers. */
function duplicateUsers(input: OracleInput): { count: number; findings: Finding[] } {
  const active = input.final.zendesk.filter((u) => u.active);
  const linked = new Map<string, ZendeskUserState[]>();
  for (const user of active) {
    if (user.externalId === null || user.externalId === '') continue;
    const key = user.externalId.toLowerCase();
    linked.set(key, [...(linked.get(key) ?? []), user]);
  }
  const findings: Finding[] = [];
  let extra = 0;
  for (const [storeganiseId, users] of linked) {
    if (users.length < 2) continue;
    extra += users.length - 1;
    const pair = input.pairs.find((p) => p.storeganiseId.toLowerCase() === storeganiseId);
    const who = pair ? pairLabel(pair) : `sg ${storeganiseId}`;
    findings.push({
      kind: 'duplicateUser',
      userKey: pair?.userKey ?? null,
      field: null,
      side: 'zendesk',
      line: `${who}: ${users.length} active Zendesk users are linked to it: ${users.map((u) => String(u.id)).join(', ')}`,
    });
  }
  const endUsers = active.filter((u) => u.role === 'end-user').length;
  const customers = input.final.storeganise.length;
  const excess = endUsers - customers - extra;
  if (excess > 0) {
    extra += excess;
    findings.push({
      kind: 'duplicateUser',
      userKey: null,
      field: null,
      side: 'zendesk',
      line: `Zendesk holds ${endUsers} active end users for ${customers} Storeganise customers`,
    });
  }
  return { count: extra, findings };
}

function unappliedEdits(edits: readonly ResolvedEdit[], runs: Map<string, PairRun>): Finding[] {
  return edits.flatMap((edit) => {
    if (edit.applied !== null) return [];
    const run = runs.get(edit.userKey);
    const label = run ? pairLabel(run.pair) : edit.userKey;
    return [
      {
        kind: 'unappliedEdit' as const,
        userKey: edit.userKey,
        field: edit.field,
        side: edit.side,
        line: `${label} ${edit.field}: the ${describeEdit(edit)} is not in the ${SIDE_NAME[edit.side]} change log; it is left out of the judgement`,
      },
    ];
  });
}

const countOf = (findings: readonly Finding[], kind: FindingKind): number =>
  findings.filter((f) => f.kind === kind).length;

/** Judges one run; see the module header for the model. */
export function judgeRun(input: OracleInput): Verdict {
  const toleranceMs = input.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const n: Normaliser = { format: input.nameFormat, callingCode: input.defaultCallingCode };
  const hasLog = input.changes !== null;
  const runs = buildRuns(input, n);
  const edits = resolveEdits(input, runs, n);
  const findings: Finding[] = [];
  let syncWrites = 0;
  const reverted = new Set<ResolvedEdit>();

  for (const run of runs.values()) {
    const judges = SYNCED_FIELDS.map((field) => new FieldJudge(run, field, edits, n, toleranceMs, hasLog));
    for (const judge of judges) {
      findings.push(...judge.lostEdits(), ...judge.finalStateDifferences(), ...judge.logMismatches());
      const writes = judge.syncWrites();
      syncWrites += writes.count;
      findings.push(...writes.findings);
      for (const edit of writes.reverted) reverted.add(edit);
    }
    const diverged = divergence(run, judges) ?? inactiveCounterpart(input, run);
    if (diverged) findings.push(diverged);
  }
  for (const edit of reverted) {
    const run = runs.get(edit.userKey);
    if (run)
      findings.push({
        kind: 'revertedEdit',
        userKey: edit.userKey,
        field: edit.field,
        side: edit.side,
        line: `${pairLabel(run.pair)} ${edit.field}: the ${describeEdit(edit)} reached both sides and was later replaced by an older value`,
      });
  }
  const duplicates = duplicateUsers(input);
  findings.push(...duplicates.findings);
  if (hasLog) findings.push(...unappliedEdits(edits, runs));

  const measured = (kind: FindingKind): number | null => (hasLog ? countOf(findings, kind) : null);
  return {
    toleranceMs,
    counts: {
      edits: edits.length,
      appliedEdits: hasLog ? edits.filter((e) => e.applied !== null).length : edits.length,
      syncWrites: hasLog ? syncWrites : null,
      lostEdits: measured('lostEdit'),
      divergentPairs: countOf(findings, 'divergentPair'),
      finalStateDifferences: countOf(findings, 'finalStateDifference'),
      staleOverwrites: measured('staleOverwrite'),
      racedWrites: measured('racedWrite'),
      revertedEdits: measured('revertedEdit'),
      writesBack: measured('writeBack'),
      foreignWrites: measured('foreignWrite'),
      duplicateUsers: duplicates.count,
      unappliedEdits: measured('unappliedEdit'),
      logMismatches: measured('logMismatch'),
    },
    findings,
  };
}

/** Pairs whose two sides hold different values now (normalised as above), e.g. to know when a run has settled. */
export function differingPairs(input: {
  pairs: readonly LinkedPair[];
  states: SideStates;
  nameFormat: NameFormat;
  defaultCallingCode: string;
}): LinkedPair[] {
  const n: Normaliser = { format: input.nameFormat, callingCode: input.defaultCallingCode };
  return input.pairs.filter((pair) => {
    const sg = input.states.storeganise.find((u) => u.id === pair.storeganiseId);
    const zd = input.states.zendesk.find((u) => String(u.id) === String(pair.zendeskId));
    if (sg === undefined || zd === undefined) return true;
    return SYNCED_FIELDS.some(
      (field) =>
        keyOf(field, rawOf('storeganise', field, storeganiseRaw(sg), n), n) !==
        keyOf(field, rawOf('zendesk', field, zendeskRaw(zd), n), n),
    );
  });
}
