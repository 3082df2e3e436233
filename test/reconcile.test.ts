import assert from 'node:assert/strict';
import {
  reconcileStatusQuery,
  reconcileWorkflowId,
  RECONCILE_MEMO_KEY,
  type ReconcileStatus,
} from '../workflows/definitions';
import { AccountView, uniqueEmail } from './support/customers';
import { eventually } from './support/eventually';
import { operatorCall } from './support/signed-requests';
import { TestSystem } from './support/system';

/**
 * Reconciliation (issue 10): the account's safety net, made frequent here through configuration
 * (RECONCILE_INTERVAL=5s, and the sandbox Zendesk's export handing out changes after 1 s instead of
 * a minute). Every assertion is about what a user sees: records on both sides, the calls made,
 * and what the reconciliation reports.
 */
describe('reconciliation: the safety net for missed webhooks', function () {
  this.timeout(180_000);
  let system: TestSystem;
  let acme: AccountView;

  before(async function () {
    this.timeout(180_000);
    system = await TestSystem.start({ RECONCILE_INTERVAL: '5s', CONFLICT_SETTLE_SECONDS: '5' });
    acme = new AccountView(system, await system.addAccount());
    await system.zendesk.client.updateAccount(acme.account.zendeskSubdomain, { exportMinAgeSeconds: 1 });
  });
  after(async () => system?.close());

  const status = (): Promise<ReconcileStatus> =>
    system.client.workflow.getHandle(reconcileWorkflowId(acme.account.subdomain)).query(reconcileStatusQuery);

  /** Waits until reconciliation has completed `runs` more runs than `since`. */
  async function runsAfter(since: ReconcileStatus, runs: number): Promise<ReconcileStatus> {
    return eventually(
      async () => {
        const now = await status();
        assert.ok(
          now.totals.runs >= since.totals.runs + runs,
          `reconciliation ran ${now.totals.runs - since.totals.runs} of ${runs} more times (state ${now.state})`,
        );
        return now;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
  }

  it('runs on its interval from the first authorization, and says so in a query and its memo', async () => {
    const first = await status();
    assert.equal(first.intervalMs, 5_000);
    const later = await runsAfter(first, 1);
    assert.ok(later.lastRun !== null && later.lastRun.finishedAt !== null, 'a finished run is reported');
    const memo = (await system.client.workflow.getHandle(reconcileWorkflowId(acme.account.subdomain)).describe())
      .memo?.[RECONCILE_MEMO_KEY] as ReconcileStatus | undefined;
    assert.ok(memo && memo.totals.runs >= 1, 'the memo holds the status for readers without a worker');
  });

  it('a Storeganise edit whose webhook was dropped reaches Zendesk at the next reconciliation, once, counted as a repair', async () => {
    const customer = await acme.createLinkedCustomer({ firstName: 'Mei', lastName: 'Sato' });
    const before = await status();
    const mark = await acme.mark();
    await system.storeganise.client.setFaults(acme.account.subdomain, { webhooks: { dropRate: 1 } });
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { lastName: 'Satoh' });
    await system.storeganise.client.setFaults(acme.account.subdomain, {});
    const [event] = (await system.storeganise.client.events(acme.account.subdomain)).slice(-1);
    assert.equal(event?.dropped, true, 'the webhook was dropped on purpose');

    await eventually(async () => assert.equal((await acme.zdUser(customer.zdId)).name, 'Mei Satoh'), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const repaired = await eventually(async () => {
      const now = await status();
      assert.ok(now.totals.repaired > before.totals.repaired, 'the repair is counted');
      return now;
    });
    // Two more runs: neither writes it again.
    await runsAfter(repaired, 2);
    await system.settle(acme.account);
    const zendeskWrites = await acme.zendeskWrites(mark);
    assert.deepEqual(
      zendeskWrites.map((w) => `${w.method} ${w.path.split('/api/v2')[1]?.replace(/\.json$/, '') ?? w.path}`),
      [`PUT /users/${customer.zdId}`],
      'one Zendesk write, the repair',
    );
    assert.deepEqual(await acme.storeganiseWrites(mark), [], 'nothing written back to Storeganise');
  });

  it('a Zendesk edit whose webhook was dropped reaches Storeganise at the next reconciliation, once, counted as a repair', async () => {
    const customer = await acme.createLinkedCustomer({ firstName: 'Kaito', lastName: 'Ueda' });
    const before = await status();
    const mark = await acme.mark();
    await system.zendesk.client.setFaults(acme.account.zendeskSubdomain, { webhooks: { dropRate: 1 } });
    await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, customer.zdId, { name: 'Kaito Uehara' });
    await system.zendesk.client.setFaults(acme.account.zendeskSubdomain, {});
    const dropped = (await system.zendesk.client.events(acme.account.zendeskSubdomain)).filter(
      (e) => e.droppedWebhookIds.length > 0,
    );
    assert.ok(dropped.length > 0, 'the webhook was dropped on purpose');

    await eventually(async () => assert.equal((await acme.sgUser(customer.sgId)).lastName, 'Uehara'), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const repaired = await eventually(async () => {
      const now = await status();
      assert.ok(now.totals.repaired > before.totals.repaired, 'the repair is counted');
      return now;
    });
    await runsAfter(repaired, 2);
    await system.settle(acme.account);
    assert.deepEqual(
      (await acme.storeganiseWrites(mark)).map((w) => `${w.method} ${w.path.split('/').at(-1) ?? ''}`),
      [`PUT ${customer.sgId}`],
      'one Storeganise write, the repair',
    );
    assert.deepEqual(await acme.zendeskWrites(mark), [], 'nothing written back to Zendesk');
  });

  it('edits made on both sides while the account was disconnected land after it is authorized again', async () => {
    const onStoreganise = await acme.createLinkedCustomer({
      firstName: 'Nao',
      lastName: 'Kita',
      phone: '090-1111-2222',
    });
    const onZendesk = await acme.createLinkedCustomer({ firstName: 'Ryo', lastName: 'Mine' });
    const disconnect = await operatorCall(system, 'POST', `/operator/accounts/${acme.account.subdomain}/disconnect`);
    assert.equal(disconnect.status, 200, disconnect.text);
    // Let a reconciliation try while disconnected: it waits for an authorization. A worker that
    // still holds the revoked token learns of it from the one call Zendesk refuses; nothing is read.
    const mark = await acme.mark();
    await eventually(async () => assert.equal((await status()).state, 'awaiting-authorization'), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await system.storeganise.client.updateUser(acme.account.subdomain, onStoreganise.sgId, { phone: '090-3333-4444' });
    await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, onZendesk.zdId, { name: 'Ryo Minami' });
    await system.settle(acme.account);
    const calls = await acme.zendeskRequests(mark);
    assert.deepEqual(
      calls.filter((call) => call.status !== 401),
      [],
      'Zendesk reads and writes nothing while disconnected',
    );
    assert.ok(
      calls.length <= 1,
      `at most the one refused call that tells a worker its token was revoked: ${calls.length}`,
    );
    assert.equal(
      (await acme.zdUser(onStoreganise.zdId)).phone,
      '+819011112222',
      'the edit did not reach Zendesk while disconnected',
    );

    const again = await system.authorize(acme.account);
    assert.equal(again.status, 200, again.body);
    await eventually(
      async () => {
        assert.equal((await acme.zdUser(onStoreganise.zdId)).phone, '+819033334444');
        assert.equal((await acme.sgUser(onZendesk.sgId)).lastName, 'Minami');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it('edits made while the account waits for a new authorization (access revoked) land after it', async () => {
    const customer = await acme.createLinkedCustomer({ firstName: 'Aya', lastName: 'Oda' });
    const other = await acme.createLinkedCustomer({ firstName: 'Sho', lastName: 'Ide' });
    await system.zendesk.client.revokeOAuth(acme.account.zendeskSubdomain);
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { firstName: 'Ayaka' });
    // This one's webhook is lost as well: only reconciliation can bring it.
    await system.zendesk.client.setFaults(acme.account.zendeskSubdomain, { webhooks: { dropRate: 1 } });
    await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, other.zdId, { name: 'Sho Idegawa' });
    await system.zendesk.client.setFaults(acme.account.zendeskSubdomain, {});
    await eventually(
      async () =>
        assert.equal(
          (
            await system.client.workflow.count(
              `SyncAccount = '${acme.account.subdomain}' AND SyncState = 'awaiting-authorization' AND ExecutionStatus = 'Running'`,
            )
          ).count >= 1,
          true,
        ),
      { timeoutMs: 30_000 },
    );

    assert.equal((await system.authorize(acme.account)).status, 200);
    await eventually(
      async () => {
        assert.equal((await acme.zdUser(customer.zdId)).name, 'Ayaka Oda');
        assert.equal((await acme.sgUser(other.sgId)).lastName, 'Idegawa');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it('a customer created while its webhook was lost gets its Zendesk user from the next reconciliation', async () => {
    await system.storeganise.client.setFaults(acme.account.subdomain, { webhooks: { dropRate: 1 } });
    const email = uniqueEmail('lost');
    const created = await system.storeganise.client.createUser(acme.account.subdomain, {
      firstName: 'Lost',
      lastName: 'Webhook',
      email,
    });
    await system.storeganise.client.setFaults(acme.account.subdomain, {});
    const zd = await eventually(
      async () => {
        const [user, ...twins] = await acme.zdUsersWithExternalId(created.id);
        assert.ok(user, 'no Zendesk user yet');
        assert.deepEqual(twins, []);
        return user;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.equal(zd.email, email);
    await eventually(async () =>
      assert.equal((await acme.sgUser(created.id)).customFields?.zendesk_userId, String(zd.id)),
    );
  });
});
