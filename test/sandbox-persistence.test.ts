import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UnreadableStateFile } from '../sandbox/common/state-file';
import { customerStatusField } from '../sandbox/installation';
import { startStoreganiseSandbox } from '../sandbox/storeganise';
import { startZendeskSandbox } from '../sandbox/zendesk';

/** The same records with the sandbox's base URL taken out, so two runs on different ports compare equal. */
function relative<T>(value: T, baseUrl: string): T {
  return JSON.parse(JSON.stringify(value).split(baseUrl).join('<sandbox>')) as T;
}

describe('Sandboxes that keep their records in a state file (npm start)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sg-sandbox-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a restarted Zendesk sandbox still has the users, identities, user fields, webhooks and live OAuth grants of the last run, and hands out no id twice', async () => {
    const stateFile = path.join(dir, 'zendesk.json');
    const first = await startZendeskSandbox({ stateFile });
    assert.equal(first.restored, false);
    await first.client.registerOAuthClient({ clientId: 'sync', clientSecret: 'client-secret' });
    await first.client.createAccount({ subdomain: 'acme', userFields: [customerStatusField('customer_status')] });
    const user = await first.client.createUser('acme', {
      name: 'Aoi Sato',
      email: 'aoi@example.com',
      phone: '+819012345678',
      external_id: 'sg-1',
      user_fields: { customer_status: 'active' },
    });
    await first.client.addIdentity('acme', user.id, { type: 'email', value: 'aoi.other@example.com' });
    const webhook = await first.client.createWebhook('acme', {
      name: 'sync',
      endpoint: 'http://127.0.0.1:1/hook',
      subscriptions: ['conditional_ticket_events'],
    });
    const token = await first.client.issueToken('acme', { clientId: 'sync' });
    const before = relative(
      { user: await first.client.getUser('acme', user.id), webhooks: await first.client.webhooks('acme') },
      first.url,
    );
    await first.close();

    const second = await startZendeskSandbox({ stateFile });
    try {
      assert.equal(second.restored, true);
      // Record URLs move with the port; everything else is as it was.
      assert.deepEqual(relative(await second.client.getUser('acme', user.id), second.url), before.user);
      assert.deepEqual(relative(await second.client.webhooks('acme'), second.url), before.webhooks);
      assert.equal(before.webhooks[0]?.id, webhook.id);
      // The access token issued before the restart still opens the API.
      const me = await fetch(`${second.urlTemplate.replace('{subdomain}', 'acme')}/api/v2/users/${user.id}.json`, {
        headers: { authorization: `Bearer ${token.access_token}` },
      });
      assert.equal(me.status, 200, await me.text());
      const unknown = await fetch(`${second.urlTemplate.replace('{subdomain}', 'acme')}/api/v2/users/${user.id}.json`, {
        headers: { authorization: 'Bearer not-a-token' },
      });
      assert.equal(unknown.status, 401, 'a token it never issued is still refused');
      const next = await second.client.createUser('acme', { name: 'Ren Kato', email: 'ren@example.com' });
      assert.ok(next.id > user.id, 'ids keep growing across the restart');
    } finally {
      await second.close();
    }
  });

  it('a restarted Storeganise sandbox still has the account, its users with custom fields, rentals, tasks and field definitions of the last run', async () => {
    const stateFile = path.join(dir, 'storeganise.json');
    const first = await startStoreganiseSandbox({ stateFile });
    assert.equal(first.restored, false);
    const account = await first.client.createAccount({
      subdomain: 'acme',
      addonApiKey: 'addon-key',
      webhookSecret: 'hook-secret',
      settings: { zendesk_instance: 'acme' },
    });
    await first.client.createCustomField('acme', {
      model: 'user',
      code: 'zendesk_userId',
      type: 'string',
      title: 'Zendesk user ID',
      ownerAcl: 'read',
    });
    const user = await first.client.createUser('acme', {
      firstName: 'Aoi',
      lastName: 'Sato',
      email: 'aoi@example.com',
      phone: '090-1234-5678',
      customFields: { zendesk_userId: '10000000000001' },
    });
    await first.client.moveIn('acme', { userId: user.id });
    const task = await fetch(`${account.apiUrl}/v1/admin/jobs`, {
      method: 'POST',
      headers: { authorization: `Addon ${account.addonId}|addon-key`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'task',
        ownerId: null,
        data: { targetType: 'addon', targetId: account.addonId, title: 'zendesk: Sync error', desc: 'x' },
      }),
    });
    assert.equal(task.status, 201);
    const before = {
      account: await first.client.getAccount('acme'),
      users: await first.client.listUsers('acme'),
      rentals: await first.client.listUnitRentals('acme'),
      jobs: await first.client.listJobs('acme'),
      fields: await first.client.listCustomFields('acme'),
    };
    await first.close();

    const second = await startStoreganiseSandbox({ stateFile });
    try {
      assert.equal(second.restored, true);
      const after = {
        account: await second.client.getAccount('acme'),
        users: await second.client.listUsers('acme'),
        rentals: await second.client.listUnitRentals('acme'),
        jobs: await second.client.listJobs('acme'),
        fields: await second.client.listCustomFields('acme'),
      };
      // The API root moves with the port; everything else is as it was.
      assert.deepEqual({ ...after.account, apiUrl: null }, { ...before.account, apiUrl: null });
      assert.deepEqual(after.users, before.users);
      assert.deepEqual(after.rentals, before.rentals);
      assert.deepEqual(after.jobs, before.jobs);
      assert.deepEqual(after.fields, before.fields);
      assert.equal(after.users[0]?.customFields?.zendesk_userId, '10000000000001');
    } finally {
      await second.close();
    }
  });

  it('a sandbox without a state file starts empty, and a state file that cannot be read stops the start with a message naming it and the way out', async () => {
    const plain = await startStoreganiseSandbox();
    try {
      assert.equal(plain.restored, false);
      assert.deepEqual(await plain.client.listAccounts(), []);
    } finally {
      await plain.close();
    }
    const broken = path.join(dir, 'storeganise.json');
    writeFileSync(broken, '{"version": 1, "accounts": [{"subdomain": 3}]}');
    await assert.rejects(
      startStoreganiseSandbox({ stateFile: broken }),
      (err: unknown) =>
        err instanceof UnreadableStateFile &&
        err.message.includes(broken) &&
        err.message.includes('npm start -- --reset'),
    );
    writeFileSync(broken, 'not json');
    await assert.rejects(startZendeskSandbox({ stateFile: broken }), UnreadableStateFile);
  });
});
