import assert from 'node:assert/strict';
import type { SyncResult } from '../workflows/definitions';
import { storeganiseEventWorkflowId } from '../workflows/definitions';
import type { syncStoreganiseUserEvent } from '../workflows/events';
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
    const result: SyncResult = await system.client.workflow.execute<typeof syncStoreganiseUserEvent>('syncStoreganiseUserEvent', {
      taskQueue: system.config.temporal.taskQueue,
      workflowId: storeganiseEventWorkflowId(subdomain, `manual-${customer.sgId}`),
      args: [{ account: { subdomain, apiUrl, addonId }, eventId: `manual-${customer.sgId}`, type: 'user.updated', userId: customer.sgId, changedKeys: ['lastName'] }],
    });
    assert.equal(result.outcome, 'unchanged', 'the name already reached Zendesk through the webhook');
    assert.equal(result.zendeskWrites, 0);
    assert.ok(result.notes.some((n) => n.includes(String(customer.zdId))), result.notes.join('; '));
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
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${system.config.operatorToken ?? ''}` } });
    assert.equal(res.status, 202);
    const { workflowId } = (await res.json()) as { workflowId: string };
    const result = await eventually(() => system.client.workflow.getHandle<typeof syncStoreganiseUserEvent>(workflowId).result());
    assert.equal(result.outcome, 'synced');
    assert.equal(result.zendeskWrites, 1);
    assert.equal((await acme.zdUser(customer.zdId)).name, 'Hanako Missed');
  });
});
