/**
 * The conflict model: which value of a two-way field (email, name, phone) wins, decided the same
 * way whatever the sync's lag. The design note is docs/convergence.md; in short:
 *
 * - Each customer's entity workflow keeps, per field, the value both sides last agreed on (the
 *   base) and, per side, the side-clock time as of which that base reflects the side.
 * - A side whose value differs from the base changed it. When only one side changed, its value is
 *   copied over. When both changed, the edit *made* later wins.
 * - When an edit was made is taken from the events the side sent about that field (Zendesk's
 *   envelope `time`, Storeganise's `created`), never from when they arrived or ran, and never from
 *   a record's `updated` alone. The sync's own writes and edits of other fields are not events
 *   about the field, so they cannot make a value look newer than it is.
 * - What the events do not pin down is an interval: the edit happened after the last event about
 *   the field (or after the agreement) and no later than the record's last change. Overlapping
 *   intervals wait for the missing event; once `SETTLE_MS` has passed it is taken as lost, and a
 *   change no event explains counts as the newest on its side.
 */

export const TWO_WAY_FIELDS = ['email', 'name', 'phone'] as const;
export type TwoWayField = (typeof TWO_WAY_FIELDS)[number];

export const SIDES = ['storeganise', 'zendesk'] as const;
export type Side = (typeof SIDES)[number];

/**
 * How long a webhook may take to arrive after its change, retries included (the default of
 * CONFLICT_SETTLE_SECONDS). A conflict that an event still on its way could decide waits this long
 * at most; after it the event is taken as lost.
 */
export const SETTLE_MS = 30_000;

export type PerField<T> = Partial<Record<TwoWayField, T>>;

/** The latest person edit of a field a side's events reported. */
export interface EditMark {
  /** Epoch ms in the side's clock (Zendesk stamps whole seconds). */
  at: number;
  /** The value the event reported, as it reported it, when it reported one. */
  value?: string;
}

/** What a customer's entity knows about its pair, kept durably for as long as the customer exists. */
export interface PairFacts {
  /** The Zendesk user the facts are about; another counterpart starts from nothing. */
  zendeskUserId: string | null;
  /** Normalised values both sides last agreed on. */
  base: PerField<string>;
  /** Per side and field: the side-clock time as of which the base reflects that side. */
  agreedAt: Record<Side, PerField<number>>;
  /** Per side and field: the latest person edit its events reported. */
  edited: Record<Side, PerField<EditMark>>;
}

export const emptyFacts = (zendeskUserId: string | null = null): PairFacts => ({
  zendeskUserId,
  base: {},
  agreedAt: { storeganise: {}, zendesk: {} },
  edited: { storeganise: {}, zendesk: {} },
});

/** A person's edit as an event reported it: the field, when, and the value if the event carried it. */
export interface ReportedEdit {
  field: TwoWayField;
  value?: string;
}

/** Records the edits an event reports; later events of a field replace earlier ones. */
export function recordEdits(facts: PairFacts, side: Side, at: number, edits: readonly ReportedEdit[]): PairFacts {
  const edited = { ...facts.edited[side] };
  for (const { field, value } of edits) {
    const known = edited[field];
    if (known !== undefined && known.at > at) continue;
    // Two edits stamped the same second: which value is newer is unknown, so none is trusted.
    const sameMoment = known !== undefined && known.at === at && known.value !== value;
    edited[field] = sameMoment || value === undefined ? { at } : { at, value };
  }
  return { ...facts, edited: { ...facts.edited, [side]: edited } };
}

/**
 * A reported value in the form the base keeps, as far as that needs no account settings: emails
 * lower-cased, white space collapsed, phone punctuation dropped (the sync writes E.164, so the
 * echo of its own phone write compares equal).
 */
export function reportedKey(field: TwoWayField, value: string): string {
  const trimmed = value.replace(/\s+/gu, ' ').trim();
  if (field === 'email') return trimmed.toLowerCase();
  if (field === 'phone') return trimmed.replace(/[\s().-]/g, '');
  return trimmed;
}

/**
 * Whether an event reports nothing the pair does not already agree on: every edit it reports is
 * no newer than the agreement and, where it carries a value, carries the agreed one. Such an event
 * (typically the echo of the sync's own write) needs no run. Zendesk stamps whole seconds, so a
 * Zendesk event counts only when it carries the value.
 */
export function alreadyAgreed(facts: PairFacts, side: Side, at: number, edits: readonly ReportedEdit[]): boolean {
  if (edits.length === 0) return false;
  return edits.every(({ field, value }) => {
    const agreedAt = facts.agreedAt[side][field];
    const base = facts.base[field];
    if (agreedAt === undefined || base === undefined || at > agreedAt) return false;
    if (value !== undefined) return reportedKey(field, value) === base;
    return side === 'storeganise';
  });
}

/** One side of a field, as read just now. */
export interface SideState {
  /** Normalised; '' when empty. */
  value: string;
  /** When the record last changed, epoch ms in the side's clock; null when unknown. */
  updatedAt: number | null;
  /** The side still holds the agreed value (compared the way the field compares). */
  equalsBase: boolean;
  /** Whether a value an event reported is the side's current value. */
  isCurrent(reported: string): boolean;
}

export type FieldDecision =
  | { kind: 'agree'; value: string }
  | { kind: 'copy'; from: Side; value: string; reason: CopyReason }
  | { kind: 'defer'; reason: string };

export type CopyReason =
  /** Only this side changed since the agreement. */
  | 'only-change'
  /** Both changed; this side's edit was made later. */
  | 'later-edit'
  /** Both changed at the same moment; Storeganise wins ties so both sides settle alike. */
  | 'same-moment'
  /** Both changed and an event that could tell was not received in time; decided on what is known. */
  | 'settled';

/** When the edit behind a side's current value was made, as far as the facts tell. */
interface EditInterval {
  /** Made no earlier than this (−∞ when nothing is known). */
  from: number;
  /** Made no later than this (+∞ when unknown). */
  to: number;
  /** An event about the field was received since the agreement. */
  explained: boolean;
}

function editInterval(facts: PairFacts, side: Side, field: TwoWayField, current: SideState): EditInterval {
  const agreedAt = facts.agreedAt[side][field] ?? Number.NEGATIVE_INFINITY;
  const mark = facts.edited[side][field];
  const explained = mark !== undefined && mark.at >= agreedAt;
  const from = explained ? mark.at : agreedAt;
  const updatedAt = current.updatedAt ?? Number.POSITIVE_INFINITY;
  // The event's own value, or (Storeganise) the event being the record's latest change, pins the moment.
  const exact =
    explained &&
    (mark.value !== undefined ? current.isCurrent(mark.value) : side === 'storeganise' && mark.at >= updatedAt);
  return { from, to: exact ? from : Math.max(from, updatedAt), explained };
}

/**
 * Decides one two-way field. `sidesAgree` compares the two sides the way the field compares (a
 * name split in two parts, a phone in local format).
 */
export function decideField(
  facts: PairFacts,
  field: TwoWayField,
  current: Record<Side, SideState>,
  sidesAgree: boolean,
  now: number,
  settleMs = SETTLE_MS,
): FieldDecision {
  const { storeganise: sg, zendesk: zd } = current;
  if (sidesAgree) return { kind: 'agree', value: zd.value };
  const baseKnown = facts.base[field] !== undefined;
  if (baseKnown && sg.equalsBase) return { kind: 'copy', from: 'zendesk', value: zd.value, reason: 'only-change' };
  if (baseKnown && zd.equalsBase) return { kind: 'copy', from: 'storeganise', value: sg.value, reason: 'only-change' };

  const s = editInterval(facts, 'storeganise', field, sg);
  const z = editInterval(facts, 'zendesk', field, zd);
  const copy = (from: Side, reason: CopyReason): FieldDecision => ({
    kind: 'copy',
    from,
    value: current[from].value,
    reason,
  });
  if (s.from > z.to) return copy('storeganise', 'later-edit');
  if (z.from > s.to) return copy('zendesk', 'later-edit');
  if (s.from === s.to && z.from === z.to) return copy('storeganise', 'same-moment');

  const latest = Math.max(finiteOr(s.to, s.from), finiteOr(z.to, z.from));
  if (Number.isFinite(latest) && now - latest < settleMs) {
    return {
      kind: 'defer',
      reason: 'both sides changed and an event that tells which edit is newer may still be on its way',
    };
  }
  // Settled: every event that was coming has come. An explained edit happened when its event says;
  // a change no event explains is taken as the newest on its side (its webhook was lost), except
  // when nothing was ever agreed, where it is no evidence of a change at all.
  const moment = (i: EditInterval): number => (i.explained ? i.from : baseKnown ? i.to : Number.NEGATIVE_INFINITY);
  const [ms, mz] = [moment(s), moment(z)];
  if (ms !== mz) return copy(ms > mz ? 'storeganise' : 'zendesk', 'settled');
  // Nothing tells the edits apart: the record changed last wins, Storeganise on a tie.
  return copy(finiteOr(z.to, z.from) > finiteOr(s.to, s.from) ? 'zendesk' : 'storeganise', 'settled');
}

const finiteOr = (value: number, fallback: number): number => (Number.isFinite(value) ? value : fallback);

/** What a run concluded about a field, to fold into the facts. */
export type FieldOutcome =
  | { field: TwoWayField; kind: 'agreed'; value: string; at: Record<Side, number | null> }
  | { field: TwoWayField; kind: 'unchanged' };

/** Folds what a run established into the facts: a new agreement moves the base and its times. */
export function applyOutcomes(
  facts: PairFacts,
  zendeskUserId: string | null,
  outcomes: readonly FieldOutcome[],
): PairFacts {
  // Facts about another Zendesk user say nothing about this one.
  const start =
    facts.zendeskUserId !== null && zendeskUserId !== null && facts.zendeskUserId !== zendeskUserId
      ? emptyFacts(zendeskUserId)
      : facts;
  const next: PairFacts = {
    zendeskUserId: zendeskUserId ?? start.zendeskUserId,
    base: { ...start.base },
    agreedAt: { storeganise: { ...start.agreedAt.storeganise }, zendesk: { ...start.agreedAt.zendesk } },
    edited: start.edited,
  };
  for (const outcome of outcomes) {
    if (outcome.kind !== 'agreed') continue;
    next.base[outcome.field] = outcome.value;
    for (const side of SIDES) {
      const at = outcome.at[side];
      const before = next.agreedAt[side][outcome.field];
      if (at !== null) next.agreedAt[side][outcome.field] = before === undefined ? at : Math.max(before, at);
    }
  }
  return next;
}
