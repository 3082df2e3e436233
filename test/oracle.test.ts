import assert from 'node:assert/strict';
import type { NameFormat } from '../domain/names';
import {
  judgeRun,
  type FieldChange,
  type OracleInput,
  type PersonEdit,
  type Side,
  type StoreganiseUserState,
  type SyncedField,
  type VerdictCounts,
  type ZendeskUserState,
} from '../bench/oracle';

// Small hand-made runs of one linked pair: what people edited, what the sync wrote (as the
// sandboxes' change logs record it), and the verdict the oracle must give.

const T0 = Date.parse('2025-01-01T10:00:00.000Z');
const PAIR = { userKey: 'u1', storeganiseId: 'sg1', zendeskId: 101 };

type Fields = Record<string, string | null>;

/** One step of a timeline; `at` is ms after T0. */
type Step =
  | { kind: 'edit'; side: Side; field: SyncedField; value: string; set: Fields; at: number; appliedAfter?: number }
  | { kind: 'sync'; side: Side; set: Fields; at: number };

const sgEdit = (at: number, field: SyncedField, set: Fields, value: string, appliedAfter?: number): Step => ({
  kind: 'edit',
  side: 'storeganise',
  field,
  value,
  set,
  at,
  ...(appliedAfter === undefined ? {} : { appliedAfter }),
});
const zdEdit = (at: number, field: SyncedField, value: string, stored = value): Step => ({
  kind: 'edit',
  side: 'zendesk',
  field,
  value,
  set: { [field]: stored },
  at,
});
const toStoreganise = (at: number, set: Fields): Step => ({ kind: 'sync', side: 'storeganise', set, at });
const toZendesk = (at: number, set: Fields): Step => ({ kind: 'sync', side: 'zendesk', set, at });

function baseline(format: NameFormat): { storeganise: StoreganiseUserState; zendesk: ZendeskUserState } {
  return {
    storeganise: { id: 'sg1', firstName: 'Aiko', lastName: 'Sato', email: 'u1@example.com', phone: '+819050000001' },
    zendesk: {
      id: 101,
      name: format === 'first_last' ? 'Aiko Sato' : 'Sato Aiko',
      email: 'u1@example.com',
      phone: '+819050000001',
      externalId: 'sg1',
      active: true,
      role: 'end-user',
    },
  };
}

interface Scenario {
  steps: Step[];
  format?: NameFormat;
  /** Changes the final state after the log is replayed (what the log does not show). */
  finalZendeskUsers?: (user: ZendeskUserState) => ZendeskUserState[];
  finalStoreganise?: (user: StoreganiseUserState) => StoreganiseUserState[];
  /** Person edits the harness made whose change never reached the log. */
  unloggedEdits?: PersonEdit[];
  withoutLog?: boolean;
  toleranceMs?: number;
}

/** Builds the oracle's input: each step becomes log entries, and the final state is the log replayed. */
function runOf(scenario: Scenario): OracleInput {
  const format = scenario.format ?? 'first_last';
  const start = baseline(format);
  const sg: StoreganiseUserState = { ...start.storeganise };
  const zd: ZendeskUserState = { ...start.zendesk };
  const logs: Record<Side, FieldChange[]> = { storeganise: [], zendesk: [] };
  const edits: PersonEdit[] = [...(scenario.unloggedEdits ?? [])];
  for (const step of scenario.steps) {
    const via = step.kind === 'edit' ? 'control' : 'api';
    // The sandbox applies a control edit a few ms after the person made it.
    const atMs = T0 + step.at + (step.kind === 'edit' ? (step.appliedAfter ?? 3) : 0);
    const log = logs[step.side];
    for (const [field, value] of Object.entries(step.set)) {
      log.push({ seq: log.length + 1, atMs, userId: step.side === 'storeganise' ? 'sg1' : 101, field, value, via });
    }
    Object.assign(step.side === 'storeganise' ? sg : zd, step.set);
    if (step.kind === 'edit')
      edits.push({ side: step.side, userKey: 'u1', field: step.field, value: step.value, atMs: T0 + step.at });
  }
  return {
    edits,
    pairs: [PAIR],
    baseline: { storeganise: [start.storeganise], zendesk: [start.zendesk] },
    final: { storeganise: scenario.finalStoreganise?.(sg) ?? [sg], zendesk: scenario.finalZendeskUsers?.(zd) ?? [zd] },
    changes: scenario.withoutLog ? null : logs,
    nameFormat: format,
    defaultCallingCode: '+81',
    ...(scenario.toleranceMs === undefined ? {} : { toleranceMs: scenario.toleranceMs }),
  };
}

const CLEAN: Omit<VerdictCounts, 'edits' | 'appliedEdits' | 'syncWrites'> = {
  lostEdits: 0,
  divergentPairs: 0,
  finalStateDifferences: 0,
  staleOverwrites: 0,
  racedWrites: 0,
  revertedEdits: 0,
  writesBack: 0,
  foreignWrites: 0,
  duplicateUsers: 0,
  unappliedEdits: 0,
  logMismatches: 0,
};

interface Case {
  why: string;
  scenario: Scenario;
  expected: Partial<VerdictCounts>;
}

function check({ scenario, expected }: Case): void {
  const verdict = judgeRun(runOf(scenario));
  const { edits: _edits, appliedEdits: _applied, syncWrites: _writes, ...counts } = verdict.counts;
  assert.deepEqual(counts, { ...CLEAN, ...expected }, verdict.findings.map((f) => `${f.kind}: ${f.line}`).join('\n'));
}

describe('the convergence oracle', () => {
  describe('a correct run reports nothing', () => {
    const cases: Case[] = [
      { why: 'no edit at all', scenario: { steps: [] }, expected: {} },
      {
        why: 'a Zendesk name edit carried to Storeganise',
        scenario: {
          steps: [zdEdit(0, 'name', 'Lena1 Tanaka1'), toStoreganise(400, { firstName: 'Lena1', lastName: 'Tanaka1' })],
        },
        expected: {},
      },
      {
        why: 'a Storeganise first-name edit carried to Zendesk as the whole name',
        scenario: {
          steps: [sgEdit(0, 'name', { firstName: 'Ben2' }, 'Ben2 Sato'), toZendesk(300, { name: 'Ben2 Sato' })],
        },
        expected: {},
      },
      {
        why: 'a one-part Zendesk name lands in firstName with lastName unknown',
        scenario: {
          steps: [zdEdit(0, 'name', 'Cher3'), toStoreganise(300, { firstName: 'Cher3', lastName: 'unknown' })],
        },
        expected: {},
      },
      {
        why: 'a three-part Zendesk name lands whole in firstName',
        scenario: {
          steps: [
            zdEdit(0, 'name', 'Mary4 Ann Smith'),
            toStoreganise(300, { firstName: 'Mary4 Ann Smith', lastName: 'unknown' }),
          ],
        },
        expected: {},
      },
      {
        why: 'a last_first Zendesk name is split last name first',
        scenario: {
          format: 'last_first',
          steps: [zdEdit(0, 'name', 'Yamada5 Taro5'), toStoreganise(300, { firstName: 'Taro5', lastName: 'Yamada5' })],
        },
        expected: {},
      },
      {
        why: 'a name with extra white space compares equal to its normalised form',
        scenario: {
          steps: [
            zdEdit(0, 'name', '  Lena6   Tanaka6 '),
            toStoreganise(300, { firstName: 'Lena6', lastName: 'Tanaka6' }),
          ],
        },
        expected: {},
      },
      {
        why: 'a local Storeganise phone reaches Zendesk in E.164 and stays local in Storeganise',
        scenario: {
          steps: [
            sgEdit(0, 'phone', { phone: '090-1234-5678' }, '090-1234-5678'),
            toZendesk(300, { phone: '+819012345678' }),
          ],
        },
        expected: {},
      },
      {
        why: 'a spaced international Zendesk phone reaches Storeganise in E.164',
        scenario: { steps: [zdEdit(0, 'phone', '+81 90-3333-4444'), toStoreganise(300, { phone: '+819033334444' })] },
        expected: {},
      },
      {
        why: 'an email typed in capitals, stored lower-case by Zendesk, reaches Storeganise',
        scenario: {
          steps: [
            zdEdit(0, 'email', 'New7@Example.com', 'new7@example.com'),
            toStoreganise(300, { email: 'new7@example.com' }),
          ],
        },
        expected: {},
      },
      {
        why: 'different fields edited on both sides both survive',
        scenario: {
          steps: [
            sgEdit(0, 'phone', { phone: '+819011110008' }, '+819011110008'),
            zdEdit(100, 'name', 'Finn8 Ito8'),
            toZendesk(400, { phone: '+819011110008' }),
            toStoreganise(500, { firstName: 'Finn8', lastName: 'Ito8' }),
          ],
        },
        expected: {},
      },
      {
        why: 'a later edit on the other side wins',
        scenario: {
          steps: [
            sgEdit(0, 'email', { email: 'a9@example.com' }, 'a9@example.com'),
            toZendesk(300, { email: 'a9@example.com' }),
            zdEdit(5_000, 'email', 'b9@example.com'),
            toStoreganise(5_300, { email: 'b9@example.com' }),
          ],
        },
        expected: {},
      },
      {
        why: 'an edit replaced on its own side before it was carried over is not lost',
        scenario: {
          steps: [
            sgEdit(0, 'phone', { phone: '+819011110010' }, '+819011110010'),
            sgEdit(200, 'phone', { phone: '+819011110011' }, '+819011110011'),
            toZendesk(400, { phone: '+819011110011' }),
          ],
        },
        expected: {},
      },
      {
        why: 'a same-field edit made later on the other side replaces an edit never carried over',
        scenario: {
          steps: [
            sgEdit(0, 'name', { lastName: 'Evans12' }, 'Aiko Evans12'),
            zdEdit(3_000, 'name', 'Grace12 Brown12'),
            toStoreganise(4_000, { firstName: 'Grace12', lastName: 'Brown12' }),
          ],
        },
        expected: {},
      },
    ];
    for (const c of cases) it(c.why, () => check(c));
  });

  describe('each finding, and the run that does not have it', () => {
    const cases: Case[] = [
      {
        why: 'lost edit: a Zendesk phone edit never reaches Storeganise',
        scenario: { steps: [zdEdit(0, 'phone', '+819012345678')] },
        expected: { lostEdits: 1, divergentPairs: 1, finalStateDifferences: 1 },
      },
      {
        why: 'lost edit: a Storeganise edit overwritten by an older Zendesk edit before it was carried over',
        scenario: {
          steps: [
            zdEdit(0, 'email', 'old13@example.com'),
            sgEdit(5_000, 'email', { email: 'new13@example.com' }, 'new13@example.com'),
            toStoreganise(20_000, { email: 'old13@example.com' }),
          ],
        },
        expected: { lostEdits: 1, staleOverwrites: 1, finalStateDifferences: 2 },
      },
      {
        why: "raced write: a sync write landing less than a second after a person's edit of the field on the same record is reported, not lost",
        scenario: {
          steps: [
            zdEdit(0, 'email', 'old31@example.com'),
            sgEdit(5_000, 'email', { email: 'new31@example.com' }, 'new31@example.com'),
            toStoreganise(5_400, { email: 'old31@example.com' }),
          ],
        },
        expected: { racedWrites: 1 },
      },
      {
        why: 'raced write: both sides must still end equal',
        scenario: {
          steps: [
            zdEdit(0, 'email', 'old32@example.com'),
            sgEdit(5_000, 'email', { email: 'new32@example.com' }, 'new32@example.com'),
            toStoreganise(5_400, { email: 'old32@example.com' }),
            toZendesk(6_000, { email: 'other32@example.com' }),
          ],
        },
        expected: { racedWrites: 1, foreignWrites: 1, divergentPairs: 1, finalStateDifferences: 1 },
      },
      {
        why: 'raced write: a second or more after the edit it is a stale overwrite and a lost edit',
        scenario: {
          steps: [
            zdEdit(0, 'email', 'old33@example.com'),
            sgEdit(5_000, 'email', { email: 'new33@example.com' }, 'new33@example.com'),
            toStoreganise(6_100, { email: 'old33@example.com' }),
          ],
        },
        expected: { lostEdits: 1, staleOverwrites: 1, finalStateDifferences: 2 },
      },
      {
        why: 'stale overwrite and reverted edit: a long-queued event re-sends a value both sides had replaced',
        scenario: {
          steps: [
            zdEdit(0, 'name', 'Olivia14 Jones14'),
            toStoreganise(200, { firstName: 'Olivia14', lastName: 'Jones14' }),
            sgEdit(3_000, 'name', { firstName: 'Ren14' }, 'Ren14 Jones14'),
            toZendesk(3_200, { name: 'Ren14 Jones14' }),
            toStoreganise(10_000, { firstName: 'Olivia14' }),
          ],
        },
        expected: { staleOverwrites: 1, revertedEdits: 1, divergentPairs: 1, finalStateDifferences: 1 },
      },
      {
        why: 'stale overwrite: an edit made earlier but synced after a newer one wins, whatever its lag',
        scenario: {
          steps: [
            zdEdit(0, 'name', 'Noah15 Smith15'),
            sgEdit(5_000, 'name', { firstName: 'Mio15' }, 'Mio15 Sato'),
            toZendesk(5_300, { name: 'Mio15 Sato' }),
            toStoreganise(20_000, { firstName: 'Noah15', lastName: 'Smith15' }),
          ],
        },
        expected: { staleOverwrites: 1, revertedEdits: 1, divergentPairs: 1, finalStateDifferences: 1 },
      },
      {
        why: 'stale overwrite: a write restoring the value from before the run',
        scenario: {
          steps: [
            zdEdit(0, 'phone', '+819011110016'),
            toStoreganise(300, { phone: '+819011110016' }),
            toZendesk(900, { phone: '+819050000001' }),
          ],
        },
        expected: { staleOverwrites: 1, revertedEdits: 1, writesBack: 0, divergentPairs: 1, finalStateDifferences: 1 },
      },
      {
        why: 'stale overwrite: two edits of one side are ordered by that side, even closer than the tolerance',
        scenario: {
          steps: [
            sgEdit(0, 'email', { email: 'first17@example.com' }, 'first17@example.com'),
            sgEdit(100, 'email', { email: 'second17@example.com' }, 'second17@example.com'),
            toZendesk(400, { email: 'second17@example.com' }),
            toStoreganise(600, { email: 'first17@example.com' }),
          ],
        },
        expected: { staleOverwrites: 1, revertedEdits: 1, writesBack: 1, divergentPairs: 1, finalStateDifferences: 1 },
      },
      {
        why: 'write back: a Zendesk phone rewritten in E.164 on Zendesk itself',
        scenario: {
          steps: [
            zdEdit(0, 'phone', '090-1111-2222'),
            toStoreganise(300, { phone: '+819011112222' }),
            toZendesk(600, { phone: '+819011112222' }),
          ],
        },
        expected: { writesBack: 1 },
      },
      {
        why: 'write back: a Storeganise two-word first name split again from the Zendesk name it produced',
        scenario: {
          steps: [
            sgEdit(0, 'name', { firstName: 'Mary18 Ann' }, 'Mary18 Ann Sato'),
            toZendesk(300, { name: 'Mary18 Ann Sato' }),
            toStoreganise(600, { firstName: 'Mary18 Ann Sato', lastName: 'unknown' }),
          ],
        },
        expected: { writesBack: 1 },
      },
      {
        why: 'write back: the value from before the run rewritten in another format',
        scenario: { steps: [toStoreganise(300, { phone: '09050000001' })] },
        expected: { writesBack: 1 },
      },
      {
        why: 'foreign write: the sync writes a value nobody entered',
        scenario: { steps: [toZendesk(100, { name: 'Somebody Else' })] },
        expected: { foreignWrites: 1, divergentPairs: 1, finalStateDifferences: 1 },
      },
      {
        why: 'duplicate user: two active Zendesk users linked to one customer',
        scenario: { steps: [], finalZendeskUsers: (zd) => [zd, { ...zd, id: 102 }] },
        expected: { duplicateUsers: 1 },
      },
      {
        why: 'no duplicate: the second linked Zendesk user is deleted',
        scenario: { steps: [], finalZendeskUsers: (zd) => [zd, { ...zd, id: 102, active: false }] },
        expected: {},
      },
      {
        why: 'duplicate user: more Zendesk end users than customers',
        scenario: {
          steps: [],
          finalZendeskUsers: (zd) => [zd, { ...zd, id: 103, externalId: null, email: 'other@example.com' }],
        },
        expected: { duplicateUsers: 1 },
      },
      {
        why: 'no duplicate: an agent is not an end user',
        scenario: { steps: [], finalZendeskUsers: (zd) => [zd, { ...zd, id: 104, externalId: null, role: 'agent' }] },
        expected: {},
      },
      {
        why: 'divergent pair: the Storeganise record is gone',
        scenario: { steps: [], finalStoreganise: () => [] },
        expected: { divergentPairs: 1, duplicateUsers: 1 },
      },
      {
        why: 'divergent pair: the linked Zendesk user was deleted',
        scenario: { steps: [], finalZendeskUsers: (zd) => [{ ...zd, active: false }] },
        expected: { divergentPairs: 1 },
      },
      {
        why: 'unapplied edit: an edit the log never saw is left out of the judgement',
        scenario: {
          steps: [],
          unloggedEdits: [{ side: 'zendesk', userKey: 'u1', field: 'name', value: 'Never19 Made19', atMs: T0 }],
        },
        expected: { unappliedEdits: 1 },
      },
      {
        why: 'log mismatch: the final record is not where its log ends',
        scenario: { steps: [], finalStoreganise: (sg) => [{ ...sg, phone: '+819099990020' }] },
        expected: { logMismatches: 1, divergentPairs: 1, finalStateDifferences: 1 },
      },
    ];
    for (const c of cases) it(c.why, () => check(c));
  });

  describe('the tolerance', () => {
    const sgName = (at: number, first: string): Step => sgEdit(at, 'name', { firstName: first }, `${first} Sato`);
    const cases: Case[] = [
      {
        why: 'edits 999 ms apart may go the older way: the Storeganise edit wins',
        scenario: {
          steps: [sgName(0, 'Aa21'), zdEdit(999, 'name', 'Bb21 Cc21'), toZendesk(1_500, { name: 'Aa21 Sato' })],
        },
        expected: {},
      },
      {
        why: 'edits 999 ms apart may go the newer way: the Zendesk edit wins',
        scenario: {
          steps: [
            sgName(0, 'Aa22'),
            zdEdit(999, 'name', 'Bb22 Cc22'),
            toStoreganise(1_500, { firstName: 'Bb22', lastName: 'Cc22' }),
          ],
        },
        expected: {},
      },
      {
        why: 'edits 1000 ms apart are ordered: the older one may not win',
        scenario: {
          steps: [sgName(0, 'Aa23'), zdEdit(1_000, 'name', 'Bb23 Cc23'), toZendesk(2_500, { name: 'Aa23 Sato' })],
        },
        expected: { lostEdits: 1, staleOverwrites: 1, finalStateDifferences: 2 },
      },
      {
        why: 'edits 1000 ms apart are ordered: the newer one wins',
        scenario: {
          steps: [
            sgName(0, 'Aa24'),
            zdEdit(1_000, 'name', 'Bb24 Cc24'),
            toStoreganise(1_500, { firstName: 'Bb24', lastName: 'Cc24' }),
          ],
        },
        expected: {},
      },
      {
        why: "an edit 1000 ms after the other side's is not excused by it: it is lost when the older one wins",
        scenario: {
          steps: [
            zdEdit(0, 'name', 'Bb29 Cc29'),
            sgName(1_000, 'Aa29'),
            toStoreganise(2_500, { firstName: 'Bb29', lastName: 'Cc29' }),
          ],
        },
        expected: { lostEdits: 1, staleOverwrites: 1, finalStateDifferences: 2 },
      },
      {
        why: "an edit 999 ms after the other side's may lose to it",
        scenario: {
          steps: [
            zdEdit(1, 'name', 'Bb30 Cc30'),
            sgName(1_000, 'Aa30'),
            toStoreganise(1_500, { firstName: 'Bb30', lastName: 'Cc30' }),
          ],
        },
        expected: {},
      },
      {
        why: "edit times are those the sides recorded: an edit applied 800 ms after the harness made it is 700 ms from the other side's",
        scenario: {
          steps: [
            sgEdit(0, 'name', { firstName: 'Aa31' }, 'Aa31 Sato', 800),
            zdEdit(1_500, 'name', 'Bb31 Cc31'),
            toZendesk(2_000, { name: 'Aa31 Sato' }),
          ],
        },
        expected: {},
      },
      {
        why: 'concurrent edits must still end equal on both sides',
        scenario: { steps: [sgName(0, 'Aa25'), zdEdit(500, 'name', 'Bb25 Cc25')] },
        expected: { divergentPairs: 1 },
      },
      {
        why: 'a wider tolerance lets edits 1500 ms apart go either way',
        scenario: {
          toleranceMs: 2_000,
          steps: [sgName(0, 'Aa26'), zdEdit(1_500, 'name', 'Bb26 Cc26'), toZendesk(2_000, { name: 'Aa26 Sato' })],
        },
        expected: {},
      },
    ];
    for (const c of cases) it(c.why, () => check(c));
  });

  it('without a change log, judges the final state only and says what it could not measure', () => {
    const verdict = judgeRun(runOf({ withoutLog: true, steps: [zdEdit(0, 'phone', '+819012345678')] }));
    assert.equal(verdict.counts.lostEdits, null);
    assert.equal(verdict.counts.staleOverwrites, null);
    assert.equal(verdict.counts.writesBack, null);
    assert.equal(verdict.counts.divergentPairs, 1);
    assert.equal(verdict.counts.finalStateDifferences, 1);
  });

  it('names the pair, the field, the values and the times in each finding', () => {
    const verdict = judgeRun(
      runOf({ steps: [zdEdit(0, 'phone', '+819012345678'), zdEdit(2_000, 'name', 'Lena27 Tanaka27')] }),
    );
    const lines = verdict.findings.map((f) => f.line);
    assert.ok(
      lines.includes(
        'u1 (sg sg1, zd 101) phone: the Zendesk edit "+819012345678" at 10:00:00.003 never reached Storeganise, and no later edit replaced it; Storeganise ends "+819050000001" (the value from before the run)',
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.includes(
        'u1 (sg sg1, zd 101): name "Aiko Sato" in Storeganise vs "Lena27 Tanaka27" in Zendesk; phone "+819050000001" in Storeganise vs "+819012345678" in Zendesk',
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.includes(
        'u1 (sg sg1, zd 101) name: Storeganise ends "Aiko Sato" (the value from before the run), expected the Zendesk edit "Lena27 Tanaka27" at 10:00:02.003',
      ),
      lines.join('\n'),
    );
  });

  it('a stale overwrite names both edits and how much older the written one is', () => {
    const verdict = judgeRun(
      runOf({
        steps: [
          zdEdit(0, 'email', 'old28@example.com'),
          sgEdit(5_000, 'email', { email: 'new28@example.com' }, 'new28@example.com'),
          toStoreganise(20_000, { email: 'old28@example.com' }),
        ],
      }),
    );
    const stale = verdict.findings.filter((f) => f.kind === 'staleOverwrite').map((f) => f.line);
    assert.deepEqual(stale, [
      'u1 (sg sg1, zd 101) email: the sync wrote "old28@example.com" to Storeganise at 10:00:20.000 (from the Zendesk edit "old28@example.com" at 10:00:00.003, 5.00 s older) over "new28@example.com" (from the Storeganise edit "new28@example.com" at 10:00:05.003)',
    ]);
  });
});
