import assert from 'node:assert/strict';
import {
  alreadyAgreed,
  applyOutcomes,
  decideField,
  emptyFacts,
  recordEdits,
  reportedKey,
  SETTLE_MS,
  type PairFacts,
  type Side,
  type SideState,
} from '../domain/convergence';

const T0 = 1_800_000_000_000;
const s = (seconds: number): number => T0 + seconds * 1000;

/** A side of the phone field: its value, when its record last changed, and whether it still holds the base. */
const side = (value: string, updatedAt: number | null, base: string | undefined): SideState => ({
  value,
  updatedAt,
  equalsBase: base !== undefined && value === base,
  isCurrent: (reported) => reported === value,
});

function facts(
  base: string | undefined,
  marks: Partial<Record<Side, { at: number; value?: string }>> = {},
  agreedAt = s(0),
): PairFacts {
  const f = emptyFacts('1');
  if (base !== undefined) {
    f.base.phone = base;
    f.agreedAt.storeganise.phone = agreedAt;
    f.agreedAt.zendesk.phone = agreedAt;
  }
  for (const [name, mark] of Object.entries(marks) as Array<[Side, { at: number; value?: string }]>)
    f.edited[name].phone = mark;
  return f;
}

describe('the conflict model', () => {
  const cases: Array<{
    behaviour: string;
    facts: PairFacts;
    sg: SideState;
    zd: SideState;
    now?: number;
    expect: string;
  }> = [
    {
      behaviour: 'equal sides agree',
      facts: facts('A'),
      sg: side('B', s(5), 'A'),
      zd: side('B', s(5), 'A'),
      expect: 'agree',
    },
    {
      behaviour: 'only Storeganise changed: its value goes over',
      facts: facts('A'),
      sg: side('B', s(5), 'A'),
      zd: side('A', s(9), 'A'),
      expect: 'copy storeganise only-change',
    },
    {
      behaviour: 'only Zendesk changed: its value goes over, whatever the record times say',
      facts: facts('A'),
      sg: side('A', s(99), 'A'),
      zd: side('C', s(1), 'A'),
      expect: 'copy zendesk only-change',
    },
    {
      behaviour: 'both changed, Zendesk edit made later: Zendesk wins even when its record is older',
      facts: facts('A', { storeganise: { at: s(10) }, zendesk: { at: s(20), value: 'C' } }),
      sg: side('B', s(10), 'A'),
      zd: side('C', s(20), 'A'),
      expect: 'copy zendesk later-edit',
    },
    {
      behaviour: 'both changed, Storeganise edit made later: Storeganise wins',
      facts: facts('A', { storeganise: { at: s(30) }, zendesk: { at: s(20), value: 'C' } }),
      sg: side('B', s(30), 'A'),
      zd: side('C', s(20), 'A'),
      expect: 'copy storeganise later-edit',
    },
    {
      behaviour: 'both changed at the same moment: Storeganise wins, so both sides settle alike',
      facts: facts('A', { storeganise: { at: s(20) }, zendesk: { at: s(20), value: 'C' } }),
      sg: side('B', s(20), 'A'),
      zd: side('C', s(20), 'A'),
      expect: 'copy storeganise same-moment',
    },
    {
      behaviour:
        "a later change of another field (or the sync's own write) on the record does not make an older edit win: it waits",
      facts: facts('A', { storeganise: { at: s(10) }, zendesk: { at: s(20), value: 'C' } }),
      sg: side('B', s(40), 'A'),
      zd: side('C', s(20), 'A'),
      now: s(45),
      expect: 'defer',
    },
    {
      behaviour: 'an older edit is still older when the record changed only before the other edit',
      facts: facts('A', { storeganise: { at: s(10) }, zendesk: { at: s(20), value: 'C' } }),
      sg: side('B', s(15), 'A'),
      zd: side('C', s(20), 'A'),
      expect: 'copy zendesk later-edit',
    },
    {
      behaviour: 'a Zendesk value no event reported yet waits for its event',
      facts: facts('A', { storeganise: { at: s(10) }, zendesk: { at: s(5), value: 'Z' } }),
      sg: side('B', s(10), 'A'),
      zd: side('C', s(12), 'A'),
      now: s(15),
      expect: 'defer',
    },
    {
      behaviour: 'once the wait is over, a change no event explained is the newest on its side',
      facts: facts('A', { storeganise: { at: s(10) } }),
      sg: side('B', s(10), 'A'),
      zd: side('C', s(12), 'A'),
      now: s(12) + SETTLE_MS + 1,
      expect: 'copy zendesk settled',
    },
    {
      behaviour: 'once the wait is over, an explained edit counts at its event time',
      facts: facts('A', { storeganise: { at: s(10) }, zendesk: { at: s(5), value: 'C' } }),
      sg: side('B', s(40), 'A'),
      zd: side('C', s(5), 'A'),
      now: s(40) + SETTLE_MS + 1,
      expect: 'copy storeganise later-edit',
    },
    {
      behaviour: 'nothing agreed yet: the side whose event reported the edit wins when the other record is older',
      facts: facts(undefined, { zendesk: { at: s(20), value: 'C' } }),
      sg: side('B', s(5), undefined),
      zd: side('C', s(20), undefined),
      expect: 'copy zendesk later-edit',
    },
    {
      behaviour: 'nothing agreed yet and nothing reported: the record changed last wins once settled',
      facts: facts(undefined),
      sg: side('B', s(5), undefined),
      zd: side('C', s(6), undefined),
      now: s(6) + SETTLE_MS + 1,
      expect: 'copy zendesk settled',
    },
    {
      behaviour: 'an event older than the agreement explains nothing',
      facts: facts('A', { storeganise: { at: s(1) }, zendesk: { at: s(20), value: 'C' } }, s(3)),
      sg: side('B', s(30), 'A'),
      zd: side('C', s(20), 'A'),
      now: s(31),
      expect: 'defer',
    },
  ];
  for (const c of cases) {
    it(c.behaviour, () => {
      const decision = decideField(
        c.facts,
        'phone',
        { storeganise: c.sg, zendesk: c.zd },
        c.sg.value === c.zd.value,
        c.now ?? s(100),
      );
      const got = decision.kind === 'copy' ? `copy ${decision.from} ${decision.reason}` : decision.kind;
      assert.equal(got, c.expect);
    });
  }

  it('an event records the latest edit per field and side; an older event changes nothing', () => {
    let f = recordEdits(emptyFacts(), 'zendesk', s(10), [{ field: 'name', value: 'Ann' }]);
    f = recordEdits(f, 'zendesk', s(5), [{ field: 'name', value: 'Old' }]);
    assert.deepEqual(f.edited.zendesk.name, { at: s(10), value: 'Ann' });
    f = recordEdits(f, 'zendesk', s(10), [{ field: 'name', value: 'Bea' }]);
    assert.deepEqual(f.edited.zendesk.name, { at: s(10) }, 'two values in one second: neither is trusted');
    assert.deepEqual(f.edited.storeganise, {});
  });

  it('an echo is an event no newer than the agreement that carries the agreed value', () => {
    const f = facts('+819012345678');
    assert.equal(alreadyAgreed(f, 'zendesk', s(0), [{ field: 'phone', value: '+81 90-1234-5678' }]), true);
    assert.equal(
      alreadyAgreed(f, 'zendesk', s(0), [{ field: 'phone', value: '+81 90 9999 9999' }]),
      false,
      'another value is an edit',
    );
    assert.equal(
      alreadyAgreed(f, 'zendesk', s(1), [{ field: 'phone', value: '+819012345678' }]),
      false,
      'a newer event is news',
    );
    assert.equal(
      alreadyAgreed(f, 'zendesk', s(0), [{ field: 'phone' }]),
      false,
      'a Zendesk event without its value is news (Zendesk stamps seconds)',
    );
    assert.equal(alreadyAgreed(f, 'storeganise', s(0), [{ field: 'phone' }]), true, 'Storeganise stamps milliseconds');
    assert.equal(alreadyAgreed(f, 'storeganise', s(0), []), false, 'an event reporting no edit is never an echo');
  });

  it('reported values are compared in the form the base keeps', () => {
    assert.equal(reportedKey('email', ' Ann@Example.COM '), 'ann@example.com');
    assert.equal(reportedKey('name', '  Ann\u3000 Lee '), 'Ann Lee');
    assert.equal(reportedKey('phone', '+81 (90) 1234-5678'), '+819012345678');
  });

  it('a run moves the base and its times forward, never back; facts of another Zendesk user are dropped', () => {
    const f = facts('A');
    const next = applyOutcomes(f, '1', [
      { field: 'phone', kind: 'agreed', value: 'B', at: { storeganise: s(9), zendesk: null } },
    ]);
    assert.equal(next.base.phone, 'B');
    assert.equal(next.agreedAt.storeganise.phone, s(9));
    assert.equal(next.agreedAt.zendesk.phone, s(0));
    const back = applyOutcomes(next, '1', [
      { field: 'phone', kind: 'agreed', value: 'B', at: { storeganise: s(1), zendesk: s(1) } },
    ]);
    assert.equal(back.agreedAt.storeganise.phone, s(9));
    const other = applyOutcomes(next, '2', [{ field: 'name', kind: 'unchanged' }]);
    assert.deepEqual(other.base, {});
    assert.equal(other.zendeskUserId, '2');
  });
});
