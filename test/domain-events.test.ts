import assert from 'node:assert/strict';
import { normaliseZendeskEventType, storeganiseUserEventFields, zendeskEventFields, zendeskEventSyncFields, zendeskWebhookSubscriptions } from '../domain/events';

describe('which events the sync acts on', () => {
  const zendesk: Array<[string, string[] | null]> = [
    ['zen:event-type:user.created', ['email', 'name', 'phone']],
    ['zen:event-type:user.name_changed', ['name']],
    ['zen:event-type/user.identity_changed', ['email', 'phone']],
    ['zen:event-type:user.identity_created', ['email', 'phone']],
    ['zen:event-type:user.identity_deleted', ['email', 'phone']],
    ['zen:event-type:user.external_id_changed', []],
    ['zen:event-type/user.merged', []],
    ['zen:event-type:user.last_login_changed', null],
    ['zen:event-type:ticket.created', null],
    ['user.name_changed', null],
  ];
  for (const [type, fields] of zendesk) {
    it(`Zendesk ${type} → ${fields === null ? 'ignored' : `[${fields.join(', ')}]`}`, () => {
      assert.deepEqual(zendeskEventFields(type), fields);
    });
  }

  it('an event of a Zendesk user not linked when it changed only links', () => {
    assert.deepEqual(zendeskEventSyncFields('zen:event-type:user.name_changed', null), []);
    assert.deepEqual(zendeskEventSyncFields('zen:event-type:user.name_changed', '64f0'), ['name']);
    assert.equal(zendeskEventSyncFields('zen:event-type:user.last_login_changed', '64f0'), null);
  });

  it('normalises the slash spelling only', () => {
    assert.equal(normaliseZendeskEventType('zen:event-type/user.merged'), 'zen:event-type:user.merged');
    assert.equal(normaliseZendeskEventType('zen:event-type:user.merged'), 'zen:event-type:user.merged');
  });

  it('subscribes the webhook to exactly the recognised user events', () => {
    for (const type of zendeskWebhookSubscriptions()) assert.notEqual(zendeskEventFields(type), null, type);
  });

  const storeganise: Array<[string, string[] | null, string[] | null]> = [
    ['user.created', null, ['email', 'name', 'phone', 'status', 'disabled']],
    ['user.updated', null, ['email', 'name', 'phone', 'status', 'disabled']],
    ['user.updated', ['firstName'], ['name', 'status']],
    ['user.updated', ['email', 'phone'], ['email', 'phone', 'status']],
    ['user.updated', ['disabled'], ['status', 'disabled']],
    ['user.updated', ['language'], null],
    ['user.updated', ['customFields.zendesk_userId'], null],
    ['user.updated', ['customFields.zendesk_otherEmails', 'customFields.zendesk_otherPhones'], null],
    ['user.disabled', null, ['status', 'disabled']],
    ['invoice.created', null, null],
  ];
  for (const [type, keys, fields] of storeganise) {
    it(`Storeganise ${type} ${keys ? `[${keys.join(', ')}]` : ''} → ${fields === null ? 'ignored' : `[${fields.join(', ')}]`}`, () => {
      assert.deepEqual(storeganiseUserEventFields(type, keys), fields);
    });
  }
});
