import assert from 'node:assert/strict';
import http from 'node:http';
import { WorkflowNotFoundError } from '@temporalio/client';
import { accountQuery, accountWorkflowId, customerWorkflowId, storeganiseCustomer } from '../workflows/definitions';
import { AccountView, type LinkedCustomer } from './support/customers';
import { eventually } from './support/eventually';
import { TestSystem } from './support/system';

interface Answer {
  status: number;
  code: string | null;
}

const subdomainShapes = ['Bad_Sub', 'a'.repeat(64), '-acme', 'acme-', 'a%20b', '%C3%A9t%C3%A9'];
const extraInput: Array<[string, { query?: string; body?: string }]> = [
  ['a query string', { query: '?force=true' }],
  ['a JSON body', { body: '{"userId":"64f000000000000000000001"}' }],
];

describe('Operator endpoints: every input is checked, and bad input starts nothing', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let acme: AccountView;
  let customer: LinkedCustomer;

  before(async function () {
    this.timeout(180_000);
    system = await TestSystem.start();
    acme = new AccountView(system, await system.addAccount());
    customer = await acme.createLinkedCustomer({ firstName: 'Nao', lastName: 'Ishii' });
  });
  after(async () => system?.close());

  const sub = (): string => acme.account.subdomain;

  /** With a body on a GET too, as any HTTP client may send one. */
  function call(
    method: 'GET' | 'POST',
    path: string,
    extra: { query?: string; body?: string } = {},
    token = system.config.operatorToken,
  ): Promise<Answer> {
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
    if (extra.body !== undefined)
      Object.assign(headers, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(extra.body)),
      });
    return new Promise((resolve, reject) => {
      const req = http.request(`${system.apiUrl}${path}${extra.query ?? ''}`, { method, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const json = JSON.parse(text) as { error?: { code?: string } };
          resolve({ status: res.statusCode ?? 0, code: json.error?.code ?? null });
        });
      });
      req.on('error', reject);
      req.end(extra.body);
    });
  }

  /** Signals and updates the account workflow has received so far: what a recheck or a disconnect would add. */
  async function accountMessages(subdomain: string): Promise<number> {
    const history = await system.client.workflow.getHandle(accountWorkflowId(subdomain)).fetchHistory();
    return (history.events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes || e.workflowExecutionUpdateAcceptedEventAttributes,
    ).length;
  }

  async function workflowsOf(subdomain: string): Promise<number> {
    return (await system.client.workflow.count(`SyncAccount = '${subdomain}'`)).count;
  }

  it('a caller without the operator token is refused 401 before any input is looked at', async () => {
    for (const path of [`/operator/accounts/Bad_Sub`, `/operator/accounts/${sub()}/customers/xyz/resync`]) {
      const answer = await call(path.endsWith('resync') ? 'POST' : 'GET', path, {}, null);
      assert.equal(answer.status, 401, path);
    }
    assert.equal(
      (await call('GET', `/operator/accounts/${sub()}`)).status,
      200,
      'the same request with the token is served',
    );
  });

  it('GET /operator/accounts/:subdomain answers 400 for a malformed subdomain or extra input, 404 for an unknown account, and the state for a known one', async () => {
    for (const shape of subdomainShapes)
      assert.deepEqual(
        await call('GET', `/operator/accounts/${shape}`),
        { status: 400, code: 'invalid_subdomain' },
        shape,
      );
    assert.deepEqual(await call('GET', '/operator/accounts/nobody-here'), { status: 404, code: 'unknown_account' });
    for (const [what, extra] of extraInput) {
      const answer = await call('GET', `/operator/accounts/${sub()}`, extra);
      assert.equal(answer.status, 400, what);
    }
    const known = await fetch(`${system.apiUrl}/operator/accounts/${sub()}`, {
      headers: { authorization: `Bearer ${system.config.operatorToken ?? ''}` },
    });
    assert.equal(known.status, 200);
    assert.equal(((await known.json()) as { connection: string }).connection, 'connected');
  });

  it('POST …/recheck-settings refuses bad input with 400 or 404 and signals nothing, while a good request signals the account once', async () => {
    const before = await accountMessages(sub());
    for (const shape of subdomainShapes)
      assert.deepEqual(
        await call('POST', `/operator/accounts/${shape}/recheck-settings`),
        { status: 400, code: 'invalid_subdomain' },
        shape,
      );
    assert.deepEqual(await call('POST', '/operator/accounts/nobody-here/recheck-settings'), {
      status: 404,
      code: 'unknown_account',
    });
    assert.deepEqual(await call('POST', `/operator/accounts/${sub()}/recheck-settings`, extraInput[0]?.[1]), {
      status: 400,
      code: 'unexpected_query',
    });
    assert.deepEqual(await call('POST', `/operator/accounts/${sub()}/recheck-settings`, extraInput[1]?.[1]), {
      status: 400,
      code: 'unexpected_body',
    });
    assert.equal(await accountMessages(sub()), before, 'the account received nothing');

    assert.equal((await call('POST', `/operator/accounts/${sub()}/recheck-settings`)).status, 202);
    assert.equal(await accountMessages(sub()), before + 1, 'the good request is one signal');
  });

  it('POST …/customers/:userId/resync answers 400 for a malformed id, 404 for an id Storeganise does not know, and starts nothing; a known customer is queued', async () => {
    const mark = await acme.mark();
    const workflowsBefore = await workflowsOf(sub());
    const malformed = ['a'.repeat(65), 'bad%20id', '-leading-dash', 'a.b', '%C3%A9'];
    for (const id of malformed)
      assert.deepEqual(
        await call('POST', `/operator/accounts/${sub()}/customers/${id}/resync`),
        { status: 400, code: 'invalid_user_id' },
        id,
      );
    // A malformed id is refused whatever the account, and a malformed account whatever the id.
    assert.deepEqual(await call('POST', `/operator/accounts/nobody-here/customers/bad%20id/resync`), {
      status: 400,
      code: 'invalid_user_id',
    });
    assert.deepEqual(await call('POST', `/operator/accounts/Bad_Sub/customers/${customer.sgId}/resync`), {
      status: 400,
      code: 'invalid_subdomain',
    });
    assert.deepEqual(await call('POST', `/operator/accounts/nobody-here/customers/${customer.sgId}/resync`), {
      status: 404,
      code: 'unknown_account',
    });
    for (const [what, extra] of extraInput)
      assert.equal(
        (await call('POST', `/operator/accounts/${sub()}/customers/${customer.sgId}/resync`, extra)).status,
        400,
        what,
      );
    const unknownIds = ['xyz', '000000000000000000000000', 'ffffffffffffffffffffffff'];
    for (const id of unknownIds)
      assert.deepEqual(
        await call('POST', `/operator/accounts/${sub()}/customers/${id}/resync`),
        { status: 404, code: 'unknown_customer' },
        id,
      );

    for (const id of unknownIds) {
      await assert.rejects(
        system.client.workflow.getHandle(customerWorkflowId(sub(), storeganiseCustomer(id))).describe(),
        WorkflowNotFoundError,
        `no entity workflow for ${id}`,
      );
    }
    assert.equal(await workflowsOf(sub()), workflowsBefore, 'no workflow was started');
    assert.deepEqual(await acme.zendeskRequests(mark), [], 'nothing reached Zendesk');
    const storeganiseCalls = await acme.storeganiseRequests(mark);
    assert.deepEqual(
      storeganiseCalls.filter((r) => r.method !== 'GET'),
      [],
      'nothing was written to Storeganise',
    );
    const lookups = storeganiseCalls
      .filter((r) => r.path.includes('/users'))
      .map((r) => r.path.replace(/^.*\/v1\/admin/, ''));
    assert.deepEqual(
      lookups.sort(),
      unknownIds.map((id) => `/users/${id}`).sort(),
      'only the well-formed ids were looked up',
    );

    // The positive control: the known customer is queued, and its run reads both sides.
    const queued = await call('POST', `/operator/accounts/${sub()}/customers/${customer.sgId}/resync`);
    assert.equal(queued.status, 202);
    await eventually(async () => assert.ok((await workflowsOf(sub())) > workflowsBefore, 'the resync started its run'));
    await system.settle(acme.account);
    assert.ok(
      (await acme.zendeskRequests(mark)).some((r) => r.method === 'GET' && r.path.includes(`/users/${customer.zdId}`)),
      'the run read the Zendesk user',
    );
  });

  it('POST …/disconnect refuses bad input with 400 or 404 and leaves the account connected, while a good request disconnects it', async () => {
    const before = await accountMessages(sub());
    for (const shape of subdomainShapes)
      assert.deepEqual(
        await call('POST', `/operator/accounts/${shape}/disconnect`),
        { status: 400, code: 'invalid_subdomain' },
        shape,
      );
    assert.deepEqual(await call('POST', '/operator/accounts/nobody-here/disconnect'), {
      status: 404,
      code: 'unknown_account',
    });
    assert.deepEqual(await call('POST', `/operator/accounts/${sub()}/disconnect`, extraInput[0]?.[1]), {
      status: 400,
      code: 'unexpected_query',
    });
    assert.deepEqual(await call('POST', `/operator/accounts/${sub()}/disconnect`, extraInput[1]?.[1]), {
      status: 400,
      code: 'unexpected_body',
    });
    assert.equal(await accountMessages(sub()), before, 'the account received nothing');
    const account = system.client.workflow.getHandle(accountWorkflowId(sub()));
    assert.equal((await account.query(accountQuery)).connection, 'connected');
    assert.equal(
      (await system.zendesk.client.webhooks(acme.account.zendeskSubdomain)).length,
      1,
      'the webhook is still registered',
    );

    const done = await call('POST', `/operator/accounts/${sub()}/disconnect`);
    assert.equal(done.status, 200);
    assert.equal((await account.query(accountQuery)).connection, 'disconnected');
    assert.equal(
      (await system.zendesk.client.webhooks(acme.account.zendeskSubdomain)).length,
      0,
      'the good request removed the webhook',
    );
  });
});
