import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { WorkflowNotFoundError } from '@temporalio/client';
import { AUTHORIZE_TASK_TITLE, INVALID_SETTINGS_TASK_TITLE } from '../domain/tasks';
import { freePort } from '../scripts/dev-server';
import { accountQuery, accountWorkflowId, obtainAccessTokenUpdate } from '../workflows/definitions';
import { AccountView, uniqueEmail } from './support/customers';
import { eventually } from './support/eventually';
import { STATUS_FIELD_KEY, TestSystem, type TestAccount } from './support/system';
import {
  operatorCall,
  postStoreganiseWebhook,
  postZendeskEvent,
  storeganiseWebhookBody,
  zendeskEventBody,
} from './support/signed-requests';

const USER_FIELDS = [
  { code: 'zendesk_userId', type: 'string' },
  { code: 'zendesk_otherEmails', type: 'array' },
  { code: 'zendesk_otherPhones', type: 'array' },
];

describe('Accounts: registry, settings and first activation', function () {
  this.timeout(90_000);
  let system: TestSystem;
  let provisioned = 0;
  /** Account ids are global in the run's Temporal namespace. */
  const runTag = randomBytes(3).toString('hex');

  before(async function () {
    this.timeout(180_000);
    system = await TestSystem.start();
  });
  after(async () => system?.close());

  const validSettings = (account: Pick<TestAccount, 'zendeskSubdomain'>): Record<string, unknown> => ({
    zendesk_instance: account.zendeskSubdomain,
    zendesk_defaultCountryCode: '+81',
    zendesk_statusFieldKey: STATUS_FIELD_KEY,
    zendesk_nameFormat: 'first_last',
  });

  /** Both sandbox accounts, with the add-on installed but no webhook sent yet. */
  async function provision(): Promise<TestAccount> {
    const subdomain = `fresh-${runTag}-${++provisioned}`;
    const zendeskSubdomain = `zd-${subdomain}`;
    await system.zendesk.client.createAccount({ subdomain: zendeskSubdomain, autoApprove: true });
    const created = await system.storeganise.client.createAccount({
      subdomain,
      addonApiKey: system.config.storeganise.addonApiKey,
      webhookUrl: `${system.apiUrl}/addon/storeganise`,
      webhookSecret: system.config.storeganise.webhookSecret,
      settings: validSettings({ zendeskSubdomain }),
    });
    return { subdomain, zendeskSubdomain, addonId: created.addonId };
  }

  async function customFieldCreations(account: TestAccount): Promise<number> {
    const requests = await system.storeganise.client.requests({
      account: account.subdomain,
      method: 'POST',
      path: '/custom-fields$',
    });
    return requests.length;
  }

  async function assertActivatedOnce(account: TestAccount): Promise<void> {
    const [task] = await eventually(async () => {
      const tasks = await system.tasks(account, AUTHORIZE_TASK_TITLE);
      assert.equal(tasks.length, 1, 'the authorize task is not there yet');
      return tasks;
    });
    // A query is answered after every signal delivered so far was applied.
    await system.client.workflow.getHandle(accountWorkflowId(account.subdomain)).query(accountQuery);
    assert.equal((await system.tasks(account, AUTHORIZE_TASK_TITLE)).length, 1, 'exactly one authorize task');
    assert.equal(task?.data.targetType, 'addon');
    assert.equal(task?.data.targetId, account.addonId);
    assert.ok(
      String(task?.data.desc).includes(
        `${system.config.publicUrl}/oauth/zendesk/authorize?account=${account.subdomain}`,
      ),
      `the task links to the authorize endpoint: ${String(task?.data.desc)}`,
    );

    const fields = (await system.storeganise.client.listCustomFields(account.subdomain, { model: 'user' })).filter(
      (f) => f.code.startsWith('zendesk_'),
    );
    assert.deepEqual(
      fields.map((f) => ({ code: f.code, type: f.type })).sort((a, b) => a.code.localeCompare(b.code)),
      [...USER_FIELDS].sort((a, b) => a.code.localeCompare(b.code)),
    );
    assert.ok(
      fields.every((f) => f.ownerAcl === 'read'),
      'the user fields are read-only for customers',
    );
    assert.equal(await customFieldCreations(account), 3, 'each custom field is created by exactly one request');
  }

  describe('first activation', () => {
    it('happens exactly once when the same install webhook is delivered three times at once', async () => {
      const account = await provision();
      const body = storeganiseWebhookBody(system, account, {
        type: 'addon.installed',
        data: { addonId: account.addonId },
      });
      const answers = await Promise.all([1, 2, 3].map(() => postStoreganiseWebhook(system, body)));
      assert.deepEqual(
        answers.map((a) => a.status),
        [200, 200, 200],
        `every delivery is acknowledged: ${answers.map((a) => a.text).join(' | ')}`,
      );
      await assertActivatedOnce(account);

      // A later reinstall of the same account does not activate it again.
      await system.storeganise.client.emitInstalled(account.subdomain);
      await system.storeganise.idle();
      await assertActivatedOnce(account);
    });

    it('happens exactly once when Storeganise duplicates the install webhook', async () => {
      const account = await provision();
      await system.storeganise.client.setFaults(account.subdomain, { webhooks: { duplicate: 2 } });
      await system.storeganise.client.emitInstalled(account.subdomain);
      await system.storeganise.idle();
      const deliveries = (await system.storeganise.client.deliveries(account.subdomain)).filter(
        (d) => d.eventType === 'addon.installed',
      );
      assert.equal(deliveries.length, 3, 'the sandbox delivered the event three times');
      assert.ok(
        deliveries.every((d) => d.status === 200),
        `every copy is acknowledged: ${JSON.stringify(deliveries)}`,
      );
      await assertActivatedOnce(account);
    });

    it('is completed later, still exactly once, when Storeganise refuses a request in the middle of it', async () => {
      const account = await provision();
      // The worker is down while the webhook is accepted, so the refusal meets the activation itself.
      await system.stopWorker();
      try {
        const answer = await postStoreganiseWebhook(
          system,
          storeganiseWebhookBody(system, account, { type: 'addon.installed', data: { addonId: account.addonId } }),
        );
        assert.equal(answer.status, 200, answer.text);
        await system.storeganise.client.setFaults(account.subdomain, { force: { status: 403, count: 1 } });
      } finally {
        await system.startWorker();
      }
      await eventually(async () => {
        const refused = await system.storeganise.client.requests({ account: account.subdomain, sinceSeq: 0 });
        assert.ok(
          refused.some((r) => r.status === 403),
          'the refusal has not happened yet',
        );
      });
      await assertActivatedOnce(account);
      const { status } = await system.client.workflow.getHandle(accountWorkflowId(account.subdomain)).describe();
      assert.equal(status.name, 'RUNNING', 'the account goes on');
    });

    it('also happens on the first user webhook of an account that never sent an install event', async () => {
      const account = await provision();
      const user = await system.storeganise.client.createUser(account.subdomain, {
        firstName: 'Ichiro',
        lastName: 'Sato',
        email: uniqueEmail('ichiro'),
      });
      await system.storeganise.idle();
      await assertActivatedOnce(account);
      // The event itself waits for authorization and is applied once the operator authorizes.
      await system.authorize(account);
      await eventually(async () => {
        const linked = (await system.storeganise.client.getUser(account.subdomain, user.id)).customFields
          ?.zendesk_userId;
        assert.equal(typeof linked, 'string', 'the user is not linked to Zendesk yet');
      });
    });
  });

  describe('invalid settings', () => {
    const cases: Array<{ problem: string; settings: Record<string, unknown>; names: string; accepted: string[] }> = [
      {
        problem: 'an unknown name format',
        settings: { zendesk_nameFormat: 'family_given' },
        names: 'zendesk_nameFormat',
        accepted: ['first_last', 'last_first'],
      },
      {
        problem: 'a country code without +',
        settings: { zendesk_defaultCountryCode: '81' },
        names: 'zendesk_defaultCountryCode',
        accepted: ['+81', '1 to 3 digits'],
      },
      {
        problem: 'an instance that is not a subdomain',
        settings: { zendesk_instance: 'acme.zendesk.com' },
        names: 'zendesk_instance',
        accepted: ['subdomain', '`acme`'],
      },
      {
        problem: 'a missing country code',
        settings: { zendesk_defaultCountryCode: undefined },
        names: 'zendesk_defaultCountryCode',
        accepted: ['missing', '+44'],
      },
      {
        problem: 'a missing instance',
        settings: { zendesk_instance: '' },
        names: 'zendesk_instance',
        accepted: ['missing', 'subdomain'],
      },
    ];

    for (const { problem, settings, names, accepted } of cases) {
      it(`${problem} raises one Invalid settings task naming it, and nothing syncs until it is fixed`, async () => {
        const account = await system.addAccount({ settings, authorize: false });
        const view = new AccountView(system, account);
        const mark = await view.mark();

        const tasks = await eventually(async () => {
          const found = await view.tasks(INVALID_SETTINGS_TASK_TITLE);
          assert.equal(found.length, 1, 'no Invalid settings task yet');
          return found;
        });
        const desc = String(tasks[0]?.data.desc);
        assert.ok(desc.includes(names), `the task names ${names}: ${desc}`);
        for (const value of accepted)
          assert.ok(desc.includes(value), `the task says what is accepted (${value}): ${desc}`);
        assert.equal(tasks[0]?.data.targetType, 'addon');

        const authorizeLink = await system.authorizeLink(account);
        const refused = await fetch(authorizeLink, { redirect: 'manual' });
        assert.equal(refused.status, 400, 'the authorize link asks to fix the settings first');

        const users = await Promise.all(
          ['Aiko', 'Bunta'].map((firstName) =>
            system.storeganise.client.createUser(account.subdomain, {
              firstName,
              lastName: 'Mori',
              email: uniqueEmail(firstName.toLowerCase()),
            }),
          ),
        );
        await eventually(async () => {
          const waiting = await system.client.workflow.count(
            `SyncAccount = '${account.subdomain}' AND SyncState = 'awaiting-settings' AND ExecutionStatus = 'Running'`,
          );
          assert.equal(waiting.count, 2, 'both user events wait for valid settings');
        });
        assert.equal((await view.tasks(INVALID_SETTINGS_TASK_TITLE)).length, 1, 'one task however many events wait');
        const zendeskCalls = (
          await system.zendesk.client.requests({ account: account.zendeskSubdomain, sinceSeq: mark.zendesk })
        ).requests.filter((r) => r.path.includes('/api/v2/'));
        assert.deepEqual(zendeskCalls, [], 'nothing is sent to Zendesk while the settings are invalid');

        await system.storeganise.client.updateAccount(account.subdomain, { settings: validSettings(account) });
        const recheck = await operatorCall(system, 'POST', `/operator/accounts/${account.subdomain}/recheck-settings`);
        assert.equal(recheck.status, 202, recheck.text);
        await eventually(async () => {
          const waiting = await system.client.workflow.count(
            `SyncAccount = '${account.subdomain}' AND SyncState = 'awaiting-settings' AND ExecutionStatus = 'Running'`,
          );
          assert.equal(waiting.count, 0, 'the events no longer wait for settings');
        });
        await system.authorize(account);
        for (const user of users) {
          await eventually(async () => {
            const [zd] = await view.zdUsersWithExternalId(user.id);
            assert.ok(zd, `the Zendesk user of ${user.firstName} does not exist yet`);
            assert.equal(zd.name, `${user.firstName} Mori`);
          });
        }
        await system.settle(account);
        assert.equal(
          (await view.tasks(INVALID_SETTINGS_TASK_TITLE)).length,
          1,
          'fixing the settings raises no further task',
        );
      });
    }

    it('an add-on disabled while events wait for settings does not end the account; re-enabled and fixed, the events complete', async () => {
      const account = await system.addAccount({ settings: { zendesk_nameFormat: 'family_given' }, authorize: false });
      const view = new AccountView(system, account);
      const user = await system.storeganise.client.createUser(account.subdomain, {
        firstName: 'Chika',
        lastName: 'Noda',
        email: uniqueEmail('chika'),
      });
      const waiting = async () =>
        (
          await system.client.workflow.count(
            `SyncAccount = '${account.subdomain}' AND SyncState = 'awaiting-settings' AND ExecutionStatus = 'Running'`,
          )
        ).count;
      await eventually(async () => assert.equal(await waiting(), 1));

      await system.storeganise.client.updateAccount(account.subdomain, { addonState: 'disabled' });
      const mark = (await view.mark()).storeganise;
      assert.equal(
        (await operatorCall(system, 'POST', `/operator/accounts/${account.subdomain}/recheck-settings`)).status,
        202,
      );
      await eventually(async () => {
        const refused = (
          await system.storeganise.client.requests({ account: account.subdomain, sinceSeq: mark })
        ).filter((r) => r.status === 403);
        assert.ok(refused.length > 0, 'the recheck has not met the disabled add-on yet');
      });

      await system.storeganise.client.updateAccount(account.subdomain, {
        addonState: 'enabled',
        settings: validSettings(account),
      });
      const recheck = await operatorCall(system, 'POST', `/operator/accounts/${account.subdomain}/recheck-settings`);
      assert.equal(recheck.status, 202, recheck.text);
      await eventually(async () => assert.equal(await waiting(), 0, 'the event still waits for settings'));
      await system.authorize(account);
      await eventually(async () => {
        const [zd] = await view.zdUsersWithExternalId(user.id);
        assert.ok(zd, 'the user is not in Zendesk yet');
      });
      await system.settle(account);
    });

    it('the recheck endpoint is for operators only and 404s an unknown account', async () => {
      const noToken = await operatorCall(system, 'POST', '/operator/accounts/whoever/recheck-settings', null);
      assert.equal(noToken.status, 401);
      const wrongToken = await operatorCall(
        system,
        'POST',
        '/operator/accounts/whoever/recheck-settings',
        'not-the-operator-token-at-all',
      );
      assert.equal(wrongToken.status, 401);
      const unknown = await operatorCall(system, 'POST', '/operator/accounts/nobody-here/recheck-settings');
      assert.equal(unknown.status, 404);
    });
  });

  describe('bad input', () => {
    let stranger: http.Server;
    let strangerPort: number;
    const strangerRequests: string[] = [];

    before(async () => {
      strangerPort = await freePort();
      stranger = http.createServer((req, res) => {
        strangerRequests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"customFields":{}}');
      });
      await new Promise<void>((resolve) => stranger.listen(strangerPort, '127.0.0.1', resolve));
    });
    after(async () => new Promise<void>((resolve) => stranger.close(() => resolve())));

    it('an apiUrl that does not match the template gets 400 and no request is sent anywhere', async () => {
      const known = await system.addAccount();
      await system.settle(known);
      const sgPort = new URL(system.storeganise.url).port;
      const newcomer = `newcomer-${runTag}`;
      const badUrls = [
        `http://127.0.0.1:${strangerPort}/${known.subdomain}/api`,
        `http://127.0.0.1:${sgPort}@127.0.0.1:${strangerPort}/${known.subdomain}/api`,
        `http://127.0.0.1:${sgPort}/${known.subdomain}/other/api`,
        `https://${known.subdomain}.storeganise.com/api`,
      ];
      const before = await requestMarks();
      for (const apiUrl of badUrls) {
        for (const [account, type] of [
          [known, 'user.updated'],
          [{ subdomain: newcomer, addonId: 'addon-newcomer' }, 'addon.installed'],
        ] as const) {
          const body = storeganiseWebhookBody(system, account, {
            type,
            apiUrl,
            data: { userId: '0123456789abcdef01234567', changedKeys: ['firstName'], addonId: account.addonId },
          });
          const answer = await postStoreganiseWebhook(system, body);
          assert.equal(answer.status, 400, `${apiUrl}: ${answer.text}`);
          assert.match(answer.text, /apiUrl/);
        }
      }
      assert.deepEqual(strangerRequests, [], 'the unexpected host received nothing');
      assert.deepEqual(await requestMarks(), before, 'neither sandbox received a request');
      await assert.rejects(
        system.client.workflow.getHandle(accountWorkflowId(newcomer)).describe(),
        WorkflowNotFoundError,
        'no account was registered',
      );
    });

    it('a Zendesk event for an unknown subdomain gets 404', async () => {
      const before = await requestMarks();
      const body = zendeskEventBody({ type: 'zen:event-type:user.name_changed', zendeskUserId: 1234567890123 });
      const answer = await postZendeskEvent(system, 'nobody-here', body, { secret: 'whatever-secret' });
      assert.equal(answer.status, 404, answer.text);
      assert.match(answer.text, /unknown_account/);
      const unsigned = await postZendeskEvent(system, 'nobody-here', body, null);
      assert.equal(unsigned.status, 404, unsigned.text);
      assert.deepEqual(await requestMarks(), before, 'nothing was called');
    });

    async function requestMarks(): Promise<{ zendesk: number; storeganise: number }> {
      const [zd, sg] = await Promise.all([system.zendesk.client.requests(), system.storeganise.client.requests()]);
      return { zendesk: zd.lastSeq, storeganise: Math.max(0, ...sg.map((r) => r.seq)) };
    }
  });

  describe('restarts', () => {
    it('a long-lived account continues as new with its registration, grant and webhook secret', async () => {
      const view = new AccountView(system, await system.addAccount());
      const linked = await view.createLinkedCustomer({ firstName: 'Saburo', lastName: 'Kon' });
      const handle = system.client.workflow.getHandle(accountWorkflowId(view.account.subdomain));
      const { runId: firstRun } = await handle.describe();
      // Years of token requests from activities, compressed: the history grows until the workflow rolls over.
      // (Temporal admits at most 10 in-flight updates per workflow.)
      for (let batch = 0; (await handle.describe()).runId === firstRun; batch++) {
        assert.ok(batch < 500, 'the account workflow never continued as new');
        await Promise.all(Array.from({ length: 8 }, () => handle.executeUpdate(obtainAccessTokenUpdate)));
      }
      const first = await system.client.workflow
        .getHandle(accountWorkflowId(view.account.subdomain), firstRun)
        .describe();
      assert.equal(first.status.name, 'CONTINUED_AS_NEW');
      assert.ok(first.historyLength < 2_500, `the history stays small: ${first.historyLength} events`);

      const answer = await operatorCall(system, 'GET', `/operator/accounts/${view.account.subdomain}`);
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(
        (({ connection, hasWebhookSecret, addonId }) => ({ connection, hasWebhookSecret, addonId }))(
          answer.json as Record<string, unknown>,
        ),
        { connection: 'connected', hasWebhookSecret: true, addonId: view.account.addonId },
      );
      await system.storeganise.client.updateUser(view.account.subdomain, linked.sgId, { firstName: 'Shiro' });
      await eventually(async () => assert.equal((await view.zdUser(linked.zdId)).name, 'Shiro Kon'));
      await system.zendesk.client.updateUser(view.account.zendeskSubdomain, linked.zdId, { name: 'Shiro Konno' });
      await eventually(async () => assert.equal((await view.sgUser(linked.sgId)).lastName, 'Konno'));
      await system.settle(view.account);
      assert.equal((await view.tasks(AUTHORIZE_TASK_TITLE)).length, 1, 'no new authorization was asked for');
    });

    it('restarting the API and the worker keeps every account, its settings and its grant', async () => {
      const western = new AccountView(system, await system.addAccount());
      const eastern = new AccountView(
        system,
        await system.addAccount({ settings: { zendesk_nameFormat: 'last_first' } }),
      );
      const linked = await western.createLinkedCustomer({ firstName: 'Jiro', lastName: 'Ono' });
      await system.settle(eastern.account);
      const grantsBefore = await Promise.all(
        [western, eastern].map(
          async (v) => (await system.zendesk.client.oauthLog(v.account.zendeskSubdomain)).grants.length,
        ),
      );

      await system.stopApi();
      await system.stopWorker();
      await system.startWorker();
      await system.startApi();

      for (const view of [western, eastern]) {
        const answer = await operatorCall(system, 'GET', `/operator/accounts/${view.account.subdomain}`);
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(
          {
            ...(answer.json as Record<string, unknown>),
            pausedForAuthorization: undefined,
            pausedForSettings: undefined,
            settingsProblems: undefined,
            webhookId: undefined,
          },
          {
            subdomain: view.account.subdomain,
            apiUrl: system.storeganise.urlTemplate.replace('{subdomain}', view.account.subdomain),
            addonId: view.account.addonId,
            connection: 'connected',
            hasWebhookSecret: true,
            pausedForAuthorization: undefined,
            pausedForSettings: undefined,
            settingsProblems: undefined,
            webhookId: undefined,
          },
        );
      }

      const mark = await eastern.mark();
      const sg = await system.storeganise.client.createUser(eastern.account.subdomain, {
        firstName: 'Taro',
        lastName: 'Yamada',
        email: uniqueEmail('taro'),
      });
      await eventually(async () => {
        const [zd] = await eastern.zdUsersWithExternalId(sg.id);
        assert.ok(zd, 'the Zendesk user does not exist yet');
        assert.equal(zd.name, 'Yamada Taro', 'the account still uses its own name format');
      });
      assert.equal((await eastern.zendeskWrites(mark)).length, 1);

      // An agent's edit in Zendesk arrives signed with the secret registered before the restart.
      await system.zendesk.client.updateUser(western.account.zendeskSubdomain, linked.zdId, { name: 'Jiro Onoda' });
      await eventually(async () => assert.equal((await western.sgUser(linked.sgId)).lastName, 'Onoda'));
      await system.settle(western.account);
      await system.settle(eastern.account);

      for (const [i, view] of [western, eastern].entries()) {
        assert.equal((await view.tasks(AUTHORIZE_TASK_TITLE)).length, 1, 'no new authorization was asked for');
        const grants = (await system.zendesk.client.oauthLog(view.account.zendeskSubdomain)).grants;
        assert.equal(
          grants.filter((g) => g.origin === 'authorization_code').length,
          1,
          'the grant from before the restart is still used',
        );
        assert.equal(grants.length, grantsBefore[i], 'no new grant was needed');
      }
      const deliveries = await system.zendesk.client.deliveries(western.account.zendeskSubdomain);
      assert.ok(
        deliveries.length > 0 && deliveries.every((d) => d.status === 200),
        `every Zendesk event was accepted: ${JSON.stringify(deliveries.map((d) => d.status))}`,
      );
    });
  });
});
