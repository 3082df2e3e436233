import assert from 'node:assert/strict';
import { listen, type RunningServer } from '../sandbox/common/http-server';
import { startStoreganiseSandbox, type SandboxSgAccount, type StoreganiseSandbox } from '../sandbox/storeganise';
import { startZendeskSandbox, type ZendeskSandbox } from '../sandbox/zendesk';

const ACCOUNT = 'acme';

/** Well below the injected latency, well above what a control call takes on a busy machine. */
const CONTROL_CALL_LIMIT_MS = 500;
const API_LATENCY_MS = 1_000;

/** Runs a control call and checks it was not held by the latency fault. */
async function answeredAtOnce<T>(what: string, call: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const value = await call();
  const elapsed = Date.now() - started;
  assert.ok(elapsed < CONTROL_CALL_LIMIT_MS, `${what} took ${elapsed} ms`);
  return value;
}

async function statusAndDuration(request: Promise<Response>): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const res = await request;
  await res.arrayBuffer();
  return { status: res.status, ms: Date.now() - started };
}

describe('sandbox faults common to both sandboxes', function () {
  let zendesk: ZendeskSandbox;
  let storeganise: StoreganiseSandbox;
  let receiver: RunningServer;
  let sgAccount: SandboxSgAccount;
  let zendeskToken: string;

  const zendeskApi = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${zendesk.url}/zendesk/${ACCOUNT}/api/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${zendeskToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    });

  const storeganiseApi = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${storeganise.url}/${ACCOUNT}/api/v1/admin${path}`, {
      method,
      headers: {
        authorization: `Addon ${sgAccount.addonId}|${sgAccount.addonApiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    });

  before(async function () {
    receiver = await listen((_req, res) => {
      res.statusCode = 200;
      res.end();
    });
    zendesk = await startZendeskSandbox();
    storeganise = await startStoreganiseSandbox({ webhookRetryDelaysMs: [20, 40, 80] });
  });

  after(async function () {
    await zendesk.close();
    await storeganise.close();
    await receiver.close();
  });

  beforeEach(async function () {
    await zendesk.client.reset();
    await storeganise.client.reset();
    await zendesk.client.createAccount({ subdomain: ACCOUNT });
    zendeskToken = (await zendesk.client.issueToken(ACCOUNT)).access_token;
    sgAccount = await storeganise.client.createAccount({
      subdomain: ACCOUNT,
      addonApiKey: 'addon-key',
      webhookUrl: `${receiver.url}/addon/storeganise`,
      webhookSecret: 'secret',
    });
  });

  afterEach(async function () {
    await zendesk.idle();
    await storeganise.idle();
  });

  describe('the control API is out of their reach', function () {
    it('Zendesk: control calls answer at once and in full under latency and forced answers, which stay for the API', async function () {
      await zendesk.client.setFaults(ACCOUNT, {
        latencyMs: API_LATENCY_MS,
        force: { status: 503, count: 1 },
        loseNextResponses: 1,
      });
      const user = await answeredAtOnce('create', () =>
        zendesk.client.createUser(ACCOUNT, { name: 'Agent Made', email: 'agent@example.com' }),
      );
      assert.equal(user.email, 'agent@example.com');
      const edited = await answeredAtOnce('update', () =>
        zendesk.client.updateUser(ACCOUNT, user.id, { name: 'Agent Edited' }),
      );
      assert.equal(edited.name, 'Agent Edited');
      assert.equal((await answeredAtOnce('read', () => zendesk.client.getUser(ACCOUNT, user.id))).name, 'Agent Edited');
      assert.equal((await answeredAtOnce('list', () => zendesk.client.listUsers(ACCOUNT))).length, 1);
      assert.ok(
        (await answeredAtOnce('changes', () => zendesk.client.changes(ACCOUNT))).every((c) => c.via === 'control'),
      );
      assert.deepEqual(
        (await answeredAtOnce('request log', () => zendesk.client.requests())).requests,
        [],
        'control calls are not API requests',
      );

      const forced = await statusAndDuration(zendeskApi('GET', '/users'));
      assert.equal(forced.status, 503, 'the forced answer was left for the API');
      assert.ok(forced.ms >= API_LATENCY_MS - 50, `the API waited ${forced.ms} ms`);
      await assert.rejects(
        zendeskApi('PUT', `/users/${user.id}`, { user: { notes: 'lost' } }),
        TypeError,
        'the lost answer was left for the API',
      );
      assert.equal((await statusAndDuration(zendeskApi('GET', '/users'))).status, 200);
      assert.deepEqual(
        (await zendesk.client.requests()).requests.map((r) => [r.method, r.status, r.lost]),
        [
          ['GET', 503, false],
          ['PUT', 200, true],
          ['GET', 200, false],
        ],
      );
    });

    it('Zendesk: control writes are answered at an error rate of 1 and at a lost-response rate of 1', async function () {
      await zendesk.client.setFaults(ACCOUNT, { errorRate: 1, errorStatus: 502 });
      const user = await zendesk.client.createUser(ACCOUNT, { name: 'Agent Made' });
      assert.equal((await zendesk.client.updateUser(ACCOUNT, user.id, { notes: 'kept' })).notes, 'kept');
      assert.equal(
        (await statusAndDuration(zendeskApi('GET', '/users'))).status,
        502,
        'the API gets the injected error',
      );

      await zendesk.client.setFaults(ACCOUNT, { lostResponseRate: 1 });
      assert.equal((await zendesk.client.updateUser(ACCOUNT, user.id, { notes: 'answered' })).notes, 'answered');
      await assert.rejects(
        zendeskApi('PUT', `/users/${user.id}`, { user: { notes: 'unanswered' } }),
        TypeError,
        'an API write loses its answer',
      );
      assert.equal((await zendesk.client.deleteUser(ACCOUNT, user.id)).active, false);
    });

    it('Storeganise: control calls answer at once and in full under latency and forced answers, which stay for the API', async function () {
      await storeganise.client.setFaults(ACCOUNT, {
        latencyMs: API_LATENCY_MS,
        force: { status: 429, count: 1, retryAfterSeconds: 3 },
        loseNextResponses: 1,
      });
      const user = await answeredAtOnce('create', () =>
        storeganise.client.createUser(ACCOUNT, { email: 'taro@example.com', firstName: 'Taro', lastName: 'Yamada' }),
      );
      const edited = await answeredAtOnce('update', () =>
        storeganise.client.updateUser(ACCOUNT, user.id, { firstName: 'Jiro' }),
      );
      assert.equal(edited.firstName, 'Jiro');
      assert.equal(
        (await answeredAtOnce('read', () => storeganise.client.getUser(ACCOUNT, user.id))).firstName,
        'Jiro',
      );
      assert.equal((await answeredAtOnce('list', () => storeganise.client.listUsers(ACCOUNT))).length, 1);
      assert.ok(
        (await answeredAtOnce('changes', () => storeganise.client.changes(ACCOUNT))).every((c) => c.via === 'control'),
      );
      assert.deepEqual(
        await answeredAtOnce('request log', () => storeganise.client.requests()),
        [],
        'control calls are not API requests',
      );

      const forced = await statusAndDuration(storeganiseApi('GET', '/users'));
      assert.equal(forced.status, 429, 'the forced answer was left for the API');
      assert.ok(forced.ms >= API_LATENCY_MS - 50, `the API waited ${forced.ms} ms`);
      await assert.rejects(
        storeganiseApi('PUT', `/users/${user.id}`, { lastName: 'Sato' }),
        TypeError,
        'the lost answer was left for the API',
      );
      assert.equal((await statusAndDuration(storeganiseApi('GET', '/users'))).status, 200);
      assert.deepEqual(
        (await storeganise.client.requests()).map((r) => [r.method, r.status, r.lost]),
        [
          ['GET', 429, false],
          ['PUT', 200, true],
          ['GET', 200, false],
        ],
      );
    });

    it('Storeganise: control writes are answered at an error rate of 1 and at a lost-response rate of 1', async function () {
      await storeganise.client.setFaults(ACCOUNT, { errorRate: 1, errorStatus: 502 });
      const user = await storeganise.client.createUser(ACCOUNT, {
        email: 'taro@example.com',
        firstName: 'Taro',
        lastName: 'Yamada',
      });
      assert.equal((await storeganise.client.updateUser(ACCOUNT, user.id, { disabled: true })).disabled, true);
      assert.equal(
        (await statusAndDuration(storeganiseApi('GET', '/users'))).status,
        502,
        'the API gets the injected error',
      );

      await storeganise.client.setFaults(ACCOUNT, { lostResponseRate: 1 });
      assert.equal((await storeganise.client.updateUser(ACCOUNT, user.id, { lastName: 'Sato' })).lastName, 'Sato');
      await assert.rejects(
        storeganiseApi('PUT', `/users/${user.id}`, { lastName: 'Suzuki' }),
        TypeError,
        'an API write loses its answer',
      );
      assert.equal((await storeganise.client.getUser(ACCOUNT, user.id)).lastName, 'Suzuki');
    });
  });

  describe('seeded randomness', function () {
    async function statuses(count: number): Promise<number[]> {
      const seen: number[] = [];
      for (let i = 0; i < count; i++) seen.push((await statusAndDuration(storeganiseApi('GET', '/users'))).status);
      return seen;
    }

    it('the same seed makes the same error decisions again, and another seed makes others', async function () {
      const faults = { errorRate: 0.5, errorStatus: 502, seed: 1234 };
      await storeganise.client.setFaults(ACCOUNT, faults);
      const first = await statuses(24);
      assert.ok(first.includes(200) && first.includes(502), `both outcomes occur: ${first.join(',')}`);
      await storeganise.client.setFaults(ACCOUNT, faults);
      assert.deepEqual(await statuses(24), first);
      await storeganise.client.setFaults(ACCOUNT, { ...faults, seed: 4321 });
      assert.notDeepEqual(await statuses(24), first);
    });

    it('the same seed drops the same webhooks again, and another seed drops others', async function () {
      await zendesk.client.createWebhook(ACCOUNT, {
        name: 'sync',
        endpoint: `${receiver.url}/hooks/zendesk`,
        subscriptions: ['zen:event-type:user.created'],
      });
      const dropPattern = async (seed: number): Promise<boolean[]> => {
        await zendesk.client.setFaults(ACCOUNT, { seed, webhooks: { dropRate: 0.5 } });
        const before = (await zendesk.client.events(ACCOUNT)).length;
        for (let i = 0; i < 16; i++) await zendesk.client.createUser(ACCOUNT, { name: `User ${seed} ${i}` });
        return (await zendesk.client.events(ACCOUNT)).slice(before).map((e) => e.droppedWebhookIds.length > 0);
      };
      const first = await dropPattern(7);
      assert.ok(first.includes(true) && first.includes(false), `some dropped, some sent: ${first.join(',')}`);
      assert.deepEqual(await dropPattern(7), first);
      assert.notDeepEqual(await dropPattern(8), first);
      await zendesk.idle();
      const delivered = (await zendesk.client.deliveries(ACCOUNT)).length;
      const kept = (await zendesk.client.events(ACCOUNT)).filter((e) => e.droppedWebhookIds.length === 0).length;
      assert.equal(delivered, kept, 'exactly the events not dropped were delivered');
    });
  });
});
