import assert from 'node:assert/strict';
import { planNewZendeskUser, planStoreganiseUpdate, planZendeskUpdate, suspensionNote, type SyncBase } from '../domain/plan';
import type { StoreganiseCustomer, SyncField, ZendeskContacts, ZendeskCustomer } from '../domain/records';
import type { AccountSettings } from '../domain/settings';

const settings: AccountSettings = { zendeskInstance: 'acme', webhookSecret: null, statusFieldKey: 'customer_status', nameFormat: 'first_last', defaultCountryCode: '+81' };
const now = new Date('2026-11-22T10:00:00Z');
const ALL: SyncField[] = ['email', 'name', 'phone', 'status', 'disabled'];

const sg = (over: Partial<StoreganiseCustomer> = {}): StoreganiseCustomer => ({
  id: '64f000000000000000000001',
  email: 'taro@example.com',
  firstName: 'Taro',
  lastName: 'Yamada',
  phone: '090-1234-5678',
  disabled: false,
  zendeskUserId: '10000000000001',
  otherEmails: [],
  otherPhones: [],
  updatedAt: '2026-11-22T09:00:00.000Z',
  ...over,
});
const zd = (over: Partial<ZendeskCustomer> = {}): ZendeskCustomer => ({
  id: '10000000000001',
  name: 'Taro Yamada',
  email: 'taro@example.com',
  phone: '+819012345678',
  externalId: '64f000000000000000000001',
  active: true,
  suspended: false,
  notes: '',
  userFields: { customer_status: 'new_prospect' },
  updatedAt: '2026-11-22T09:00:00Z',
  ...over,
});

describe('planZendeskUpdate (Storeganise → Zendesk)', () => {
  const cases: Array<{ name: string; sg?: Partial<StoreganiseCustomer>; zd?: Partial<ZendeskCustomer>; fields?: SyncField[]; base?: SyncBase; zendeskIsNewer?: boolean; status?: 'active' | 'new_prospect' | 'deactivated' | null; user: object; primaryEmail?: string | null; pointer?: string | null }> = [
    { name: 'equal records give no write', user: {}, status: 'new_prospect' },
    { name: 'a local phone equal to the E.164 one is no change', sg: { phone: '090 1234 5678' }, user: {} },
    { name: 'a new name is written', sg: { firstName: 'Jiro' }, user: { name: 'Jiro Yamada' } },
    { name: 'a name only differing in white space is no change', zd: { name: '  Taro   Yamada ' }, user: {} },
    { name: 'a last name `unknown` is left out', sg: { firstName: 'Cher', lastName: 'unknown' }, zd: { name: 'Cher' }, user: {} },
    { name: 'a new phone is written in E.164', sg: { phone: '03-1234-5678' }, user: { phone: '+81312345678' } },
    { name: 'an invalid phone is never written', sg: { phone: 'ask reception' }, user: {} },
    { name: 'an empty Storeganise phone does not erase the Zendesk one', sg: { phone: null }, user: {} },
    { name: 'a new email goes through the identities API, not the user update', sg: { email: 'new@example.com' }, user: {}, primaryEmail: 'new@example.com' },
    { name: 'an email differing only in case is no change', sg: { email: 'TARO@example.com' }, user: {} },
    { name: 'the status is written when it differs', status: 'active', user: { userFields: { customer_status: 'active' } } },
    { name: 'the status is not written when the field is absent on the user', zd: { userFields: {} }, status: 'active', user: {} },
    { name: 'disabling suspends, deactivates and notes', sg: { disabled: true }, status: 'deactivated', user: { suspended: true, notes: suspensionNote('64f000000000000000000001', now), userFields: { customer_status: 'deactivated' } } },
    { name: 'an already suspended user gets no second note', sg: { disabled: true }, zd: { suspended: true, userFields: { customer_status: 'deactivated' } }, status: 'deactivated', user: {} },
    { name: 're-enabling never unsuspends', zd: { suspended: true }, status: 'new_prospect', user: {} },
    { name: 'a missing external id is repaired', zd: { externalId: null }, user: { externalId: '64f000000000000000000001' } },
    { name: 'a missing Storeganise pointer is reported', sg: { zendeskUserId: null }, user: {}, pointer: '10000000000001' },
    { name: 'fields the event did not change are not compared', sg: { firstName: 'Jiro', phone: '03-1234-5678' }, fields: ['email'], user: {} },
    { name: 'Storeganise equal to the base does not overwrite a Zendesk change (three-way)', zd: { phone: '+81312345678' }, base: { phone: '+819012345678' }, user: {} },
    { name: 'Storeganise changed since the base wins over Zendesk', sg: { phone: '080-1111-2222' }, zd: { phone: '+81312345678' }, base: { phone: '+819012345678' }, user: { phone: '+818011112222' } },
    { name: 'a name unchanged since the base is not written back', zd: { name: 'Jiro Yamada' }, base: { name: 'Taro Yamada' }, user: {} },
    { name: 'an email unchanged since the base is not written back', zd: { email: 'elsewhere@example.com' }, base: { email: 'taro@example.com' }, user: {} },
    { name: 'both changed since the base, Storeganise later: Storeganise wins', sg: { phone: '080-1111-2222' }, zd: { phone: '+81312345678' }, base: { phone: '+819012345678' }, zendeskIsNewer: false, user: { phone: '+818011112222' } },
    { name: 'both changed since the base, Zendesk later: its edit stands', sg: { phone: '080-1111-2222' }, zd: { phone: '+81312345678' }, base: { phone: '+819012345678' }, zendeskIsNewer: true, user: {} },
    { name: 'without a base the event side wins even when Zendesk is newer', sg: { firstName: 'Jiro' }, zendeskIsNewer: true, user: { name: 'Jiro Yamada' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planZendeskUpdate(sg(c.sg), zd(c.zd), c.status === undefined ? 'new_prospect' : c.status, {
        settings,
        fields: c.fields ?? ALL,
        base: c.base ?? {},
        now,
        targetIsNewer: c.zendeskIsNewer ?? false,
      });
      assert.deepEqual(plan.user, c.user);
      assert.equal(plan.primaryEmail, c.primaryEmail ?? null);
      assert.equal(plan.storeganisePointer, c.pointer ?? null);
    });
  }

  it('the base after a sync holds the values both sides now agree on', () => {
    const plan = planZendeskUpdate(sg({ firstName: 'Jiro', email: 'JIRO@example.com' }), zd(), 'new_prospect', { settings, fields: ALL, base: {}, now, targetIsNewer: false });
    assert.deepEqual(plan.base, { name: 'Jiro Yamada', phone: '+819012345678', email: 'jiro@example.com' });
  });
});

describe('planNewZendeskUser', () => {
  it('puts name, email, E.164 phone, external id and status in one create', () => {
    assert.deepEqual(planNewZendeskUser(sg({ zendeskUserId: null }), 'new_prospect', { settings, now }), {
      name: 'Taro Yamada',
      email: 'taro@example.com',
      phone: '+819012345678',
      externalId: '64f000000000000000000001',
      suspended: false,
      notes: null,
      userFields: { customer_status: 'new_prospect' },
    });
  });
  it('a nameless customer is named by its email, as Zendesk requires a name', () => {
    assert.equal(planNewZendeskUser(sg({ firstName: '', lastName: '' }), 'new_prospect', { settings, now }).name, 'taro@example.com');
  });
  it('no status without a status field key; last_first order', () => {
    const user = planNewZendeskUser(sg(), 'active', { settings: { ...settings, statusFieldKey: null, nameFormat: 'last_first' }, now });
    assert.deepEqual(user.userFields, {});
    assert.equal(user.name, 'Yamada Taro');
  });
});

describe('planStoreganiseUpdate (Zendesk → Storeganise)', () => {
  const none: ZendeskContacts = { otherEmails: [], otherPhones: [] };
  const cases: Array<{ name: string; sg?: Partial<StoreganiseCustomer>; zd?: Partial<ZendeskCustomer>; contacts?: ZendeskContacts; fields?: SyncField[]; base?: SyncBase; storeganiseIsNewer?: boolean; changes: object; format?: 'first_last' | 'last_first' }> = [
    { name: 'equal records give no write', changes: {} },
    { name: 'a two-part name is split', zd: { name: 'Jiro Tanaka' }, changes: { firstName: 'Jiro', lastName: 'Tanaka' } },
    { name: 'a two-part name is split family name first in last_first', zd: { name: '山田 花子' }, format: 'last_first', sg: { firstName: '太郎', lastName: '山田' }, changes: { firstName: '花子' } },
    { name: 'a one-part name goes whole into firstName with lastName unknown', zd: { name: 'Madonna' }, changes: { firstName: 'Madonna', lastName: 'unknown' } },
    { name: 'a three-part name goes whole into firstName', zd: { name: 'Mary Ann Smith' }, changes: { firstName: 'Mary Ann Smith', lastName: 'unknown' } },
    { name: 'a name that came from Storeganise is stable (no write)', sg: { firstName: 'Mary Ann', lastName: 'Smith' }, zd: { name: 'Mary Ann Smith' }, changes: {} },
    { name: 'a nameless customer named by its email in Zendesk is stable', sg: { firstName: '', lastName: '' }, zd: { name: 'taro@example.com' }, changes: {} },
    { name: 'a new primary email is written', zd: { email: 'new@example.com' }, changes: { email: 'new@example.com' } },
    { name: 'a new phone is written in E.164', zd: { phone: '03 1234 5678' }, changes: { phone: '+81312345678' } },
    { name: 'an invalid Zendesk phone is never written', zd: { phone: '12' }, changes: {} },
    {
      name: 'other emails and phones reach the custom fields, primary excluded, E.164, deduplicated',
      contacts: { otherEmails: ['Second@Example.com', 'taro@example.com', 'second@example.com'], otherPhones: ['03-5555-0100', '+819012345678', 'nonsense'] },
      changes: { customFields: { zendesk_otherEmails: ['second@example.com'], zendesk_otherPhones: ['+81355550100'] } },
    },
    { name: 'unchanged other contacts are not rewritten', sg: { otherEmails: ['b@example.com'], otherPhones: ['+81355550100'] }, contacts: { otherEmails: ['b@example.com'], otherPhones: ['03 5555 0100'] }, changes: {} },
    { name: 'a missing pointer is written', sg: { zendeskUserId: null }, changes: { customFields: { zendesk_userId: '10000000000001' } } },
    { name: 'Zendesk equal to the base does not overwrite a Storeganise change (three-way)', sg: { phone: '080-1111-2222' }, base: { phone: '+819012345678' }, changes: {} },
    { name: 'a Zendesk name unchanged since the base is not written', zd: { name: 'Old Name' }, base: { name: 'Old Name' }, changes: {} },
    { name: 'link-only events compare no field', zd: { name: 'Other Name', phone: '+81312345678' }, fields: [], changes: {} },
    { name: 'both changed the name since the base, Zendesk later: Zendesk wins', sg: { lastName: 'Sato' }, zd: { name: 'Jiro Yamada' }, base: { name: 'Taro Yamada' }, storeganiseIsNewer: false, changes: { firstName: 'Jiro', lastName: 'Yamada' } },
    { name: 'both changed the name since the base, Storeganise later: its edit stands', sg: { lastName: 'Sato' }, zd: { name: 'Jiro Yamada' }, base: { name: 'Taro Yamada' }, storeganiseIsNewer: true, changes: {} },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { changes } = planStoreganiseUpdate(zd(c.zd), c.contacts ?? none, sg(c.sg), {
        settings: { ...settings, nameFormat: c.format ?? 'first_last' },
        fields: c.fields ?? ALL,
        base: c.base ?? {},
        targetIsNewer: c.storeganiseIsNewer ?? false,
      });
      assert.deepEqual(changes, c.changes);
    });
  }
});
