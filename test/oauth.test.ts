import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { AUTHORIZE_TASK_TITLE } from '../domain/tasks';
import { SYNC_ERROR_TITLE } from '../domain/tasks';
import { sealGrant } from '../client/grants';
import { accountWorkflowId, storeganiseEventWorkflowId, storeGrantUpdate } from '../workflows/definitions';
import { AccountView, uniqueEmail } from './support/customers';
import { eventually, sleep } from './support/eventually';
import { TestSystem, type TestAccount } from './support/system';
import {
  operatorCall,
  postStoreganiseWebhook,
  postZendeskEvent,
  storeganiseWebhookBody,
  zendeskEventBody,
} from './support/signed-requests';

const SCOPES = ['users:read', 'users:write', 'webhooks:read', 'webhooks:write'];
/** The Zendesk user events the sync acts on; its webhook must be subscribed to each. */
const USED_EVENTS = [
  'created',
  'name_changed',
  'identity_created',
  'identity_changed',
  'identity_deleted',
  'external_id_changed',
  'merged',
].map((name) => `zen:event-type:user.${name}`);
const normaliseEventType = (type: string): string => type.replace('zen:event-type/', 'zen:event-type:');

describe('Zendesk connection: OAuth, grants, pause and resume, webhook', function () {
  this.timeout(90_000);
  let system: TestSystem;

  before(async function () {
    this.timeout(180_000);
    system = await TestSystem.start();
  });
  after(async () => system?.close());

  const endpointOf = (account: TestAccount): string => `${system.config.publicUrl}/addon/zendesk/${account.subdomain}`;
  const ourWebhooks = async (account: TestAccount) =>
    (await system.zendesk.client.webhooks(account.zendeskSubdomain)).filter((w) => w.endpoint === endpointOf(account));
  const paused = async (account: TestAccount): Promise<number> =>
    (
      await system.client.workflow.count(
        `SyncAccount = '${account.subdomain}' AND SyncState = 'awaiting-authorization' AND ExecutionStatus = 'Running'`,
      )
    ).count;
  const accountView = async (account: TestAccount): Promise<Record<string, unknown>> => {
    const answer = await operatorCall(system, 'GET', `/operator/accounts/${account.subdomain}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.json as Record<string, unknown>;
  };
  const tokenRequests = async (since: number) =>
    (await system.zendesk.client.requests({ sinceSeq: since, method: 'POST', path: '/oauth/tokens$' })).requests;

  /** Follows the authorize link to Zendesk and through the (auto-approved) consent; returns the callback URL unvisited. */
  async function consentCallbackUrl(account: TestAccount): Promise<URL> {
    const toZendesk = await fetch(await system.authorizeLink(account), { redirect: 'manual' });
    assert.equal(toZendesk.status, 302, await toZendesk.text());
    const back = await fetch(toZendesk.headers.get('location') ?? '', { redirect: 'manual' });
    assert.equal(back.status, 302, await back.text());
    return new URL(back.headers.get('location') ?? '');
  }

  describe('authorization', () => {
    it('the authorize link redirects to Zendesk consent with PKCE, the sync scopes and a sealed state', async () => {
      const account = await system.addAccount({ authorize: false });
      const answer = await fetch(await system.authorizeLink(account), { redirect: 'manual' });
      assert.equal(answer.status, 302);
      const consent = new URL(answer.headers.get('location') ?? '');
      assert.equal(
        `${consent.origin}${consent.pathname}`,
        `${system.zendesk.urlTemplate.replace('{subdomain}', account.zendeskSubdomain)}/oauth/authorizations/new`,
      );
      const q = consent.searchParams;
      assert.equal(q.get('response_type'), 'code');
      assert.equal(q.get('client_id'), system.config.zendesk.clientId);
      assert.equal(q.get('redirect_uri'), `${system.config.publicUrl}/oauth/zendesk/callback`);
      assert.deepEqual(q.get('scope')?.split(' ').sort(), SCOPES);
      assert.equal(q.get('code_challenge_method'), 'S256');
      assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.ok((q.get('state') ?? '').length > 20, 'a state is sent');
      assert.ok(!(q.get('state') ?? '').includes(account.subdomain), 'the state does not carry the account in clear');
    });

    it('following the task link end to end stores a grant and registers the Zendesk webhook with the events the sync uses', async () => {
      const account = await system.addAccount({ authorize: false });
      assert.equal((await accountView(account)).connection, 'awaiting-authorization');
      const done = await system.authorize(account);
      assert.equal(done.status, 200, done.body);
      assert.match(done.body, /Zendesk is connected/);

      const log = await system.zendesk.client.oauthLog(account.zendeskSubdomain);
      assert.equal(log.grants.length, 1);
      assert.equal(log.grants[0]?.origin, 'authorization_code');
      assert.equal(log.grants[0]?.clientId, system.config.zendesk.clientId);
      assert.deepEqual([...(log.grants[0]?.scopes ?? [])].sort(), SCOPES);

      const [webhook, ...others] = await ourWebhooks(account);
      assert.ok(webhook, 'the service registered its webhook');
      assert.deepEqual(others, [], 'exactly one webhook points at the service');
      assert.equal(webhook.status, 'active');
      assert.equal(webhook.http_method, 'POST');
      assert.equal(webhook.request_format, 'json');
      const subscribed = new Set(webhook.subscriptions.map(normaliseEventType));
      for (const event of USED_EVENTS)
        assert.ok(subscribed.has(event), `subscribed to ${event}: ${webhook.subscriptions.join(', ')}`);

      const view = await eventually(async () => {
        const current = await accountView(account);
        assert.equal(current.hasWebhookSecret, true, 'the signing secret is not stored yet');
        return current;
      });
      assert.equal(view.connection, 'connected');

      // The stored grant is what the sync uses from now on.
      const customers = new AccountView(system, account);
      const customer = await customers.createLinkedCustomer({ firstName: 'Kenta', lastName: 'Ito' });
      assert.equal((await customers.zdUser(customer.zdId)).name, 'Kenta Ito');
      assert.equal(
        (await system.zendesk.client.oauthLog(account.zendeskSubdomain)).grants.length,
        1,
        'no other grant was needed',
      );
    });

    it('a webhook registration Zendesk refuses is reported in a task and retried, and the account keeps syncing', async () => {
      const account = await system.addAccount({ authorize: false });
      await system.zendesk.client.setFaults(account.zendeskSubdomain, { force: { status: 403, count: 1 } });
      const done = await system.authorize(account);
      assert.equal(done.status, 200, done.body);
      assert.equal((await ourWebhooks(account)).length, 1, 'the registration succeeded on a later attempt');
      const refused = (await system.zendesk.client.requests({ account: account.zendeskSubdomain })).requests.filter(
        (r) => r.status === 403,
      );
      assert.equal(refused.length, 1, 'the first attempt was refused');
      const [task, ...more] = await system.tasks(account, SYNC_ERROR_TITLE);
      assert.ok(task, 'the operator is told');
      assert.deepEqual(more, []);
      assert.match(String(task.data.desc), /webhook/i);
      assert.match(String(task.data.desc), /403/);
      assert.equal(task.data.targetType, 'addon');

      const customers = new AccountView(system, account);
      const customer = await customers.createLinkedCustomer({ firstName: 'Goro', lastName: 'Ueda' });
      assert.equal((await customers.zdUser(customer.zdId)).name, 'Goro Ueda');
    });

    it('authorizing again reuses the webhook the service registered', async () => {
      const account = await system.addAccount();
      const [first] = await ourWebhooks(account);
      const mark = (await system.zendesk.client.requests()).lastSeq;
      const again = await system.authorize(account);
      assert.equal(again.status, 200, again.body);
      await eventually(async () => {
        const reads = (
          await system.zendesk.client.requests({
            sinceSeq: mark,
            account: account.zendeskSubdomain,
            path: '/signing_secret',
          })
        ).requests;
        assert.equal(reads.length, 1, 'the webhook was not checked again yet');
      });
      const hooks = await ourWebhooks(account);
      assert.deepEqual(
        hooks.map((w) => w.id),
        [first?.id],
      );
      const creations = (
        await system.zendesk.client.requests({
          sinceSeq: mark,
          account: account.zendeskSubdomain,
          method: 'POST',
          path: '/webhooks$',
        })
      ).requests;
      assert.deepEqual(creations, [], 'no second webhook was created');
    });
  });

  describe('the OAuth callback refuses a state it did not issue or already redeemed', () => {
    let account: TestAccount;
    before(async () => {
      account = await system.addAccount();
    });

    it('bad, tampered, expired, foreign and replayed states get a 400 page and change nothing', async () => {
      const callback = await consentCallbackUrl(account);
      const genuineState = callback.searchParams.get('state') ?? '';
      const code = callback.searchParams.get('code') ?? '';
      const sealed = (payload: object): string => system.config.keyring.seal(JSON.stringify(payload));
      const verifier = randomBytes(32).toString('base64url');
      const tampered = `${genuineState.slice(0, -6)}${genuineState.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`;
      const mark = (await system.zendesk.client.requests()).lastSeq;
      const grantsBefore = (await system.zendesk.client.oauthLog(account.zendeskSubdomain)).grants.length;
      const tasksBefore = (await system.tasks(account)).length;

      const bad: Array<[string, Record<string, string>, RegExp]> = [
        ['no state', { code }, /Invalid authorization link/],
        ['garbage', { code, state: 'not-a-state' }, /Invalid authorization link/],
        ['tampered', { code, state: tampered }, /Invalid authorization link/],
        [
          'expired',
          {
            code,
            state: sealed({ account: account.subdomain, nonce: 'n-expired', expiresAt: Date.now() - 1000, verifier }),
          },
          /expired/,
        ],
        [
          'for an unknown account',
          {
            code,
            state: sealed({ account: 'nobody-here', nonce: 'n-foreign', expiresAt: Date.now() + 60_000, verifier }),
          },
          /Unknown account/,
        ],
      ];
      for (const [what, params, message] of bad) {
        const res = await fetch(
          `${system.config.publicUrl}/oauth/zendesk/callback?${new URLSearchParams(params).toString()}`,
        );
        const text = await res.text();
        assert.equal(res.status, 400, `${what}: ${text}`);
        assert.match(res.headers.get('content-type') ?? '', /text\/html/);
        assert.match(text, message, what);
      }
      assert.deepEqual(await tokenRequests(mark), [], 'no code was exchanged for a bad state');

      const first = await fetch(callback);
      assert.equal(first.status, 200, await first.text());
      const replay = await fetch(callback);
      const replayText = await replay.text();
      assert.equal(replay.status, 400, replayText);
      assert.match(replayText, /already used/);

      assert.equal((await tokenRequests(mark)).length, 1, 'only the genuine callback exchanged its code');
      assert.equal((await system.zendesk.client.oauthLog(account.zendeskSubdomain)).grants.length, grantsBefore + 1);
      assert.equal((await system.tasks(account)).length, tasksBefore, 'no task was raised');
      assert.equal((await accountView(account)).connection, 'connected');
    });

    it('one authorize link approved twice in Zendesk (two tabs) stores one grant and the account keeps working', async () => {
      await system.zendesk.client.updateAccount(account.zendeskSubdomain, { autoApprove: false });
      try {
        const toZendesk = await fetch(await system.authorizeLink(account), { redirect: 'manual' });
        const consentUrl = toZendesk.headers.get('location') ?? '';
        // The same consent page opened twice and approved in each tab: two codes carrying the same state.
        const callbacks = await Promise.all(
          [1, 2].map(async () => {
            const page = await (await fetch(consentUrl)).text();
            const consentId = /name="consent_id" value="([^"]+)"/.exec(page)?.[1] ?? '';
            const formAction = /<form method="post" action="([^"]+)"/.exec(page)?.[1] ?? '';
            // Posted where the form says, as a browser would.
            const approved = await fetch(new URL(formAction, consentUrl), {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ consent_id: consentId, decision: 'allow' }).toString(),
              redirect: 'manual',
            });
            assert.equal(approved.status, 302, await approved.text());
            return approved.headers.get('location') ?? '';
          }),
        );
        const answers = await Promise.all(callbacks.map(async (url) => (await fetch(url)).status));
        assert.deepEqual([...answers].sort(), [200, 400], 'one approval is stored, the other refused as already used');
      } finally {
        await system.zendesk.client.updateAccount(account.zendeskSubdomain, { autoApprove: true });
      }
      const customers = new AccountView(system, account);
      const customer = await customers.createLinkedCustomer({ firstName: 'Tomo', lastName: 'Hara' });
      assert.equal((await customers.zdUser(customer.zdId)).name, 'Tomo Hara');
      assert.equal((await accountView(account)).connection, 'connected');
    });

    it('grants stored at the same moment for one link keep one and the account keeps working', async () => {
      // The race of two callbacks of one link is too narrow to hit over HTTP: the callback's update is sent directly.
      const handle = system.client.workflow.getHandle(accountWorkflowId(account.subdomain));
      const log = await system.zendesk.client.oauthLog(account.zendeskSubdomain);
      const tokens = await system.zendesk.client.issueToken(account.zendeskSubdomain, {
        clientId: system.config.zendesk.clientId,
      });
      const grant = sealGrant(
        system.config.keyring,
        {
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          accessExpiresAt: Date.now() + tokens.expires_in * 1000,
          refreshExpiresAt: null,
          scope: tokens.scope,
        },
        Date.now(),
      );
      const stored = await Promise.allSettled(
        [1, 2, 3].map(() =>
          handle.executeUpdate(storeGrantUpdate, {
            args: [{ stateNonce: `same-link-${log.grants.length}`, stateExpiresAt: Date.now() + 60_000, grant }],
          }),
        ),
      );
      assert.deepEqual(
        stored.map((r) => r.status).sort(),
        ['fulfilled', 'rejected', 'rejected'],
        JSON.stringify(stored.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))),
      );
      const customers = new AccountView(system, account);
      const customer = await customers.createLinkedCustomer({ firstName: 'Isamu', lastName: 'Oka' });
      assert.equal((await customers.zdUser(customer.zdId)).name, 'Isamu Oka');
    });

    it('a consent denied in Zendesk gets a 400 page and the account stays as it was', async () => {
      const callback = await consentCallbackUrl(account);
      const denied = new URL(callback);
      denied.searchParams.delete('code');
      denied.searchParams.set('error', 'access_denied');
      const mark = (await system.zendesk.client.requests()).lastSeq;
      const res = await fetch(denied);
      const text = await res.text();
      assert.equal(res.status, 400, text);
      assert.match(text, /not granted/);
      assert.deepEqual(await tokenRequests(mark), []);
      assert.equal((await accountView(account)).connection, 'connected');
    });
  });

  describe('Zendesk events', () => {
    let customers: AccountView;
    before(async () => {
      customers = new AccountView(
        system,
        await system.addAccount({ settings: { zendesk_webhookSecret: 'manually-created-webhook-secret' } }),
      );
    });

    it('an event the sandbox signs with the registered secret is accepted and synced', async () => {
      const customer = await customers.createLinkedCustomer({ firstName: 'Mika', lastName: 'Abe' });
      await system.zendesk.client.updateUser(customers.account.zendeskSubdomain, customer.zdId, { name: 'Mika Abeno' });
      await eventually(async () => assert.equal((await customers.sgUser(customer.sgId)).lastName, 'Abeno'));
      await system.settle(customers.account);
      const deliveries = await system.zendesk.client.deliveries(customers.account.zendeskSubdomain);
      assert.ok(deliveries.length > 0);
      assert.deepEqual(
        deliveries.filter((d) => d.status !== 200),
        [],
        'every signed delivery was accepted',
      );
    });

    it('events signed with another secret, a stale or future timestamp, or no signature are refused with 401', async () => {
      const customer = await customers.createLinkedCustomer({ firstName: 'Nao', lastName: 'Kato' });
      const [webhook] = await ourWebhooks(customers.account);
      assert.ok(webhook);
      const sub = customers.account.subdomain;
      const event = () =>
        zendeskEventBody({
          type: 'zen:event-type:user.name_changed',
          zendeskUserId: customer.zdId,
          externalId: customer.sgId,
        });
      const iso = (ms: number): string => new Date(ms).toISOString();

      const refused: Array<[string, { secret: string; timestamp?: string } | null]> = [
        ['another secret', { secret: 'some-other-secret-entirely' }],
        ['a stale timestamp', { secret: webhook.signingSecret, timestamp: iso(Date.now() - 6 * 60_000) }],
        ['a future timestamp', { secret: webhook.signingSecret, timestamp: iso(Date.now() + 6 * 60_000) }],
        ['no signature', null],
      ];
      for (const [what, signing] of refused) {
        const answer = await postZendeskEvent(system, sub, event(), signing);
        assert.equal(answer.status, 401, `${what}: ${answer.text}`);
      }

      for (const [what, secret] of [
        ['the registered secret', webhook.signingSecret],
        ['the manually configured secret', 'manually-created-webhook-secret'],
      ] as const) {
        const answer = await postZendeskEvent(system, sub, event(), { secret, timestamp: iso(Date.now() - 60_000) });
        assert.equal(answer.status, 200, `${what}: ${answer.text}`);
        assert.equal((answer.json as { status?: string }).status, 'accepted', what);
      }
      await system.settle(customers.account);
    });
  });

  describe('pause on 401 and resume on authorization', () => {
    it('after a revocation every workflow that needs Zendesk pauses, one authorize task is raised, and re-authorizing resumes each without repeating writes', async () => {
      const customers = new AccountView(system, await system.addAccount());
      const { subdomain, zendeskSubdomain } = customers.account;
      const edited = [];
      for (const firstName of ['Aoi', 'Ren', 'Sora'])
        edited.push(await customers.createLinkedCustomer({ firstName, lastName: 'Kimura' }));
      const editedInZendesk = await customers.createLinkedCustomer({ firstName: 'Yui', lastName: 'Hayashi' });
      assert.equal((await customers.tasks(AUTHORIZE_TASK_TITLE)).length, 1);

      await system.zendesk.client.revokeOAuth(zendeskSubdomain);
      const mark = await customers.mark();
      for (const [i, customer] of edited.entries()) {
        await system.storeganise.client.updateUser(subdomain, customer.sgId, { firstName: `Edited${'ABC'[i]}` });
      }
      // More at once than Temporal admits concurrent updates to one workflow (10): the pause reports queue up.
      const newcomers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          system.storeganise.client.createUser(subdomain, {
            firstName: `Hina${'ABCDEFGHIJKL'[i]}`,
            lastName: 'Ogawa',
            email: uniqueEmail('hina'),
          }),
        ),
      );
      await system.zendesk.client.updateUser(zendeskSubdomain, editedInZendesk.zdId, { name: 'Yui Hayashida' });

      const pausing = edited.length + newcomers.length + 1;
      await eventually(
        async () => assert.equal(await paused(customers.account), pausing, 'not every workflow has paused yet'),
        { timeoutMs: 45_000 },
      );
      const view = await accountView(customers.account);
      assert.equal(view.connection, 'awaiting-authorization');
      assert.equal(view.pausedForAuthorization, pausing);
      const tasks = await customers.tasks(AUTHORIZE_TASK_TITLE);
      assert.equal(tasks.length, 2, 'exactly one new authorize task for all paused workflows');
      assert.ok(
        String(tasks.at(-1)?.data.desc).includes(
          `${system.config.publicUrl}/oauth/zendesk/authorize?account=${subdomain}`,
        ),
      );
      assert.deepEqual(await customers.zendeskWrites(mark), [], 'nothing was written while paused');

      await system.authorize(customers.account);
      for (const [i, customer] of edited.entries()) {
        await eventually(async () =>
          assert.equal((await customers.zdUser(customer.zdId)).name, `Edited${'ABC'[i]} Kimura`),
        );
      }
      const created = [];
      for (const newcomer of newcomers) {
        created.push(
          await eventually(async () => {
            const [user, ...twins] = await customers.zdUsersWithExternalId(newcomer.id);
            assert.ok(user, `${newcomer.firstName} is not in Zendesk yet`);
            assert.deepEqual(twins, []);
            return user;
          }),
        );
      }
      await eventually(async () => assert.equal((await customers.sgUser(editedInZendesk.sgId)).lastName, 'Hayashida'));
      await system.settle(customers.account);
      assert.equal(await paused(customers.account), 0);
      assert.equal((await accountView(customers.account)).pausedForAuthorization, 0);

      const zendeskWrites = await customers.zendeskWrites(mark);
      const count = (method: string, pattern: RegExp) =>
        zendeskWrites.filter((w) => w.method === method && pattern.test(w.path)).length;
      for (const customer of edited)
        assert.equal(count('PUT', new RegExp(`/users/${customer.zdId}(\\.json)?$`)), 1, 'each name is written once');
      assert.equal(count('POST', /\/users(\.json)?$/), newcomers.length, 'each newcomer is created once');
      assert.equal(
        zendeskWrites.length,
        edited.length + newcomers.length,
        `no other Zendesk write: ${zendeskWrites.map((w) => `${w.method} ${w.path}`).join(', ')}`,
      );
      const sgWrites = await customers.storeganiseWrites(mark);
      assert.deepEqual(
        sgWrites.map((w) => w.path.split('/').at(-1)).sort(),
        [...newcomers.map((n) => n.id), editedInZendesk.sgId].sort(),
        'Storeganise gets each newcomer link and the Zendesk edit, once each',
      );
      for (const [i, newcomer] of newcomers.entries()) {
        assert.equal(
          String((await customers.sgUser(newcomer.id)).customFields?.zendesk_userId),
          String(created[i]?.id),
        );
      }
      assert.equal((await customers.tasks(AUTHORIZE_TASK_TITLE)).length, 2, 'resuming raises no further task');

      // Losing access again after that authorization asks for authorization again, once.
      await system.zendesk.client.revokeOAuth(zendeskSubdomain);
      await system.storeganise.client.updateUser(subdomain, edited[0]?.sgId ?? '', { firstName: 'Again' });
      await system.storeganise.client.updateUser(subdomain, edited[1]?.sgId ?? '', { firstName: 'Twice' });
      await eventually(async () => assert.equal(await paused(customers.account), 2));
      assert.equal((await customers.tasks(AUTHORIZE_TASK_TITLE)).length, 3);
      await system.authorize(customers.account);
      await system.settle(customers.account);
      assert.equal((await customers.zdUser(edited[0]?.zdId ?? 0)).name, 'Again Kimura');
    });
  });

  describe('token refresh', () => {
    it('with short-lived access tokens work keeps succeeding across expiries, each rotated refresh token used once', async () => {
      const customers = new AccountView(system, await system.addAccount({ accessTokenTtlSeconds: 4 }));
      const { zendeskSubdomain } = customers.account;
      const customer = await customers.createLinkedCustomer({ firstName: 'Riku', lastName: 'Endo' });
      const rotations = async () => (await system.zendesk.client.oauthLog(zendeskSubdomain)).refreshAttempts.length;

      let round = 0;
      const deadline = Date.now() + 40_000;
      while ((await rotations()) < 3) {
        assert.ok(Date.now() < deadline, 'the access token was not refreshed three times');
        const firstName = `Riku${String.fromCharCode(65 + (round++ % 26))}`;
        await system.storeganise.client.updateUser(customers.account.subdomain, customer.sgId, { firstName });
        await eventually(async () => assert.equal((await customers.zdUser(customer.zdId)).name, `${firstName} Endo`));
        await sleep(700); // pacing: let time pass so tokens expire between rounds
      }
      await system.settle(customers.account);

      const log = await system.zendesk.client.oauthLog(zendeskSubdomain);
      assert.deepEqual(
        log.refreshAttempts.filter((a) => a.outcome !== 'rotated'),
        [],
        'no refresh was refused (no invalid_grant)',
      );
      const refreshed = log.refreshAttempts.map((a) => a.grantId);
      assert.equal(new Set(refreshed).size, refreshed.length, 'each refresh token was presented once');
      const byId = new Map(log.grants.map((g) => [g.id, g]));
      const chain = log.grants.filter((g) => g.origin === 'refresh_token');
      assert.ok(chain.length >= 3);
      for (const grant of chain) {
        assert.ok(
          grant.rotatedFromId !== null && byId.get(grant.rotatedFromId)?.refreshedAt,
          'each new pair replaces a used one',
        );
      }
      assert.equal(
        log.grants.filter((g) => g.origin === 'authorization_code').length,
        1,
        'one authorization for the whole run',
      );
      assert.equal((await customers.tasks(AUTHORIZE_TASK_TITLE)).length, 1, 'nobody was asked to authorize again');
      assert.equal(await paused(customers.account), 0);
    });
  });

  describe('disconnect', () => {
    it('the operator disconnect removes the webhook, revokes the token, and later events are ignored', async () => {
      const customers = new AccountView(system, await system.addAccount());
      const { subdomain, zendeskSubdomain } = customers.account;
      const customer = await customers.createLinkedCustomer({ firstName: 'Daichi', lastName: 'Fujita' });
      const [webhook] = await ourWebhooks(customers.account);
      assert.ok(webhook);

      const refused = await operatorCall(system, 'POST', `/operator/accounts/${subdomain}/disconnect`, null);
      assert.equal(refused.status, 401);
      assert.equal((await ourWebhooks(customers.account)).length, 1, 'a refused call changes nothing');

      const answer = await operatorCall(system, 'POST', `/operator/accounts/${subdomain}/disconnect`);
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(await ourWebhooks(customers.account), [], 'the webhook is removed from Zendesk');
      const live = (await system.zendesk.client.oauthLog(zendeskSubdomain)).grants.filter(
        (g) => !g.revoked && g.refreshedAt === null,
      );
      assert.deepEqual(live, [], 'no token of the grant still works');
      const view = await accountView(customers.account);
      assert.equal(view.connection, 'disconnected');
      assert.equal(view.hasWebhookSecret, false);

      const mark = await customers.mark();
      await system.storeganise.client.updateUser(subdomain, customer.sgId, { firstName: 'Ignored' });
      await system.storeganise.idle();
      const deliveries = await system.storeganise.client.deliveries(subdomain);
      assert.equal(deliveries.at(-1)?.status, 200, 'Storeganise is still answered');

      const eventId = randomBytes(12).toString('hex');
      const direct = await postStoreganiseWebhook(
        system,
        storeganiseWebhookBody(system, customers.account, {
          id: eventId,
          type: 'user.updated',
          data: { userId: customer.sgId, changedKeys: ['firstName'] },
        }),
      );
      assert.equal(direct.status, 200, direct.text);
      assert.equal((direct.json as { status?: string }).status, 'ignored');
      await assert.rejects(
        system.client.workflow.getHandle(storeganiseEventWorkflowId(subdomain, eventId)).describe(),
        WorkflowNotFoundError,
        'no sync was started',
      );

      const fromZendesk = await postZendeskEvent(
        system,
        subdomain,
        zendeskEventBody({
          type: 'zen:event-type:user.name_changed',
          zendeskUserId: customer.zdId,
          externalId: customer.sgId,
        }),
        { secret: webhook.signingSecret },
      );
      assert.equal(fromZendesk.status, 200, fromZendesk.text);
      assert.equal((fromZendesk.json as { status?: string }).status, 'ignored');

      await system.settle(customers.account);
      assert.deepEqual(await customers.zendeskRequests(mark), [], 'Zendesk is not called for a disconnected account');
      assert.equal((await customers.zdUser(customer.zdId)).name, 'Daichi Fujita');
    });
  });
});
