import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { indexedTypesOf } from '../lib/temporal';
import { resolveTemporalTestServer } from '../scripts/temporal-cli';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';
import { customerWorkflow } from '../workflows/customer';
import type { SyncActivities } from '../activities';
import type { AdminTask } from '../domain/tasks';
import { accountWorkflow, forgetExpired } from '../workflows/account';
import {
  customerStatusQuery,
  queueCustomerEventSignal,
  raiseAdminTaskUpdate,
  type AccountRef,
  type AccountSettingsView,
  type CustomerEvent,
} from '../workflows/definitions';

/**
 * Fast workflow tests on the time-skipping test server: the customer entity's timing paths (its
 * waits, its idle end, continue-as-new) and its order, with each run replaced by a stub
 * (test/workflows/entity-harness.ts). Minutes of workflow time take a moment.
 */
describe('the customer entity, on a time-skipping server', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  // Awaiting a result through env.client lets the server skip time until it completes, up to an
  // entity's 10-year default timeout; runs that already ended are read without that.
  let plain: Client;
  let bundle: WorkflowBundle;
  const taskQueue = `entity-fast-${randomBytes(3).toString('hex')}`;
  const account: AccountRef = { subdomain: 'fast', apiUrl: 'http://127.0.0.1:1/fast/api', addonId: 'addon1' };

  before(async function () {
    this.timeout(600_000);
    const server = await resolveTemporalTestServer((line) => console.log(line));
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: server } },
    });
    // The entity's runs carry the product's search attributes; the test server knows only those it is told.
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: indexedTypesOf(SEARCH_ATTRIBUTE_KEYS),
    });
    plain = new Client({ connection: env.connection });
    bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows/entity-harness'),
      logger: new DefaultLogger('ERROR'),
    });
  });
  after(async () => env?.teardown());

  let n = 0;
  const event = (over: Partial<CustomerEvent> = {}): CustomerEvent => {
    const eventId = `e${++n}-${randomBytes(3).toString('hex')}`;
    return {
      eventId,
      workflowId: `sg-event:fast:${eventId}`,
      source: 'storeganise',
      type: 'ok',
      at: null,
      edits: [],
      fields: ['name'],
      contactsChanged: false,
      zendeskUserId: null,
      linkOnly: false,
      mayCreate: false,
      ...over,
    };
  };
  const queue = (customer: string, e: CustomerEvent, settleMs?: number) =>
    env.client.workflow.signalWithStart(customerWorkflow, {
      workflowId: `customer:fast:${customer}`,
      taskQueue,
      args: [{ account, customer, ...(settleMs === undefined ? {} : { settleMs }) }],
      signal: queueCustomerEventSignal,
      signalArgs: [e],
    });
  const status = (customer: string) =>
    env.client.workflow.getHandle(`customer:fast:${customer}`).query(customerStatusQuery);
  const outcomeOf = async (customer: string, e: CustomerEvent) =>
    (await status(customer)).outcomes.find((o) => o.eventId === e.eventId);
  const runs = async (e: CustomerEvent) => {
    try {
      return await env.client.workflow.getHandle(e.workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  };

  const withWorker = async <T>(work: () => Promise<T>): Promise<T> => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: {},
    });
    return worker.runUntil(work);
  };

  it('events arriving while a run is in flight wait, then are served in one run named after the newest, in arrival order', () =>
    withWorker(async () => {
      const customer = `sg:order-${randomBytes(2).toString('hex')}`;
      const first = event({ type: 'slow:Ann' });
      const second = event({ type: 'ok:Bea' });
      const third = event({ type: 'ok:Cid' });
      await queue(customer, first);
      await env.sleep('1 second');
      await queue(customer, second);
      await queue(customer, third);
      await env.sleep('10 seconds');
      assert.equal((await outcomeOf(customer, first))?.outcome, 'synced');
      assert.equal((await outcomeOf(customer, third))?.outcome, 'synced');
      assert.deepEqual(await outcomeOf(customer, second).then((o) => o && { outcome: o.outcome, by: o.by }), {
        outcome: 'coalesced',
        by: third.workflowId,
      });
      assert.equal(await runs(second), null, 'the covered event has no run of its own');
      const [slow, last] = [await runs(first), await runs(third)];
      assert.ok(
        slow?.closeTime && last && last.startTime >= slow.closeTime,
        'the second run started after the first ended',
      );
      const result = (await plain.workflow.getHandle(third.workflowId).result()) as { notes: string[] };
      assert.ok(result.notes.includes(`covers ${second.eventId}`), result.notes.join(' / '));
    }));

  it('an event no newer than the agreement and carrying the agreed value is an echo: no run; a newer one runs', () =>
    withWorker(async () => {
      const customer = `sg:echo-${randomBytes(2).toString('hex')}`;
      await queue(customer, event({ type: 'ok:Ann' }));
      await env.sleep('2 seconds');
      const echo = event({ source: 'zendesk', at: 1_000, edits: [{ field: 'name', value: 'Ann' }] });
      await queue(customer, echo);
      await env.sleep('2 seconds');
      assert.equal((await outcomeOf(customer, echo))?.outcome, 'echo');
      assert.equal(await runs(echo), null, 'the echo started no run');
      const edit = event({ source: 'zendesk', at: 2_000, edits: [{ field: 'name', value: 'Bo' }], type: 'ok:Bo' });
      await queue(customer, edit);
      await env.sleep('2 seconds');
      assert.equal((await outcomeOf(customer, edit))?.outcome, 'synced', 'a newer edit of the same value is news');
      assert.notEqual(await runs(edit), null);
    }));

  it('Zendesk announcing the external id a run just wrote is an echo, once; the next change of it runs', () =>
    withWorker(async () => {
      const customer = `sg:link-${randomBytes(2).toString('hex')}`;
      await queue(customer, event({ type: 'link' }));
      await env.sleep('2 seconds');
      const announced = (): CustomerEvent =>
        event({
          source: 'zendesk',
          type: 'zen:event-type:user.external_id_changed',
          at: 5_000,
          fields: [],
          zendeskUserId: '1',
        });
      const echo = announced();
      await queue(customer, echo);
      await env.sleep('2 seconds');
      assert.equal((await outcomeOf(customer, echo))?.outcome, 'echo');
      assert.equal(await runs(echo), null, 'the echo started no run');
      const agentEdit = announced();
      await queue(customer, agentEdit);
      await env.sleep('2 seconds');
      assert.equal((await outcomeOf(customer, agentEdit))?.outcome, 'synced', 'a later change is an agent’s');
      assert.notEqual(await runs(agentEdit), null);
    }));

  it('a conflict that must wait is looked at again once the settle time has passed, without a new event', () =>
    withWorker(async () => {
      const customer = `sg:defer-${randomBytes(2).toString('hex')}`;
      await queue(customer, event({ type: 'defer' }), 30_000);
      await env.sleep('2 seconds');
      assert.deepEqual((await status(customer)).deferred, ['name']);
      await env.sleep('40 seconds');
      const after = await status(customer);
      assert.deepEqual(after.deferred, [], 'the settle run decided it');
      assert.ok(
        after.outcomes.some((o) => o.eventId.startsWith('settle-') && o.outcome === 'synced'),
        after.outcomes.map((o) => `${o.eventId}:${o.outcome}`).join(', '),
      );
    }));

  it('an unlinked Zendesk user’s entity ends after ten idle minutes; a customer’s entity stays', () =>
    withWorker(async () => {
      const tag = randomBytes(2).toString('hex');
      await queue(`zd:${tag}`, event({ source: 'zendesk', type: 'ok:Ann' }));
      await queue(`sg:stay-${tag}`, event());
      await env.sleep('11 minutes');
      const unlinked = await env.client.workflow.getHandle(`customer:fast:zd:${tag}`).describe();
      const linked = await env.client.workflow.getHandle(`customer:fast:sg:stay-${tag}`).describe();
      assert.equal(unlinked.status.name, 'COMPLETED');
      assert.equal(linked.status.name, 'RUNNING');
    }));

  it('continue-as-new carries the facts, the event ids already seen and the recorded outcomes to the next run', () =>
    withWorker(async () => {
      const customer = `sg:roll-${randomBytes(2).toString('hex')}`;
      const handle = env.client.workflow.getHandle(`customer:fast:${customer}`);
      const sent: CustomerEvent[] = [];
      let firstRunId: string | undefined;
      for (let i = 0; i < 60; i++) {
        const e = event({ type: `ok:Name${i}` });
        sent.push(e);
        await queue(customer, e);
        await env.sleep('1 second');
        firstRunId ??= (await handle.describe()).runId;
      }
      const description = await handle.describe();
      assert.notEqual(description.runId, firstRunId, 'the entity continued as new');
      const { outcomes } = await status(customer);
      const recorded = new Set(outcomes.map((o) => o.eventId));
      assert.ok(
        sent.slice(-50).every((e) => recorded.has(e.eventId)),
        'outcomes recorded before the new run are still there',
      );
      const last = sent.at(-1);
      assert.ok(last);
      const result = (await plain.workflow.getHandle(last.workflowId).result()) as { notes: string[] };
      assert.ok(
        result.notes.includes(`base {"name":"Name${sent.length - 2}"}`),
        `the facts went on: ${result.notes.join(' / ')}`,
      );

      const [redelivered] = sent;
      assert.ok(redelivered);
      const fresh = event({ type: 'ok:Fresh' });
      await queue(customer, redelivered);
      await queue(customer, fresh);
      await env.sleep('2 seconds');
      const after = (await status(customer)).outcomes;
      assert.equal((await outcomeOf(customer, fresh))?.outcome, 'synced', 'a new event still runs');
      assert.deepEqual(
        after.filter((o) => o.eventId === redelivered.eventId).map((o) => o.outcome),
        ['synced'],
        'a redelivery of an event seen before the roll is ignored: its one outcome is the first run',
      );
    }));
});

/**
 * The account workflow's memory of raised admin tasks, on a time-skipping server with its
 * activities replaced by stubs that count what would reach Storeganise.
 */
describe('the account workflow, on a time-skipping server', function () {
  this.timeout(300_000);
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundle;
  const taskQueue = `account-fast-${randomBytes(3).toString('hex')}`;
  const account: AccountRef = {
    subdomain: 'fast-account',
    apiUrl: 'http://127.0.0.1:1/fast-account/api',
    addonId: 'addon1',
  };
  const tasksCreated: AdminTask[] = [];
  const settings: AccountSettingsView = {
    ok: true,
    settings: {
      zendeskInstance: 'fast',
      sealedWebhookSecret: null,
      webhookSecretFingerprint: null,
      statusFieldKey: null,
      nameFormat: 'first_last',
      defaultCountryCode: 'JP',
    },
  };
  const activities: Partial<SyncActivities> = {
    ensureUserCustomFields: () => Promise.resolve([]),
    checkSettings: () => Promise.resolve(settings),
    raiseAuthorizeTask: () => Promise.resolve('authorize-task-1'),
    createAdminTask: (_account, task) => {
      tasksCreated.push(task);
      return Promise.resolve(`task-${tasksCreated.length}`);
    },
  };

  before(async function () {
    this.timeout(600_000);
    const server = await resolveTemporalTestServer((line) => console.log(line));
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: server } },
    });
    bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows/account'),
      logger: new DefaultLogger('ERROR'),
    });
  });
  after(async () => env?.teardown());

  it('a problem raises one task while its key is remembered; another problem raises its own', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities,
    });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(accountWorkflow, {
        workflowId: `account:${account.subdomain}`,
        taskQueue,
        args: [{ account }],
      });
      const raise = (key: string) =>
        handle.executeUpdate(raiseAdminTaskUpdate, {
          args: [{ key, task: { targetType: 'addon', targetId: account.addonId, title: `task ${key}`, desc: key } }],
        });
      assert.equal(await raise('conflict:a'), 'raised');
      await env.sleep('1 hour');
      assert.equal(await raise('conflict:a'), 'already-raised', 'the same problem an hour later: no second task');
      assert.equal(await raise('conflict:b'), 'raised', 'positive control: another problem raises its own task');
      assert.deepEqual(
        tasksCreated.map((t) => t.title),
        ['task conflict:a', 'task conflict:b'],
      );
      await handle.terminate('test over');
    });
  });

  // Seven days of workflow time are ten thousand settings refreshes (one a minute), too many to skip
  // through here: the loop's forgetting step is tested on its own, at the boundaries.
  it('a task key is remembered for 7 days, then forgotten; used OAuth nonces are forgotten once expired', () => {
    const day = 24 * 60 * 60_000;
    const raisedAt = 1_800_000_000_000;
    const state = {
      usedStateNonces: { old: raisedAt - 1, live: raisedAt + 7 * day + 1_000 },
      raisedTasks: { a: raisedAt, b: raisedAt + day },
    };
    forgetExpired(state, raisedAt + 7 * day);
    assert.deepEqual(Object.keys(state.raisedTasks), ['a', 'b'], 'exactly seven days later both are still remembered');
    assert.deepEqual(Object.keys(state.usedStateNonces), ['live']);
    forgetExpired(state, raisedAt + 7 * day + 1);
    assert.deepEqual(
      Object.keys(state.raisedTasks),
      ['b'],
      'a moment past seven days the first is forgotten, the later one kept',
    );
    forgetExpired(state, raisedAt + 8 * day + 1);
    assert.deepEqual(Object.keys(state.raisedTasks), []);
    assert.deepEqual(Object.keys(state.usedStateNonces), []);
  });
});
