import assert from 'node:assert/strict';
import { emptyFacts } from '../domain/convergence';
import { storeganiseCustomer, storeganiseEventWorkflowId, type SyncRunResult } from '../workflows/definitions';
import { syncCustomer } from '../workflows/sync-customer';
import { AccountView, startWithAccount } from './support/customers';
import { eventually } from './support/eventually';
import { TestSystem } from './support/system';

describe('workflows on a real Temporal server', function () {
  this.timeout(90_000);
  let system: TestSystem;
  let acme: AccountView;

  before(async function () {
    ({ system, acme } = await startWithAccount(this));
  });
  after(async () => system?.close());

  it('a workflow started through the Temporal client is run by the worker and its result observed', async () => {
    const customer = await acme.createLinkedCustomer();
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { lastName: 'Kobayashi' });
    await system.settle(acme.account);
    const { subdomain, addonId } = acme.account;
    const apiUrl = system.storeganise.urlTemplate.replace('{subdomain}', subdomain);
    const eventId = `manual-${customer.sgId}`;
    const workflowId = storeganiseEventWorkflowId(subdomain, eventId);
    const lead = {
      eventId,
      workflowId,
      source: 'operator' as const,
      type: 'manual',
      at: null,
      edits: [],
      fields: ['name' as const],
      contactsChanged: false,
      zendeskUserId: null,
      linkOnly: false,
      mayCreate: false,
    };
    const result: SyncRunResult = await system.client.workflow.execute(syncCustomer, {
      taskQueue: system.config.temporal.taskQueue,
      workflowId,
      args: [
        {
          account: { subdomain, apiUrl, addonId },
          customer: storeganiseCustomer(customer.sgId),
          lead,
          covers: [],
          fields: ['name'],
          facts: emptyFacts(),
          mayCreate: false,
          linkOnly: false,
        },
      ],
    });
    assert.equal(result.outcome, 'unchanged', 'the name already reached Zendesk through the webhook');
    assert.deepEqual(result.written, { storeganise: [], zendesk: [] });
    assert.ok(
      result.notes.some((n) => n.includes(String(customer.zdId))),
      result.notes.join('; '),
    );
    assert.equal((await acme.zdUser(customer.zdId)).name, 'Hanako Kobayashi');
  });

  it('an operator re-drives a customer after a lost webhook: the resync runs in order and writes what differs', async () => {
    const customer = await acme.createLinkedCustomer();
    // While the add-on is paused Storeganise sends no webhooks: this change is never announced.
    await system.storeganise.client.updateAccount(acme.account.subdomain, { addonState: 'paused' });
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { lastName: 'Missed' });
    await system.settle(acme.account);
    assert.equal((await acme.zdUser(customer.zdId)).name, 'Hanako Suzuki', 'the change was not announced');
    await system.storeganise.client.updateAccount(acme.account.subdomain, { addonState: 'enabled' });

    const url = `${system.apiUrl}/operator/accounts/${acme.account.subdomain}/customers/${customer.sgId}/resync`;
    assert.equal((await fetch(url, { method: 'POST' })).status, 401, 'operators only');
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${system.config.operatorToken ?? ''}` },
    });
    assert.equal(res.status, 202);
    const { workflowId } = (await res.json()) as { workflowId: string };
    const result = await eventually(() => system.client.workflow.getHandle<typeof syncCustomer>(workflowId).result());
    assert.equal(result.outcome, 'synced');
    assert.deepEqual(result.written.zendesk, ['name']);
    assert.equal((await acme.zdUser(customer.zdId)).name, 'Hanako Missed');
  });
});
