import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { callsBeforeRetryAfter, IN_FLIGHT_GRACE_MS } from '../bench/chaos/evidence';
import {
  judgeRun,
  type FieldChange,
  type LinkedPair,
  type PersonEdit,
  type SideStates,
  type SyncedField,
} from '../bench/oracle';
import { mulberry32 } from '../sandbox/common/random';
import type { SandboxInstallation } from '../sandbox/installation';
import { customerStatusQuery, customerWorkflowId } from '../workflows/definitions';
import { BuiltSystem, type BuiltProcess } from './support/built';
import { eventually } from './support/eventually';

/**
 * Scale-out (issue 12): two API processes behind a load balancer and three workers, all built
 * (`node dist/...`), against one Temporal server, under edits on both sides of many customers.
 * Mid-load one worker is SIGKILLed and the account's Zendesk answers a burst of 429s. Judged by the
 * convergence oracle (every edit lands, both sides equal), the sandbox's request log (no call to
 * that Zendesk after a 429 before its Retry-After, from any worker) and Temporal's own records
 * (the runs of one customer never overlap, while several workers ran them).
 */
const SEED = Number(process.env.SCALE_OUT_SEED ?? 20261212);
const CUSTOMERS = 12;
const LOAD_SECONDS = 40;
const EDITS_PER_SECOND = 3;
const KILL_AT_SECONDS = 10;
const BURST_AT_SECONDS = 25;
const BURST = { status: 429, count: 3, retryAfterSeconds: 2 };
const LAST_NAME = 'Mori';
const FIELDS: readonly SyncedField[] = ['name', 'email', 'phone'];

interface Customer {
  sgId: string;
  zdId: number;
}

describe('scale-out: 2 APIs and 3 workers against one Temporal server', function () {
  this.timeout(20 * 60_000);
  let system: BuiltSystem;
  let account: SandboxInstallation;
  let customers: Customer[] = [];

  before(async function () {
    this.timeout(10 * 60_000);
    system = await BuiltSystem.start({ LOG_LEVEL: 'warn', CONFLICT_SETTLE_SECONDS: '5' });
    for (let i = 0; i < 3; i++) await system.startWorker();
    for (let i = 0; i < 2; i++) await system.startApi();
    account = await system.addAccount();
    customers = await Promise.all(
      Array.from({ length: CUSTOMERS }, async (_, i) => {
        const sg = await system.storeganise.client.createUser(account.subdomain, {
          firstName: `Scale${i}`,
          lastName: LAST_NAME,
          email: `scale${i}.${SEED}@example.com`,
          phone: `090-5000-${String(1000 + i)}`,
        });
        const zdId = await eventually(
          async () => {
            const linked = (await system.storeganise.client.getUser(account.subdomain, sg.id)).customFields
              ?.zendesk_userId;
            assert.equal(typeof linked, 'string', 'not linked yet');
            return Number(linked);
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
        return { sgId: sg.id, zdId };
      }),
    );
    await system.settle(account, 120_000);
  });
  after(async () => system?.close());

  const states = async (): Promise<SideStates> => {
    const [sg, zd] = await Promise.all([
      system.storeganise.client.listUsers(account.subdomain),
      system.zendesk.client.listUsers(account.zendeskSubdomain),
    ]);
    return {
      storeganise: sg.map((u) => ({
        id: u.id,
        firstName: u.firstName,
        lastName: u.lastName,
        email: u.email,
        phone: u.phone ?? null,
      })),
      zendesk: zd.map((u) => ({
        id: u.id,
        name: u.name,
        email: u.email,
        phone: u.phone,
        externalId: u.external_id,
        active: u.active,
        role: u.role,
      })),
    };
  };

  let unique = 0;
  /** One edit as a person makes it, through the sandbox's admin UI; answers the value the edited side shows. */
  async function edit(customer: Customer, side: 'storeganise' | 'zendesk', field: SyncedField): Promise<string> {
    const n = ++unique;
    const first = `Sc${n}x${SEED % 1000}`;
    const phone = `090${String(30_000_000 + n * 7).padStart(8, '0')}`;
    const email = `scale.edit${n}.s${SEED}@example.com`;
    if (side === 'storeganise') {
      const patch = {
        name: { firstName: first },
        email: { email },
        phone: { phone: `${phone.slice(0, 3)}-${phone.slice(3, 7)}-${phone.slice(7)}` },
      }[field];
      await system.storeganise.client.updateUser(account.subdomain, customer.sgId, patch);
    } else {
      const patch = {
        name: { name: `${first} ${LAST_NAME}` },
        email: { email },
        phone: { phone: `+81${phone.slice(1)}` },
      }[field];
      await system.zendesk.client.updateUser(account.zendeskSubdomain, customer.zdId, patch);
    }
    return { name: `${first} ${LAST_NAME}`, email, phone: `+81${phone.slice(1)}` }[field];
  }

  it("under edits on both sides, a worker SIGKILLed and a Zendesk 429 burst: every edit lands, no worker calls that Zendesk before Retry-After, and one customer's runs never overlap", async () => {
    const random = mulberry32(SEED);
    const [sgChanges, zdChanges, requestMark] = await Promise.all([
      system.storeganise.client.changes(account.subdomain),
      system.zendesk.client.changes(account.zendeskSubdomain),
      system.zendesk.client.requests({ account: account.zendeskSubdomain }),
    ]);
    const since = {
      storeganise: Math.max(0, ...sgChanges.map((c) => c.seq)),
      zendesk: Math.max(0, ...zdChanges.map((c) => c.seq)),
    };
    const baseline = await states();
    const loadStartedAt = Date.now();

    const edits: PersonEdit[] = [];
    const pending: Array<Promise<void>> = [];
    let killed: BuiltProcess | null = null;
    let burstAt = 0;
    const total = LOAD_SECONDS * EDITS_PER_SECOND;
    for (let i = 0; i < total; i++) {
      const elapsed = (Date.now() - loadStartedAt) / 1000;
      if (killed === null && elapsed >= KILL_AT_SECONDS) {
        killed = system.workers[0] ?? null;
        killed?.kill('SIGKILL');
      }
      if (burstAt === 0 && elapsed >= BURST_AT_SECONDS) {
        burstAt = Date.now();
        await system.zendesk.client.setFaults(account.zendeskSubdomain, { force: BURST });
      }
      const customer = customers[Math.floor(random() * customers.length)];
      assert.ok(customer);
      const side = random() < 0.5 ? 'storeganise' : 'zendesk';
      const field = FIELDS[Math.floor(random() * FIELDS.length)] ?? 'name';
      pending.push(
        edit(customer, side, field).then((value) => {
          edits.push({ side, userKey: customer.sgId, field, value, atMs: Date.now() });
        }),
      );
      await sleep(1_000 / EDITS_PER_SECOND);
    }
    await Promise.all(pending);
    assert.ok(killed !== null && !killed.running, 'a worker was SIGKILLed mid-load');
    assert.ok(burstAt > 0, 'the 429 burst was set');

    await system.settle(account, 300_000).catch((err: unknown) => assert.fail(`${String(err)}\n${system.output()}`));
    await system.zendesk.client.setFaults(account.zendeskSubdomain, {});

    // Everything lands: the oracle judges the people's edits against both sides' change logs and final states.
    const [sgAfter, zdAfter] = await Promise.all([
      system.storeganise.client.changes(account.subdomain, { sinceSeq: since.storeganise }),
      system.zendesk.client.changes(account.zendeskSubdomain, { sinceSeq: since.zendesk }),
    ]);
    const pairs: LinkedPair[] = customers.map((c) => ({ userKey: c.sgId, storeganiseId: c.sgId, zendeskId: c.zdId }));
    const changes: { storeganise: FieldChange[]; zendesk: FieldChange[] } = { storeganise: sgAfter, zendesk: zdAfter };
    const verdict = judgeRun({
      edits,
      pairs,
      baseline,
      final: await states(),
      changes,
      nameFormat: 'first_last',
      defaultCallingCode: '+81',
    });
    const { counts } = verdict;
    const summary = `${edits.length} edits, ${counts.syncWrites ?? '?'} sync writes; lost ${counts.lostEdits}, divergent ${counts.divergentPairs}, differences ${counts.finalStateDifferences}, stale ${counts.staleOverwrites}, raced ${counts.racedWrites}, writes back ${counts.writesBack}, duplicates ${counts.duplicateUsers}`;
    const failures = verdict.findings
      .filter((f) => f.kind !== 'foreignWrite' && f.kind !== 'racedWrite')
      .map((f) => `${f.kind}: ${f.line}`);
    assert.deepEqual(failures, [], summary);
    assert.equal(counts.lostEdits, 0, summary);
    assert.equal(counts.finalStateDifferences, 0, summary);
    assert.equal(edits.length, total, 'every edit was made');

    // No call to that Zendesk instance after a 429 and before its Retry-After, from any worker (the chaos run's definition).
    const { requests } = await system.zendesk.client.requests({
      account: account.zendeskSubdomain,
      sinceSeq: requestMark.lastSeq,
    });
    const limited = requests.filter((r) => r.status === 429);
    assert.ok(limited.length >= 1, 'the burst was answered with 429s');
    const early = callsBeforeRetryAfter(requests);
    assert.equal(
      early.count,
      0,
      `calls before Retry-After elapsed (${IN_FLIGHT_GRACE_MS} ms allowed for a call already on its way):\n${early.examples.join('\n')}`,
    );

    // One customer's runs never overlap, whichever worker ran them; and more than one worker did.
    const workersThatRan = new Set<string>();
    for (const customer of customers) {
      const runs: Array<{ id: string; start: number; close: number }> = [];
      await eventually(
        async () => {
          runs.length = 0;
          const query = `SyncCustomer = 'sg:${customer.sgId}' AND WorkflowType != 'customerWorkflow' AND StartTime > '${new Date(loadStartedAt).toISOString()}'`;
          for await (const run of system.client.workflow.list({ query })) {
            assert.ok(run.closeTime, `run ${run.workflowId} is closed in visibility`);
            runs.push({ id: run.workflowId, start: run.startTime.getTime(), close: run.closeTime.getTime() });
          }
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      runs.sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++) {
        const [before, after] = [runs[i - 1], runs[i]];
        assert.ok(
          before && after && after.start >= before.close,
          `runs of customer ${customer.sgId} overlap: ${before?.id} and ${after?.id}`,
        );
      }
      for (const run of runs.slice(0, 3)) {
        const history = await system.client.workflow.getHandle(run.id).fetchHistory();
        for (const event of history.events ?? []) {
          const identity = event.workflowTaskStartedEventAttributes?.identity;
          if (identity) workersThatRan.add(identity.split('@')[0] ?? identity);
        }
      }
      const status = await system.client.workflow
        .getHandle(customerWorkflowId(account.subdomain, `sg:${customer.sgId}`))
        .query(customerStatusQuery);
      assert.equal(status.running, null, `customer ${customer.sgId} has no run left`);
    }
    const workerPids = new Set(system.workers.map((w) => String(w.pid)));
    const ran = [...workersThatRan].filter((pid) => workerPids.has(pid));
    assert.ok(ran.length >= 2, `runs were spread over several workers (${ran.join(', ')})`);
    console.log(
      `      ${summary}; ${limited.length} answers 429; runs by workers ${ran.join(', ')} (SIGKILLed ${killed.pid})`,
    );
  });
});
