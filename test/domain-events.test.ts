import assert from 'node:assert/strict';
import {
  isZendeskUserEvent,
  normaliseZendeskEventType,
  storeganiseUserEventEffect,
  zendeskEventEffect,
  zendeskWebhookSubscriptions,
  type EventEffect,
  type ZendeskEventBody,
} from '../domain/events';

describe('what each event means to the sync', () => {
  const other: ZendeskEventBody = { kind: 'other' };
  const identity = (type: string, value: string, primary: boolean, wasPrimary: boolean): ZendeskEventBody => ({
    kind: 'identity',
    type,
    value,
    primary,
    wasPrimary,
  });
  const zendesk: Array<[string, string, ZendeskEventBody, EventEffect | null]> = [
    [
      'a user created in Zendesk: every field, the email with the value detail reports',
      'zen:event-type:user.created',
      other,
      {
        fields: ['email', 'name', 'phone'],
        edits: [{ field: 'email', value: 'a@example.com' }, { field: 'name' }, { field: 'phone' }],
        contactsChanged: true,
      },
    ],
    [
      'a name change: the name, with its new value',
      'zen:event-type:user.name_changed',
      { kind: 'name', current: 'Ann Lee' },
      { fields: ['name'], edits: [{ field: 'name', value: 'Ann Lee' }], contactsChanged: false },
    ],
    [
      'a name change of unexpected shape: the name, value unknown',
      'zen:event-type:user.name_changed',
      other,
      { fields: ['name'], edits: [{ field: 'name' }], contactsChanged: false },
    ],
    [
      'the primary email changed: the email as detail reports it',
      'zen:event-type/user.identity_changed',
      identity('email', 'b@example.com', true, true),
      { fields: ['email'], edits: [{ field: 'email', value: 'a@example.com' }], contactsChanged: false },
    ],
    [
      'a secondary promoted to primary: the email, and the other emails changed too',
      'zen:event-type/user.identity_changed',
      identity('email', 'b@example.com', true, false),
      { fields: ['email'], edits: [{ field: 'email', value: 'a@example.com' }], contactsChanged: true },
    ],
    [
      'a secondary email added: only the other emails',
      'zen:event-type/user.identity_created',
      identity('email', 'c@example.com', false, false),
      { fields: ['email'], edits: [], contactsChanged: true },
    ],
    [
      'the primary phone changed: the phone with its value',
      'zen:event-type/user.identity_changed',
      identity('phone_number', '+81901234567', true, true),
      { fields: ['phone'], edits: [{ field: 'phone', value: '+81901234567' }], contactsChanged: false },
    ],
    [
      'the primary phone deleted: the phone, value unknown',
      'zen:event-type:user.identity_deleted',
      identity('phone_number', '+81901234567', false, true),
      { fields: ['phone'], edits: [{ field: 'phone' }], contactsChanged: true },
    ],
    [
      'a twitter identity: nothing synced',
      'zen:event-type/user.identity_created',
      identity('twitter', 'x', true, false),
      null,
    ],
    [
      'an external id change: links only',
      'zen:event-type:user.external_id_changed',
      other,
      { fields: [], edits: [], contactsChanged: false },
    ],
    ['a merge: links only', 'zen:event-type/user.merged', other, { fields: [], edits: [], contactsChanged: false }],
    [
      'a deletion: the run finds the user gone and records it',
      'zen:event-type:user.active_changed',
      other,
      { fields: [], edits: [], contactsChanged: false },
    ],
    [
      'a permanent deletion: the same',
      'zen:event-type:user.deleted',
      other,
      { fields: [], edits: [], contactsChanged: false },
    ],
    ['a login: ignored', 'zen:event-type:user.last_login_changed', other, null],
    ['a ticket event: ignored', 'zen:event-type:ticket.created', other, null],
  ];
  for (const [behaviour, type, body, effect] of zendesk) {
    it(`Zendesk: ${behaviour}`, () => {
      assert.deepEqual(zendeskEventEffect(type, body, 'a@example.com'), effect);
      if (effect !== null) assert.ok(isZendeskUserEvent(type));
    });
  }

  it('normalises the slash spelling only', () => {
    assert.equal(normaliseZendeskEventType('zen:event-type/user.merged'), 'zen:event-type:user.merged');
    assert.equal(normaliseZendeskEventType('zen:event-type:user.merged'), 'zen:event-type:user.merged');
  });

  it('subscribes the webhook to exactly the recognised user events', () => {
    for (const type of zendeskWebhookSubscriptions()) assert.ok(isZendeskUserEvent(type), type);
    assert.equal(isZendeskUserEvent('zen:event-type:user.last_login_changed'), false);
  });

  const storeganise: Array<[string, string[] | null, Pick<EventEffect, 'fields' | 'edits'> | null]> = [
    [
      'user.created',
      null,
      {
        fields: ['email', 'name', 'phone', 'status', 'disabled'],
        edits: [{ field: 'email' }, { field: 'name' }, { field: 'phone' }],
      },
    ],
    [
      'user.updated',
      null,
      {
        fields: ['email', 'name', 'phone', 'status', 'disabled'],
        edits: [{ field: 'email' }, { field: 'name' }, { field: 'phone' }],
      },
    ],
    ['user.updated', ['firstName'], { fields: ['name'], edits: [{ field: 'name' }] }],
    [
      'user.updated',
      ['email', 'phone'],
      { fields: ['email', 'phone'], edits: [{ field: 'email' }, { field: 'phone' }] },
    ],
    ['user.updated', ['disabled'], { fields: ['status', 'disabled'], edits: [] }],
    ['user.updated', ['language'], null],
    ['user.updated', ['customFields.zendesk_userId'], null],
    ['user.updated', ['customFields.zendesk_otherEmails', 'customFields.zendesk_otherPhones'], null],
    ['user.disabled', null, { fields: ['status', 'disabled'], edits: [] }],
    ['invoice.created', null, null],
  ];
  for (const [type, keys, effect] of storeganise) {
    it(`Storeganise ${type} ${keys ? `[${keys.join(', ')}]` : ''} → ${effect === null ? 'ignored' : `[${effect.fields.join(', ')}]`}`, () => {
      const actual = storeganiseUserEventEffect(type, keys);
      assert.deepEqual(actual && { fields: actual.fields, edits: actual.edits }, effect);
    });
  }
});
