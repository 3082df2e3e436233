import assert from 'node:assert/strict';
import { applyOutcomes, emptyFacts, type PairFacts } from '../domain/convergence';
import {
  landedWrites,
  outcomesOf,
  planNewZendeskUser,
  planPair,
  suspensionNote,
  unconfirmedWrites,
  type PairRead,
} from '../domain/pair-plan';
import type { StoreganiseCustomer, SyncField, ZendeskContacts, ZendeskCustomer } from '../domain/records';
import type { AccountSettings } from '../domain/settings';

const settings: AccountSettings = {
  zendeskInstance: 'acme',
  webhookSecret: null,
  statusFieldKey: 'customer_status',
  nameFormat: 'first_last',
  defaultCountryCode: '+81',
};
const now = Date.parse('2026-11-22T10:00:00Z');
const ALL: SyncField[] = ['email', 'name', 'phone', 'status', 'disabled'];
const T0 = Date.parse('2026-11-22T09:00:00Z');
const SG_ID = '64f000000000000000000001';
const ZD_ID = '10000000000001';

const sg = (over: Partial<StoreganiseCustomer> = {}): StoreganiseCustomer => ({
  id: SG_ID,
  email: 'taro@example.com',
  firstName: 'Taro',
  lastName: 'Yamada',
  phone: '090-1234-5678',
  disabled: false,
  zendeskUserId: ZD_ID,
  otherEmails: [],
  otherPhones: [],
  updatedAt: new Date(T0).toISOString(),
  ...over,
});
const zd = (over: Partial<ZendeskCustomer> = {}): ZendeskCustomer => ({
  id: ZD_ID,
  name: 'Taro Yamada',
  email: 'taro@example.com',
  phone: '+819012345678',
  externalId: SG_ID,
  active: true,
  suspended: false,
  notes: '',
  userFields: { customer_status: 'new_prospect' },
  updatedAt: '2026-11-22T09:00:00Z',
  ...over,
});
/** Facts of a pair that last agreed on Taro Yamada, his email and phone, at T0 on both sides. */
const agreed = (): PairFacts => {
  const facts = emptyFacts(ZD_ID);
  facts.base = { email: 'taro@example.com', name: 'Taro Yamada', phone: '+819012345678' };
  for (const side of ['storeganise', 'zendesk'] as const) facts.agreedAt[side] = { email: T0, name: T0, phone: T0 };
  return facts;
};
const at = (minutes: number): number => T0 + minutes * 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const isoSeconds = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

function plan(c: {
  sg?: Partial<StoreganiseCustomer>;
  zd?: Partial<ZendeskCustomer>;
  contacts?: ZendeskContacts;
  fields?: SyncField[];
  facts?: PairFacts;
  status?: 'active' | 'new_prospect' | 'deactivated' | null;
  format?: 'first_last' | 'last_first';
  linkOnly?: boolean;
}) {
  const read: PairRead = {
    storeganise: sg(c.sg),
    zendesk: zd(c.zd),
    contacts: c.contacts ?? { otherEmails: [], otherPhones: [] },
    status: c.status === undefined ? 'new_prospect' : c.status,
  };
  return planPair(read, {
    settings: { ...settings, nameFormat: c.format ?? 'first_last' },
    fields: new Set(c.fields ?? ALL),
    facts: c.facts ?? agreed(),
    now,
    linkOnly: c.linkOnly ?? false,
  });
}

describe('planning the writes of a linked pair', () => {
  const cases: Array<{
    name: string;
    input: Parameters<typeof plan>[0];
    zendesk?: object;
    storeganise?: object;
    primaryEmail?: string | null;
  }> = [
    { name: 'equal records give no write', input: {} },
    { name: 'a local phone equal to the E.164 one is no change', input: { sg: { phone: '090 1234 5678' } } },
    { name: 'a name only differing in white space is no change', input: { zd: { name: '  Taro   Yamada ' } } },
    {
      name: 'a last name `unknown` is left out',
      input: { sg: { firstName: 'Cher', lastName: 'unknown' }, zd: { name: 'Cher' } },
    },
    { name: 'an email differing only in case is no change', input: { sg: { email: 'TARO@example.com' } } },
    {
      name: 'a name changed in Storeganise is written to Zendesk',
      input: { sg: { firstName: 'Jiro' } },
      zendesk: { name: 'Jiro Yamada' },
    },
    {
      name: 'a phone changed in Storeganise reaches Zendesk in E.164',
      input: { sg: { phone: '03-1234-5678' } },
      zendesk: { phone: '+81312345678' },
    },
    { name: 'an invalid phone is never written', input: { sg: { phone: 'ask reception' } } },
    { name: 'an emptied Storeganise phone does not erase the Zendesk one', input: { sg: { phone: null } } },
    {
      name: 'an email changed in Storeganise goes through the identities API, not the user update',
      input: { sg: { email: 'new@example.com' } },
      primaryEmail: 'new@example.com',
    },
    {
      name: 'a two-part Zendesk name is split into Storeganise',
      input: { zd: { name: 'Jiro Tanaka' } },
      storeganise: { firstName: 'Jiro', lastName: 'Tanaka' },
    },
    {
      name: 'a one-part Zendesk name goes whole into firstName with lastName unknown',
      input: { zd: { name: 'Madonna' } },
      storeganise: { firstName: 'Madonna', lastName: 'unknown' },
    },
    {
      name: 'a three-part Zendesk name goes whole into firstName',
      input: { zd: { name: 'Mary Ann Smith' } },
      storeganise: { firstName: 'Mary Ann Smith', lastName: 'unknown' },
    },
    {
      name: 'a last_first name is split family name first',
      input: {
        format: 'last_first',
        sg: { firstName: '太郎', lastName: '山田' },
        zd: { name: '山田 花子' },
        facts: { ...agreed(), base: { ...agreed().base, name: '山田 太郎' } },
      },
      storeganise: { firstName: '花子', lastName: '山田' },
    },
    {
      // A person's edit of the unchanged part, landing between the read and the write, would
      // otherwise leave a name neither side holds.
      name: 'a name goes to Storeganise whole, the part that did not change included',
      input: { zd: { name: 'Jiro Yamada' } },
      storeganise: { firstName: 'Jiro', lastName: 'Yamada' },
    },
    {
      name: 'a name that came from Storeganise is stable',
      input: { sg: { firstName: 'Mary Ann', lastName: 'Smith' }, zd: { name: 'Mary Ann Smith' } },
    },
    {
      name: 'a nameless customer named by its email in Zendesk is stable',
      input: { sg: { firstName: '', lastName: '' }, zd: { name: 'taro@example.com' } },
    },
    {
      name: 'a Zendesk email change reaches Storeganise',
      input: { zd: { email: 'new@example.com' } },
      storeganise: { email: 'new@example.com' },
    },
    { name: 'an invalid Zendesk phone is never written', input: { zd: { phone: '12' } } },
    {
      name: 'other emails and phones reach the custom fields, primary excluded, E.164, deduplicated',
      input: {
        contacts: {
          otherEmails: ['Second@Example.com', 'taro@example.com', 'second@example.com'],
          otherPhones: ['03-5555-0100', '+819012345678', 'nonsense'],
        },
      },
      storeganise: {
        customFields: { zendesk_otherEmails: ['second@example.com'], zendesk_otherPhones: ['+81355550100'] },
      },
    },
    {
      name: 'unchanged other contacts are not rewritten',
      input: {
        sg: { otherEmails: ['b@example.com'], otherPhones: ['+81355550100'] },
        contacts: { otherEmails: ['b@example.com'], otherPhones: ['03 5555 0100'] },
      },
    },
    {
      name: 'the status is written when it differs',
      input: { status: 'active' },
      zendesk: { userFields: { customer_status: 'active' } },
    },
    {
      name: 'the status is not written when the field is absent on the user',
      input: { zd: { userFields: {} }, status: 'active' },
    },
    {
      name: 'disabling suspends, deactivates and notes',
      input: { sg: { disabled: true }, status: 'deactivated' },
      zendesk: {
        suspended: true,
        notes: suspensionNote(SG_ID, new Date(now)),
        userFields: { customer_status: 'deactivated' },
      },
    },
    {
      name: 'an already suspended user gets no second note',
      input: {
        sg: { disabled: true },
        zd: { suspended: true, userFields: { customer_status: 'deactivated' } },
        status: 'deactivated',
      },
    },
    { name: 're-enabling never unsuspends', input: { zd: { suspended: true } } },
    { name: 'a missing external id is repaired', input: { zd: { externalId: null } }, zendesk: { externalId: SG_ID } },
    {
      name: 'a missing Storeganise pointer is repaired',
      input: { sg: { zendeskUserId: null } },
      storeganise: { customFields: { zendesk_userId: ZD_ID } },
    },
    {
      name: 'fields the events did not name are not compared',
      input: { sg: { firstName: 'Jiro', phone: '03-1234-5678' }, fields: ['email'] },
    },
    {
      name: 'first contact links and copies nothing',
      input: {
        sg: { zendeskUserId: null },
        zd: { externalId: null, name: 'Other Name', phone: '+81312345678' },
        linkOnly: true,
      },
      zendesk: { externalId: SG_ID },
      storeganise: { customFields: { zendesk_userId: ZD_ID } },
    },
    {
      name: 'only Zendesk changed the phone: Storeganise still equal to the base takes it',
      input: { zd: { phone: '+81312345678' } },
      storeganise: { phone: '+81312345678' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const planned = plan(c.input);
      assert.deepEqual(planned.zendesk, c.zendesk ?? {});
      assert.deepEqual(planned.storeganise, c.storeganise ?? {});
      assert.equal(planned.zendeskPrimaryEmail, c.primaryEmail ?? null);
    });
  }

  describe('the same field changed on both sides', () => {
    const both = (sgAt: number, zdAt: number, options: { sgUpdated?: number; zdValue?: string } = {}): PairFacts => {
      const facts = agreed();
      facts.edited.storeganise.phone = { at: sgAt };
      facts.edited.zendesk.phone = { at: zdAt, value: options.zdValue ?? '+81312345678' };
      return facts;
    };
    const input = (facts: PairFacts, sgUpdated: number, zdUpdated: number) => ({
      sg: { phone: '080-1111-2222', updatedAt: iso(sgUpdated) },
      zd: { phone: '+81312345678', updatedAt: isoSeconds(zdUpdated) },
      facts,
    });

    it('the Storeganise edit made later wins: Zendesk gets it, Storeganise is not written', () => {
      const planned = plan(input(both(at(2), at(1)), at(2), at(1)));
      assert.deepEqual(planned.zendesk, { phone: '+818011112222' });
      assert.deepEqual(planned.storeganise, {});
    });

    it('the Zendesk edit made later wins, however late its event runs', () => {
      const planned = plan(input(both(at(1), at(2)), at(1), at(2)));
      assert.deepEqual(planned.storeganise, { phone: '+81312345678' });
      assert.deepEqual(planned.zendesk, {});
    });

    it("the sync's own later write to the other side's record does not make an older edit win", () => {
      // Zendesk's edit (20 s ago) is newer than Storeganise's (30 s ago); Storeganise's record changed 10 s ago for another reason.
      const ago = (seconds: number): number => now - seconds * 1000;
      const facts = both(ago(30), ago(20));
      const planned = plan({ ...input(facts, ago(10), ago(20)), fields: ['phone'] });
      const decision = planned.fields.find((f) => f.field === 'phone')?.decision;
      // Whether an edit of the phone hides behind that change is unknown until its event arrives or the wait is over.
      assert.equal(decision?.kind, 'defer');
      assert.deepEqual(planned.zendesk, {});
    });

    it('an edit no event explained yet waits rather than guessing, while its event may still come', () => {
      const facts = agreed();
      facts.edited.zendesk.phone = { at: at(50), value: '+81312345678' };
      const planned = plan({
        sg: { phone: '080-1111-2222', updatedAt: iso(now - 5_000) },
        zd: { phone: '+81312345678', updatedAt: isoSeconds(at(50)) },
        facts,
      });
      assert.equal(planned.fields.find((f) => f.field === 'phone')?.decision.kind, 'defer');
    });
  });

  it('what a run establishes: agreed fields at the read times, written fields at the write time', () => {
    const read: PairRead = { storeganise: sg({ firstName: 'Jiro' }), zendesk: zd(), contacts: null, status: null };
    const planned = planPair(read, {
      settings,
      fields: new Set(['name', 'email']),
      facts: agreed(),
      now,
      linkOnly: false,
    });
    const written = at(30);
    const outcomes = outcomesOf(planned, read, {
      zendesk: { written: true, email: null, updatedAt: written },
      storeganise: { written: false, email: null, updatedAt: null },
    });
    assert.deepEqual(outcomes, [
      { field: 'email', kind: 'agreed', value: 'taro@example.com', at: { storeganise: T0, zendesk: T0 } },
      { field: 'name', kind: 'agreed', value: 'Jiro Yamada', at: { storeganise: T0, zendesk: written } },
    ]);
    const refused = outcomesOf(planned, read, {
      zendesk: { written: false, email: null, updatedAt: null },
      storeganise: { written: false, email: null, updatedAt: null },
    });
    assert.deepEqual(
      refused.find((o) => o.field === 'name'),
      { field: 'name', kind: 'unchanged' },
    );
  });
});

describe('a copy whose answer was lost', () => {
  // Zendesk's name went Taro → Jiro at 1 min; the run copied Jiro to Storeganise and lost the answer.
  // Zendesk's name went on to Saburo at 2 min (stamped in whole seconds); the copy landed 400 ms later.
  const first: PairRead = {
    storeganise: sg(),
    zendesk: zd({ name: 'Jiro Yamada', updatedAt: isoSeconds(at(1)) }),
    contacts: null,
    status: null,
  };
  const firstFacts = agreed();
  firstFacts.edited.zendesk.name = { at: at(1), value: 'Jiro Yamada' };
  const context = { settings, fields: new Set<SyncField>(['name']), now: at(2) + 5_000, linkOnly: false };
  const copy = planPair(first, { ...context, facts: firstFacts });
  const landedAt = at(2) + 400;
  const retry: PairRead = {
    storeganise: sg({ firstName: 'Jiro', updatedAt: iso(landedAt) }),
    zendesk: zd({ name: 'Saburo Yamada', updatedAt: isoSeconds(at(2)) }),
    contacts: null,
    status: null,
  };
  // What the entity knows by the next run: the copy's echo, and Zendesk's later edit.
  const laterFacts = agreed();
  laterFacts.edited.storeganise.name = { at: landedAt };
  laterFacts.edited.zendesk.name = { at: at(2), value: 'Saburo Yamada' };

  it("the copy's echo, taken for a person's edit, would win over the newer Zendesk edit", () => {
    assert.deepEqual(copy.storeganise, { firstName: 'Jiro', lastName: 'Yamada' });
    assert.deepEqual(planPair(retry, { ...context, facts: laterFacts }).zendesk, { name: 'Jiro Yamada' });
  });

  it('once the copy is known to have landed, the newer Zendesk edit wins', () => {
    const sent = unconfirmedWrites(copy, first);
    assert.deepEqual(sent, [{ field: 'name', side: 'storeganise', value: 'Jiro Yamada', sourceAt: at(1) }]);
    const landed = landedWrites(retry, laterFacts, settings, sent);
    assert.deepEqual(landed, [
      { field: 'name', kind: 'agreed', value: 'Jiro Yamada', at: { storeganise: landedAt, zendesk: at(1) } },
    ]);
    const planned = planPair(retry, { ...context, facts: applyOutcomes(laterFacts, ZD_ID, landed) });
    assert.deepEqual(planned.storeganise, { firstName: 'Saburo', lastName: 'Yamada' });
    assert.deepEqual(planned.zendesk, {});
  });

  it('a copy that did not land changes nothing', () => {
    const notLanded: PairRead = { ...retry, storeganise: sg({ updatedAt: iso(at(0)) }) };
    assert.deepEqual(landedWrites(notLanded, laterFacts, settings, unconfirmedWrites(copy, first)), []);
  });
});

describe('planning a new Zendesk user', () => {
  it('puts name, email, E.164 phone, external id and status in one create', () => {
    assert.deepEqual(planNewZendeskUser(sg({ zendeskUserId: null }), 'new_prospect', { settings, now }), {
      name: 'Taro Yamada',
      email: 'taro@example.com',
      phone: '+819012345678',
      externalId: SG_ID,
      suspended: false,
      notes: null,
      userFields: { customer_status: 'new_prospect' },
    });
  });
  it('a nameless customer is named by its email, as Zendesk requires a name', () => {
    assert.equal(
      planNewZendeskUser(sg({ firstName: '', lastName: '' }), 'new_prospect', { settings, now }).name,
      'taro@example.com',
    );
  });
  it('no status without a status field key; last_first order', () => {
    const user = planNewZendeskUser(sg(), 'active', {
      settings: { ...settings, statusFieldKey: null, nameFormat: 'last_first' },
      now,
    });
    assert.deepEqual(user.userFields, {});
    assert.equal(user.name, 'Yamada Taro');
  });
  it('a disabled customer is created suspended and deactivated', () => {
    const user = planNewZendeskUser(sg({ disabled: true }), 'active', { settings, now });
    assert.equal(user.suspended, true);
    assert.deepEqual(user.userFields, { customer_status: 'deactivated' });
  });
});
