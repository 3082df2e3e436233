import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import { callsBeforeRetryAfter } from '../bench/chaos/evidence';
import { AccountView, uniqueEmail } from './support/customers';
import { eventually } from './support/eventually';
import { operatorCall } from './support/signed-requests';
import { TestSystem, type TestAccount, type TestAccountOptions } from './support/system';
import { WorkerProcess } from './support/worker-process';

/**
 * The initial import and the on-demand full sync (issue 10), as an operator meets them: existing
 * customers and Zendesk users linked on installation, a full sync whose worker is SIGKILLed
 * mid-way, live edits and Zendesk 429s during a full sync. Assertions are about records on both
 * sides, the calls the sandboxes recorded, and what the operator endpoint and the CLI show.
 */

const ProgressSchema = z.object({
  state: z.string(),
  mode: z.enum(['import', 'full']),
  done: z.number(),
  total: z.number(),
  linked: z.number(),
  created: z.number(),
  repaired: z.number(),
  conflicts: z.number(),
  errors: z.number(),
  runId: z.string(),
  running: z.boolean(),
});
type Progress = z.infer<typeof ProgressSchema>;

const projectRoot = path.resolve(__dirname, '..');

describe('initial import and full sync', function () {
  this.timeout(180_000);
  let system: TestSystem;

  before(async function () {
    this.timeout(180_000);
    system = await TestSystem.start({ CONFLICT_SETTLE_SECONDS: '5' });
  });
  after(async () => system?.close());

  const fullSyncPath = (account: TestAccount): string => `/operator/accounts/${account.subdomain}/full-sync`;

  /** The account's full sync (or import) as the operator endpoint shows it. */
  async function progressOf(account: TestAccount): Promise<Progress> {
    const answer = await operatorCall(system, 'GET', fullSyncPath(account));
    assert.equal(answer.status, 200, answer.text);
    return ProgressSchema.parse(answer.json);
  }

  /** Waits until the account's import or full sync (the run `runId`, when given) has ended, and answers its last progress. */
  function ended(account: TestAccount, mode: Progress['mode'], runId?: string, timeoutMs = 120_000): Promise<Progress> {
    return eventually(
      async () => {
        const progress = await progressOf(account);
        assert.equal(progress.mode, mode);
        if (runId !== undefined) assert.equal(progress.runId, runId);
        assert.ok(
          !progress.running && ['completed', 'cancelled', 'failed'].includes(progress.state),
          `the ${mode} is ${progress.state}: ${progress.done}/${progress.total}`,
        );
        return progress;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** Starts a full sync through the operator endpoint; answers its run id. */
  async function startFullSync(account: TestAccount): Promise<string> {
    const answer = await operatorCall(system, 'POST', fullSyncPath(account));
    assert.equal(answer.status, 202, answer.text);
    return z.object({ runId: z.string() }).parse(answer.json).runId;
  }

  /** An account authorized on an empty Storeganise, its (empty) initial import over. */
  async function accountAfterImport(options: TestAccountOptions = {}): Promise<AccountView> {
    const account = await system.addAccount(options);
    const imported = await ended(account, 'import');
    assert.equal(imported.state, 'completed');
    return new AccountView(system, account);
  }

  /** Storeganise customers whose webhooks never reached the service (created before the add-on, or lost). */
  async function customersUnknownToTheSync(
    view: AccountView,
    count: number,
    prefix: string,
  ): Promise<Array<{ id: string; email: string; firstName: string; lastName: string }>> {
    const { subdomain } = view.account;
    await system.storeganise.client.setFaults(subdomain, { webhooks: { dropRate: 1 } });
    try {
      const created = [];
      for (let i = 0; i < count; i++) {
        const input = {
          firstName: `${prefix}${i}`,
          lastName: 'Bulk',
          email: uniqueEmail(`${prefix.toLowerCase()}${i}`),
        };
        created.push({ ...input, id: (await system.storeganise.client.createUser(subdomain, input)).id });
      }
      return created;
    } finally {
      await system.storeganise.client.setFaults(subdomain, {});
    }
  }

  /** Each customer has exactly one Zendesk user, pointing back at it, that its pointer names. */
  async function assertOneLinkedZendeskUserEach(
    view: AccountView,
    customers: ReadonlyArray<{ id: string; email: string; firstName: string; lastName: string }>,
  ): Promise<void> {
    const [zdUsers, sgUsers] = await Promise.all([
      system.zendesk.client.listUsers(view.account.zendeskSubdomain),
      system.storeganise.client.listUsers(view.account.subdomain),
    ]);
    for (const customer of customers) {
      const owned = zdUsers.filter((u) => u.external_id === customer.id);
      assert.equal(owned.length, 1, `customer ${customer.id} has ${owned.length} Zendesk users`);
      const [zd] = owned;
      assert.ok(zd);
      assert.equal(zd.email, customer.email);
      assert.equal(zd.name, `${customer.firstName} ${customer.lastName}`);
      assert.equal(
        sgUsers.find((u) => u.id === customer.id)?.customFields?.zendesk_userId,
        String(zd.id),
        `customer ${customer.id} points at its Zendesk user`,
      );
    }
  }

  it('installing on an account with existing customers and Zendesk users links the matching ones by email both ways, creates the missing Zendesk users and never a customer; a second run writes nothing; a later one repairs a pair changed seconds before', async () => {
    const account = await system.addAccount({ authorize: false, statusField: false });
    const view = new AccountView(system, account);
    const { subdomain, zendeskSubdomain } = account;
    const people = [
      { firstName: 'Kenji', lastName: 'Mori' },
      { firstName: 'Yui', lastName: 'Hayashi' },
      { firstName: 'Sora', lastName: 'Endo' },
    ];
    // Existing records: customers created before the add-on was installed (their webhooks never
    // reached the service), and Zendesk users, three of them holding a customer's email.
    await system.storeganise.client.setFaults(subdomain, { webhooks: { dropRate: 1 } });
    const matching = await Promise.all(
      people.map(async (person) => {
        const email = uniqueEmail(person.firstName.toLowerCase());
        const sg = await system.storeganise.client.createUser(subdomain, { ...person, email });
        const zd = await system.zendesk.client.createUser(zendeskSubdomain, {
          name: `${person.firstName} ${person.lastName}`,
          email,
        });
        return { sg, zd };
      }),
    );
    await system.storeganise.client.setFaults(subdomain, {});
    const lonely = await customersUnknownToTheSync(view, 3, 'Lonely');
    const requesters = await Promise.all(
      ['Walk In', 'Front Desk'].map((name) =>
        system.zendesk.client.createUser(zendeskSubdomain, { name, email: uniqueEmail('requester') }),
      ),
    );
    const customersBefore = (await system.storeganise.client.listUsers(subdomain)).length;
    const mark = await view.mark();

    // The operator authorizes: the initial import runs on its own.
    assert.equal((await system.authorize(account)).status, 200);
    const imported = await ended(account, 'import');
    assert.deepEqual(
      {
        state: imported.state,
        done: imported.done,
        total: imported.total,
        linked: imported.linked,
        created: imported.created,
        conflicts: imported.conflicts,
        errors: imported.errors,
      },
      { state: 'completed', done: 6, total: 6, linked: 3, created: 3, conflicts: 0, errors: 0 },
    );
    for (const { sg, zd } of matching) {
      const [sgNow, zdNow] = await Promise.all([view.sgUser(sg.id), view.zdUser(zd.id)]);
      assert.equal(
        sgNow.customFields?.zendesk_userId,
        String(zd.id),
        'the customer points at the Zendesk user holding its email',
      );
      assert.equal(zdNow.external_id, sg.id, 'the Zendesk user points back at the customer');
      assert.equal(zdNow.name, zd.name);
    }
    await assertOneLinkedZendeskUserEach(view, lonely);
    for (const requester of requesters)
      assert.equal((await view.zdUser(requester.id)).external_id, null, 'a requester with no customer stays unlinked');
    assert.equal(
      (await system.storeganise.client.listUsers(subdomain)).length,
      customersBefore,
      'no Storeganise customer is created',
    );
    assert.deepEqual(
      (await view.storeganiseRequests(mark)).filter((r) => r.method === 'POST' && /\/v1\/admin\/users/.test(r.path)),
      [],
      'no customer is created in Storeganise',
    );
    await system.settle(account);

    // A second run (the operator's full sync compares every field) finds everything in line.
    const quiet = await view.mark();
    const runId = await startFullSync(account);
    const again = await ended(account, 'full', runId);
    assert.deepEqual(
      {
        state: again.state,
        done: again.done,
        total: again.total,
        linked: again.linked,
        created: again.created,
        errors: again.errors,
      },
      { state: 'completed', done: 6, total: 6, linked: 0, created: 0, errors: 0 },
    );
    await system.settle(account);
    assert.deepEqual(await view.zendeskWrites(quiet), [], 'nothing written to Zendesk');
    assert.deepEqual(await view.storeganiseWrites(quiet), [], 'nothing written to Storeganise');

    // A Zendesk edit whose webhook was lost, seconds ago (younger than anything Zendesk's export
    // hands out): the next full sync still compares the pair as it is now, and repairs it once.
    const [first] = matching;
    assert.ok(first);
    await system.zendesk.client.setFaults(zendeskSubdomain, { webhooks: { dropRate: 1 } });
    await system.zendesk.client.updateUser(zendeskSubdomain, first.zd.id, { name: 'Kenji Morimoto' });
    await system.zendesk.client.setFaults(zendeskSubdomain, {});
    const beforeRepair = await view.mark();
    const repairRun = await startFullSync(account);
    const repaired = await ended(account, 'full', repairRun);
    assert.deepEqual(
      { state: repaired.state, repaired: repaired.repaired, errors: repaired.errors },
      { state: 'completed', repaired: 1, errors: 0 },
    );
    assert.equal((await view.sgUser(first.sg.id)).lastName, 'Morimoto');
    await system.settle(account);
    assert.deepEqual(
      (await view.storeganiseWrites(beforeRepair)).map((w) => `${w.method} ${w.path.split('/').at(-1) ?? ''}`),
      [`PUT ${first.sg.id}`],
      'one Storeganise write, the repair',
    );
    assert.deepEqual(await view.zendeskWrites(beforeRepair), [], 'nothing written back to Zendesk');
  });

  it('a full sync whose worker is SIGKILLed mid-way resumes on another worker and completes; the CLI shows its progress and the final counts', async () => {
    // A small budget (240 calls a minute) makes the run last long enough for the kill to land mid-way.
    const view = await accountAfterImport({ rateLimitPerMinute: 240 });
    const { account } = view;
    const customers = await customersUnknownToTheSync(view, 30, 'Kill');

    await system.stopWorker();
    const doomed = await WorkerProcess.start(system);
    const cli = spawn(
      'npx',
      ['tsx', path.join('scripts', 'full-sync.ts'), '--account', account.subdomain, '--api', system.apiUrl],
      {
        cwd: projectRoot,
        env: { ...process.env, OPERATOR_TOKEN: system.env.OPERATOR_TOKEN ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    cli.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    cli.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => cli.once('close', (code) => resolve(code)));
    let resumed = false;
    try {
      const atKill = await eventually(
        async () => {
          const progress = await progressOf(account);
          assert.equal(progress.mode, 'full');
          assert.ok(progress.done >= 5, `${progress.done}/${progress.total} done`);
          return progress;
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      );
      await doomed.kill();
      assert.ok(atKill.done < customers.length, `the kill landed mid-way (${atKill.done}/${atKill.total})`);
      const linkedAtKill = (await system.zendesk.client.listUsers(account.zendeskSubdomain)).filter(
        (u) => u.external_id !== null,
      ).length;
      assert.ok(
        linkedAtKill < customers.length,
        `some customers had no Zendesk user yet when the worker died (${linkedAtKill})`,
      );

      await system.startWorker();
      resumed = true;
      const code = await eventually(
        () => {
          if (cli.exitCode === null) throw new Error(`the CLI still runs:\n${output}`);
          return cli.exitCode;
        },
        { timeoutMs: 150_000, intervalMs: 250 },
      );
      assert.equal(code, 0, output);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGINT');
      await exited;
      await doomed.kill();
      // The tests after this one need the system's own worker, whatever happened here.
      if (!resumed) await system.startWorker();
    }

    const final = await progressOf(account);
    assert.deepEqual(
      { state: final.state, done: final.done, total: final.total, errors: final.errors, conflicts: final.conflicts },
      { state: 'completed', done: 30, total: 30, errors: 0, conflicts: 0 },
    );
    // A create whose answer the killed worker never read is found by its external id on retry: linked, not created twice.
    assert.equal(final.created + final.linked, 30, JSON.stringify(final));
    await assertOneLinkedZendeskUserEach(view, customers);

    const lines = output.split('\n');
    assert.ok(
      lines.some((l) => l.startsWith(`started the full sync of ${account.subdomain}`)),
      output,
    );
    const moving = lines.flatMap((l) => {
      const m = /^\[[#.]+\]\s+\d+% (\d+)\/(\d+) /.exec(l);
      return m ? [{ done: Number(m[1]), total: Number(m[2]) }] : [];
    });
    assert.ok(
      moving.some((p) => p.total === 30 && p.done < 30),
      `the CLI drew the progress bar while the sync ran:\n${output}`,
    );
    const summary = `full sync of ${account.subdomain} completed`;
    const last = lines.find((l) => l.startsWith(summary));
    assert.ok(last, output);
    assert.match(
      last,
      new RegExp(
        `: 30/30 customers; linked ${final.linked}, created ${final.created}, repaired 0, conflicts 0, errors 0$`,
      ),
    );
  });

  it('during a full sync a live edit still lands, and no request goes out before a Retry-After', async () => {
    const view = await accountAfterImport({ rateLimitPerMinute: 240 });
    const { account } = view;
    const live = await view.createLinkedCustomer({ firstName: 'Live', lastName: 'Edit' });
    const customers = await customersUnknownToTheSync(view, 20, 'During');
    const mark = await view.mark();

    const runId = await startFullSync(account);
    await eventually(async () => assert.ok((await progressOf(account)).done >= 2, 'the full sync is under way'), {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    // Zendesk answers the next three requests 429, whoever makes them.
    await system.zendesk.client.setFaults(account.zendeskSubdomain, {
      force: { status: 429, count: 3, retryAfterSeconds: 2 },
    });
    await system.storeganise.client.updateUser(account.subdomain, live.sgId, { firstName: 'Lively' });
    const seenDuring = await eventually(
      async () => {
        assert.equal((await view.zdUser(live.zdId)).name, 'Lively Edit');
        return progressOf(account);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.ok(
      seenDuring.running,
      `the live edit landed while the full sync ran (${seenDuring.state} ${seenDuring.done}/${seenDuring.total})`,
    );

    const final = await ended(account, 'full', runId);
    assert.deepEqual(
      { state: final.state, created: final.created, errors: final.errors },
      { state: 'completed', created: 20, errors: 0 },
    );
    await assertOneLinkedZendeskUserEach(view, customers);
    await system.settle(account);
    await system.zendesk.client.setFaults(account.zendeskSubdomain, {});

    const requests = await view.zendeskRequests(mark);
    const limited = requests.filter((r) => r.status === 429);
    assert.ok(limited.length >= 3, `Zendesk answered 429 (${limited.length} times)`);
    const early = callsBeforeRetryAfter(requests);
    assert.equal(early.count, 0, `calls before Retry-After:\n${early.examples.join('\n')}`);
  });
});
