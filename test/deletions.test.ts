import assert from 'node:assert/strict';
import { customerStatusQuery, customerWorkflowId } from '../workflows/definitions';
import { AccountView, startWithAccount } from './support/customers';
import { eventually } from './support/eventually';
import { TestSystem } from './support/system';

describe('Zendesk deletions', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let acme: AccountView;

  before(async function () {
    ({ system, acme } = await startWithAccount(this));
  });
  after(async () => system?.close());

  it('the self-registered webhook hears deletions', async () => {
    const [webhook] = await system.zendesk.client.webhooks(acme.account.zendeskSubdomain);
    assert.ok(webhook);
    const subscribed = webhook.subscriptions.map((s) => s.replace('zen:event-type/', 'zen:event-type:'));
    for (const type of ['zen:event-type:user.active_changed', 'zen:event-type:user.deleted'])
      assert.ok(subscribed.includes(type), `${type} in ${subscribed.join(', ')}`);
  });

  it('a deletion in Zendesk is recorded for the customer, leaves Storeganise untouched, and a later Storeganise edit creates nothing', async () => {
    const customer = await acme.createLinkedCustomer({ firstName: 'Gone' });
    const before = await acme.sgUser(customer.sgId);
    await system.zendesk.client.deleteUser(acme.account.zendeskSubdomain, customer.zdId);
    await system.settle(acme.account);

    const { subdomain } = acme.account;
    const runs = await eventually(async () => {
      const found: string[] = [];
      for await (const run of system.client.workflow.list({
        query: `SyncAccount = '${subdomain}' AND SyncCustomer = 'sg:${customer.sgId}' AND SyncOutcome = 'deleted'`,
      }))
        found.push(run.workflowId);
      assert.ok(found.length > 0, 'no run recorded the deletion yet');
      return found;
    });
    assert.ok(
      runs.every((id) => id.startsWith(`zd-event:${subdomain}:`)),
      `the deletion's own webhook led the run: ${runs.join(', ')}`,
    );
    const { outcomes } = await system.client.workflow
      .getHandle(customerWorkflowId(subdomain, `sg:${customer.sgId}`))
      .query(customerStatusQuery);
    assert.ok(
      outcomes.some((o) => o.outcome === 'deleted'),
      `outcomes: ${outcomes.map((o) => o.outcome).join(', ')}`,
    );

    const after = await acme.sgUser(customer.sgId);
    assert.deepEqual(after, before, 'the Storeganise customer is untouched, its pointer keeps the deleted id');

    const mark = await acme.mark();
    await system.storeganise.client.updateUser(subdomain, customer.sgId, { firstName: 'Edited' });
    await system.settle(acme.account);
    assert.deepEqual(await acme.zendeskWrites(mark), [], 'nothing is created or written in Zendesk');
    assert.equal((await acme.zdUsersWithExternalId(customer.sgId)).length, 0);
    const { outcomes: later } = await system.client.workflow
      .getHandle(customerWorkflowId(subdomain, `sg:${customer.sgId}`))
      .query(customerStatusQuery);
    assert.equal(later.at(-1)?.outcome, 'deleted', 'the edit found the deletion again');
  });
});
