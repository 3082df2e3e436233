import assert from 'node:assert/strict';
import { USER_CUSTOM_FIELDS, ZENDESK_USER_ID_FIELD } from '../adapters/storeganise';
import { AUTHORIZE_TASK_TITLE, INVALID_SETTINGS_TASK_TITLE, SYNC_ERROR_TITLE } from '../domain/tasks';
import { accountQuery, accountWorkflowId } from '../workflows/definitions';
import { AccountView, uniqueEmail } from './support/customers';
import { eventually, sleep } from './support/eventually';
import { operatorCall } from './support/signed-requests';
import { STATUS_FIELD_KEY, TestSystem } from './support/system';

const FIELD_CODES = USER_CUSTOM_FIELDS.map((f) => f.code).sort();

describe('First hour: fields that heal and an authorize task that closes', function () {
  this.timeout(120_000);
  let system: TestSystem;

  before(async function () {
    this.timeout(180_000);
    system = await TestSystem.start();
  });
  after(async () => system?.close());

  describe('custom fields deleted mid-life', () => {
    let acme: AccountView;
    before(async () => {
      acme = new AccountView(system, await system.addAccount());
    });

    const userFieldCodes = async (): Promise<string[]> =>
      (await system.storeganise.client.listCustomFields(acme.account.subdomain, { model: 'user' }))
        .map((f) => f.code)
        .sort();

    it('after an admin deletes the zendesk_* user fields, a new customer is still linked and a Zendesk edit still reaches Storeganise, with no Sync error task', async () => {
      const earlier = await acme.createLinkedCustomer({ firstName: 'Rin', lastName: 'Mori' });
      assert.deepEqual(await userFieldCodes(), FIELD_CODES, 'activation created the three fields');

      for (const code of FIELD_CODES) await system.storeganise.client.deleteCustomField(acme.account.subdomain, code);
      // The deletion is real: no field is left, and the pointer went with its field.
      assert.deepEqual(await userFieldCodes(), []);
      assert.equal((await acme.sgUser(earlier.sgId)).customFields?.[ZENDESK_USER_ID_FIELD], undefined);
      const mark = await acme.mark();

      const newcomer = await system.storeganise.client.createUser(acme.account.subdomain, {
        firstName: 'Sena',
        lastName: 'Kudo',
        email: uniqueEmail('sena'),
      });
      const zdId = await eventually(async () => {
        const pointer = (await acme.sgUser(newcomer.id)).customFields?.[ZENDESK_USER_ID_FIELD];
        assert.equal(typeof pointer, 'string', 'the new customer is not linked yet');
        return Number(pointer);
      });
      assert.equal((await acme.zdUser(zdId)).external_id, newcomer.id, 'linked both ways');
      assert.deepEqual(await userFieldCodes(), FIELD_CODES, 'the fields are there again');

      // What happened on the way: the link write was refused for the missing field, the fields were
      // created again (as on activation), and the write was retried.
      const requests = await acme.storeganiseRequests(mark);
      const writes = requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/users/${newcomer.id}`));
      assert.equal(writes[0]?.status, 400, 'the first write was refused');
      assert.equal(writes.at(-1)?.status, 200, 'the retried write went through');
      assert.equal(
        requests.filter((r) => r.method === 'POST' && /\/custom-fields$/.test(r.path) && r.status === 201).length,
        FIELD_CODES.length,
      );

      // The customer linked before the deletion keeps syncing: its Zendesk edit arrives and its pointer is repaired.
      await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, earlier.zdId, { name: 'Rin Moriyama' });
      await eventually(async () => {
        const user = await acme.sgUser(earlier.sgId);
        assert.equal(user.lastName, 'Moriyama');
        assert.equal(user.customFields?.[ZENDESK_USER_ID_FIELD], String(earlier.zdId));
      });
      await system.settle(acme.account);
      assert.deepEqual(await acme.tasks(SYNC_ERROR_TITLE), [], 'no Sync error task');
      assert.equal((await acme.zdUsersWithExternalId(newcomer.id)).length, 1, 'one Zendesk user for the newcomer');
      assert.equal(
        (await acme.zdUsersWithExternalId(earlier.sgId)).length,
        1,
        'no second Zendesk user for the earlier customer',
      );
    });
  });

  describe('the authorize task', () => {
    it('is marked done in Storeganise when the authorization succeeds, while it stays open until then', async () => {
      const account = await system.addAccount({ authorize: false });
      const [task] = await system.tasks(account, AUTHORIZE_TASK_TITLE);
      assert.ok(task);
      // Until the operator acts, the task is open, and stays so.
      await sleep(1_500);
      assert.equal((await system.tasks(account, AUTHORIZE_TASK_TITLE))[0]?.state, 'ready', 'open before authorization');

      const done = await system.authorize(account);
      assert.equal(done.status, 200, done.body);
      await eventually(async () => {
        const [closed, ...more] = await system.tasks(account, AUTHORIZE_TASK_TITLE);
        assert.deepEqual(more, []);
        assert.equal(closed?.id, task.id);
        assert.equal(closed?.state, 'completed');
        assert.equal(closed?.steps?.[0]?.state, 'completed');
      });
      const closing = await system.storeganise.client.requests({
        account: account.subdomain,
        method: 'PUT',
        path: '/jobs/',
      });
      assert.deepEqual(
        closing.map((r) => [r.path.replace(/^.*\/v1\/admin/, ''), r.status]),
        [[`/jobs/${task.id}/steps/${task.steps?.[0]?.id ?? ''}`, 200]],
        'closed through the jobs API, once',
      );
    });

    it('a task raised after the authorization, when access is lost again, stays open until the next authorization, and other tasks are never closed', async () => {
      const account = await system.addAccount({ authorize: false, settings: { zendesk_nameFormat: 'sideways' } });
      const view = new AccountView(system, account);
      const settingsTask = await eventually(async () => {
        const [task, ...more] = await view.tasks(INVALID_SETTINGS_TASK_TITLE);
        assert.ok(task, 'no Invalid settings task yet');
        assert.deepEqual(more, []);
        return task;
      });
      await system.storeganise.client.updateAccount(account.subdomain, {
        settings: {
          zendesk_instance: account.zendeskSubdomain,
          zendesk_defaultCountryCode: '+81',
          zendesk_statusFieldKey: STATUS_FIELD_KEY,
          zendesk_nameFormat: 'first_last',
        },
      });
      assert.equal(
        (await operatorCall(system, 'POST', `/operator/accounts/${account.subdomain}/recheck-settings`)).status,
        202,
      );
      await eventually(async () => assert.equal((await system.authorize(account)).status, 200), { timeoutMs: 30_000 });
      await eventually(async () => assert.equal((await view.tasks(AUTHORIZE_TASK_TITLE))[0]?.state, 'completed'));

      // Access revoked: the next Zendesk call raises a new authorize task, which stays open while access is missing.
      await system.zendesk.client.revokeOAuth(account.zendeskSubdomain);
      await system.storeganise.client.createUser(account.subdomain, {
        firstName: 'Yuto',
        lastName: 'Abe',
        email: uniqueEmail('yuto'),
      });
      const second = await eventually(async () => {
        const [, task, ...more] = await view.tasks(AUTHORIZE_TASK_TITLE);
        assert.ok(task, 'no second authorize task yet');
        assert.deepEqual(more, []);
        return task;
      });
      await sleep(1_500);
      assert.equal((await view.tasks(AUTHORIZE_TASK_TITLE))[1]?.state, 'ready');
      assert.equal(
        (await system.client.workflow.getHandle(accountWorkflowId(account.subdomain)).query(accountQuery)).connection,
        'awaiting-authorization',
      );

      assert.equal((await system.authorize(account)).status, 200);
      await eventually(async () =>
        assert.equal((await view.tasks(AUTHORIZE_TASK_TITLE)).find((t) => t.id === second.id)?.state, 'completed'),
      );
      assert.equal(
        (await view.tasks(INVALID_SETTINGS_TASK_TITLE)).find((t) => t.id === settingsTask.id)?.state,
        'ready',
        'a task about something else is left to the operator',
      );
    });
  });
});
