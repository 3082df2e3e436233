import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AccountView, startWithAccount, uniqueEmail, type LinkedCustomer } from './support/customers';
import { eventually } from './support/eventually';
import { TestSystem } from './support/system';
import { customerStatusQuery, customerWorkflowId } from '../workflows/definitions';
import { isZendeskUserEvent, storeganiseUserEventEffect } from '../domain/events';

/** When each event workflow of a customer ran, as the Web UI shows it: from its start to its close. */
async function eventIntervals(
  system: TestSystem,
  subdomain: string,
  customer: string,
): Promise<Array<{ id: string; from: number; to: number }>> {
  const intervals: Array<{ id: string; from: number; to: number }> = [];
  for await (const execution of system.client.workflow.list({
    query: `SyncAccount = '${subdomain}' AND SyncCustomer = '${customer}' AND WorkflowType != 'customerLock'`,
  })) {
    if (execution.closeTime)
      intervals.push({
        id: execution.workflowId,
        from: execution.startTime.getTime(),
        to: execution.closeTime.getTime(),
      });
  }
  return intervals.sort((a, b) => a.from - b.from);
}

describe('ordering, duplicates, loops and faults', function () {
  this.timeout(120_000);
  let system: TestSystem;
  let acme: AccountView;

  before(async function () {
    ({ system, acme } = await startWithAccount(this));
  });
  after(async () => system?.close());

  describe('loop-freedom', () => {
    for (const [side, field] of [
      ['Storeganise', 'name'],
      ['Storeganise', 'phone'],
      ['Storeganise', 'email'],
      ['Zendesk', 'name'],
      ['Zendesk', 'phone'],
      ['Zendesk', 'email'],
    ] as const) {
      it(`a ${field} edit in ${side} produces at most one write on the other side and none back`, async () => {
        const customer = await acme.createLinkedCustomer({ phone: '090-2468-1357' });
        const mark = await acme.mark();
        if (side === 'Storeganise') {
          const patch = {
            name: { firstName: 'Edited' },
            phone: { phone: '090-2468-0000' },
            email: { email: uniqueEmail('edited') },
          }[field];
          await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, patch);
        } else {
          const patch = {
            name: { name: 'Edited Person' },
            phone: { phone: '+81 90 2468 0000' },
            email: { email: uniqueEmail('edited') },
          }[field];
          await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, customer.zdId, patch);
        }
        await eventually(async () => {
          const writes = side === 'Storeganise' ? await acme.zendeskWrites(mark) : await acme.storeganiseWrites(mark);
          assert.ok(writes.length > 0, 'the change has not reached the other side yet');
        });
        await system.settle(acme.account);
        const [onOtherSide, backOnSource] =
          side === 'Storeganise'
            ? [await acme.zendeskWrites(mark), await acme.storeganiseWrites(mark)]
            : [await acme.storeganiseWrites(mark), await acme.zendeskWrites(mark)];
        assert.equal(
          onOtherSide.length,
          1,
          `one write on the other side: ${onOtherSide.map((w) => `${w.method} ${w.path}`).join(', ')}`,
        );
        assert.equal(
          backOnSource.length,
          0,
          `no write back: ${backOnSource.map((w) => `${w.method} ${w.path}`).join(', ')}`,
        );
      });
    }
  });

  it('a burst of edits delivered duplicated and reordered ends at the latest edit, with one Zendesk user and events that never overlapped', async () => {
    const customer = await acme.createLinkedCustomer();
    const webhooks = { duplicate: 2, reorderWindowMs: 400 };
    await system.storeganise.client.setFaults(acme.account.subdomain, { webhooks });
    await system.zendesk.client.setFaults(acme.account.zendeskSubdomain, { webhooks });
    try {
      for (let i = 1; i <= 5; i++)
        await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { firstName: `Burst${i}` });
      await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, customer.zdId, {
        phone: '+81 3 6666 7777',
      });
      for (let i = 6; i <= 8; i++)
        await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { firstName: `Burst${i}` });
      await system.settle(acme.account, 60_000);
    } finally {
      await system.storeganise.client.setFaults(acme.account.subdomain, {});
      await system.zendesk.client.setFaults(acme.account.zendeskSubdomain, {});
    }
    const zd = await acme.zdUser(customer.zdId);
    const sg = await acme.sgUser(customer.sgId);
    assert.equal(zd.name, 'Burst8 Suzuki');
    assert.equal(sg.firstName, 'Burst8');
    assert.equal(sg.phone, '+81366667777');
    assert.equal(zd.phone, '+81 3 6666 7777');
    assert.equal((await acme.zdUsersWithExternalId(customer.sgId)).length, 1, 'one Zendesk user for the customer');

    const intervals = await eventIntervals(system, acme.account.subdomain, `sg:${customer.sgId}`);
    // Each event the sandboxes sent about the customer is an execution of its own, or an outcome its customer recorded (an echo, or covered by a later event's run).
    const { outcomes } = await system.client.workflow
      .getHandle(customerWorkflowId(acme.account.subdomain, `sg:${customer.sgId}`))
      .query(customerStatusQuery);
    const accounted = new Set([
      ...outcomes.map((o) => o.eventId),
      ...intervals.map((i) => i.id.split(':').slice(2).join(':')),
    ]);
    const sent = [
      ...(await system.storeganise.client.events(acme.account.subdomain))
        .filter(
          (e) =>
            e.data.userId === customer.sgId &&
            storeganiseUserEventEffect(
              e.type,
              Array.isArray(e.data.changedKeys) ? e.data.changedKeys.map(String) : null,
            ) !== null,
        )
        .map((e) => e.id),
      ...(await system.zendesk.client.events(acme.account.zendeskSubdomain))
        .filter(
          (e) =>
            e.envelope.detail.id === String(customer.zdId) &&
            e.webhookIds.length > 0 &&
            isZendeskUserEvent(e.envelope.type),
        )
        .map((e) => e.envelope.id),
    ];
    assert.ok(sent.length >= 9, `the burst sent every edit (${sent.length})`);
    assert.deepEqual(
      sent.filter((id) => !accounted.has(id)),
      [],
      'every event sent is accounted for',
    );
    for (let i = 1; i < intervals.length; i++) {
      const [previous, current] = [intervals[i - 1], intervals[i]];
      assert.ok(previous && current && previous.to <= current.from, `${previous?.id} and ${current?.id} overlapped`);
    }
  });

  it('every change lands through a Zendesk 429 storm and 30% Zendesk server errors, and no request goes out before Retry-After', async function () {
    this.timeout(240_000);
    const stormy = new AccountView(
      system,
      await system.addAccount({ rateLimitPerMinute: 6, rateLimitWindowSeconds: 2 }),
    );
    const customers: LinkedCustomer[] = [];
    for (let i = 0; i < 4; i++) customers.push(await stormy.createLinkedCustomer());
    await system.zendesk.client.setFaults(stormy.account.zendeskSubdomain, { errorRate: 0.3, errorStatus: 503 });
    await system.storeganise.client.setFaults(stormy.account.subdomain, { errorRate: 0.1, errorStatus: 502 });
    const mark = await stormy.mark();
    // The sandbox, the API and the worker share this process's event loop: a stall there delays
    // both the worker's reading of a 429 and the sandbox's recording of requests already sent.
    const stalls = monitorEventLoopDelay({ resolution: 10 });
    stalls.enable();
    try {
      await Promise.all(
        customers.map((c, i) =>
          system.storeganise.client.updateUser(stormy.account.subdomain, c.sgId, {
            firstName: `Storm${i}`,
            phone: `090-1000-200${i}`,
          }),
        ),
      );
      await Promise.all(
        customers.map((c, i) =>
          system.zendesk.client.updateUser(stormy.account.zendeskSubdomain, c.zdId, { notes: `agent note ${i}` }),
        ),
      );
      await eventually(
        async () => {
          for (const [i, c] of customers.entries()) {
            const zd = await stormy.zdUser(c.zdId);
            assert.equal(zd.name, `Storm${i} Suzuki`);
            assert.equal(zd.phone, `+81901000200${i}`);
          }
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      await system.settle(stormy.account, 90_000);
    } finally {
      stalls.disable();
      await system.zendesk.client.setFaults(stormy.account.zendeskSubdomain, {});
      await system.storeganise.client.setFaults(stormy.account.subdomain, {});
    }
    const requests = await stormy.zendeskRequests(mark);
    const limited = requests.filter((r) => r.status === 429);
    assert.ok(limited.length > 0, 'the storm produced 429s');
    // A request already on the wire when the 429 was answered is not a retry: allow a loopback
    // round trip, and the longest stall of the shared event loop (nanoseconds in the histogram).
    const inFlightMs = 100 + stalls.max / 1e6;
    for (const answer of limited) {
      const until = answer.atMs + (answer.retryAfterSeconds ?? 0) * 1000;
      const early = requests.filter((r) => r.atMs > answer.atMs + inFlightMs && r.atMs < until);
      assert.deepEqual(
        early.map((r) => `${r.method} ${r.path} at +${r.atMs - answer.atMs} ms`),
        [],
        `requests sent before the Retry-After of the 429 at ${answer.at} elapsed (in flight: up to ${Math.round(inFlightMs)} ms)`,
      );
    }
  });

  it("one account's hard Zendesk rate limit does not hold back another account", async () => {
    const throttled = new AccountView(
      system,
      await system.addAccount({ rateLimitPerMinute: 1000, rateLimitWindowSeconds: 60 }),
    );
    const free = new AccountView(system, await system.addAccount());
    const throttledCustomers = [await throttled.createLinkedCustomer(), await throttled.createLinkedCustomer()];
    const freeCustomers = [
      await free.createLinkedCustomer(),
      await free.createLinkedCustomer(),
      await free.createLinkedCustomer(),
    ];
    await system.zendesk.client.updateAccount(throttled.account.zendeskSubdomain, { rateLimitPerMinute: 1 });
    for (const [i, c] of throttledCustomers.entries())
      await system.storeganise.client.updateUser(throttled.account.subdomain, c.sgId, { firstName: `Held${i}` });
    await eventually(async () =>
      assert.ok(
        (await throttled.zendeskRequests({ zendesk: 0 })).some((r) => r.status === 429),
        'the throttled account is being refused',
      ),
    );

    const started = Date.now();
    for (const [i, c] of freeCustomers.entries())
      await system.storeganise.client.updateUser(free.account.subdomain, c.sgId, { firstName: `Free${i}` });
    await eventually(async () => {
      for (const [i, c] of freeCustomers.entries()) assert.equal((await free.zdUser(c.zdId)).name, `Free${i} Suzuki`);
    });
    const elapsed = Date.now() - started;
    const stillHeld = await Promise.all(throttledCustomers.map(async (c) => (await throttled.zdUser(c.zdId)).name));
    assert.ok(
      stillHeld.some((name) => !name.startsWith('Held')),
      'the throttled account is still waiting for its Retry-After',
    );
    assert.ok(elapsed < 15_000, `the other account's changes landed while the first was throttled (${elapsed} ms)`);
  });
});
