import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { AUTHORIZE_TASK_TITLE, EMAIL_CONFLICT_TITLE } from '../domain/tasks';
import { freePort } from '../scripts/dev-server';
import { DEMO_ACCOUNT, DEMO_STATUS_FIELD_KEY, seedDemo } from '../sandbox/demo';
import { eventually } from './support/eventually';
import { TestSystem } from './support/system';

const projectRoot = path.resolve(__dirname, '..');

interface DemoRun {
  code: number | null;
  out: string;
  err: string;
}

describe('npm run demo', function () {
  this.timeout(240_000);
  let system: TestSystem;

  before(async function () {
    this.timeout(180_000);
    system = await TestSystem.start();
    // The demo account as `npm start` seeds and activates it, in this system's sandboxes.
    const { env } = system;
    const secrets = {
      SG_ADDON_API_KEY: env.SG_ADDON_API_KEY ?? '',
      SG_WEBHOOK_SECRET: env.SG_WEBHOOK_SECRET ?? '',
      ZENDESK_CLIENT_ID: env.ZENDESK_CLIENT_ID ?? '',
      ZENDESK_CLIENT_SECRET: env.ZENDESK_CLIENT_SECRET ?? '',
    };
    await seedDemo(system.zendesk.client, system.storeganise.client, { apiUrl: system.apiUrl, secrets });
    await system.storeganise.client.emitInstalled(DEMO_ACCOUNT);
    await eventually(async () => {
      const tasks = await system.storeganise.client.listJobs(DEMO_ACCOUNT, { type: 'task' });
      assert.ok(
        tasks.some((t) => t.data.title === AUTHORIZE_TASK_TITLE),
        'the demo account is not activated yet',
      );
    });
  });
  after(async () => system?.close());

  /** `npm run demo` as a newcomer runs it next to `npm start`, pointed at this system by the same variables. */
  function runDemo(overrides: Record<string, string> = {}): Promise<DemoRun> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(system.config.port),
      SANDBOX_ZENDESK_PORT: new URL(system.zendesk.url).port,
      SANDBOX_STOREGANISE_PORT: new URL(system.storeganise.url).port,
      OPERATOR_TOKEN: system.config.operatorToken ?? '',
      ...overrides,
    };
    return new Promise((resolve, reject) => {
      const child = spawn('npm', ['run', '--silent', 'demo'], {
        cwd: projectRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, out, err }));
    });
  }

  it('walks through every step against a running setup, authorizing the account itself, and exits 0 with what happened and how long it took', async () => {
    const run = await runDemo();
    assert.equal(run.code, 0, `the demo failed:\n${run.out}\n${run.err}`);
    for (const step of [
      'Authorize the demo account',
      'signs up in Storeganise',
      'corrects the name in Zendesk',
      'phone number in local format',
      'email address another Zendesk user',
      'moves into a unit',
      'disables the customer',
    ]) {
      assert.ok(run.out.includes(step), `the demo says "${step}":\n${run.out}`);
    }
    assert.equal(
      run.out.match(/→ .* \(\d+\.\d s\)$/gm)?.length,
      7,
      `every step prints what happened and its time:\n${run.out}`,
    );
    assert.match(run.out, /All 7 steps happened, in \d+\.\d s\./);

    // What the demo claims is what a person would find on both sides.
    const customer = (await system.storeganise.client.listUsers(DEMO_ACCOUNT)).find((u) =>
      u.email.startsWith('mio.kobayashi.'),
    );
    assert.ok(customer, 'the demo customer is in Storeganise');
    assert.equal(`${customer.firstName} ${customer.lastName}`, 'Mio Tanaka');
    assert.equal(customer.phone, '090-1234-5678');
    assert.equal(customer.disabled, true);
    const zdUser = await system.zendesk.client.getUser(DEMO_ACCOUNT, Number(customer.customFields?.zendesk_userId));
    assert.equal(zdUser.external_id, customer.id);
    assert.equal(zdUser.phone, '+819012345678');
    assert.equal(zdUser.suspended, true);
    assert.equal(zdUser.user_fields[DEMO_STATUS_FIELD_KEY], 'deactivated');
    const conflicts = (await system.storeganise.client.listJobs(DEMO_ACCOUNT, { type: 'task' })).filter(
      (t) => t.data.title === EMAIL_CONFLICT_TITLE && t.data.targetId === customer.id,
    );
    assert.equal(conflicts.length, 1, 'one Email conflict task');
  });

  it('exits non-zero, naming the step, when a step does not happen in time', async () => {
    // Zendesk answers every API call with 503 for a while: the sync retries, and the customer cannot be linked in time.
    await system.zendesk.client.setFaults(DEMO_ACCOUNT, { force: { status: 503, count: 10_000 } });
    try {
      const run = await runDemo({ DEMO_STEP_TIMEOUT_SECONDS: '3' });
      assert.equal(run.code, 1, `${run.out}\n${run.err}`);
      assert.match(run.err, /step 1 did not happen: a linked Zendesk user was not seen within 3\.0 s/);
      assert.doesNotMatch(run.out, /steps happened/);
    } finally {
      await system.zendesk.client.setFaults(DEMO_ACCOUNT, {});
    }
  });

  it('exits non-zero with what to do when nothing runs where it looks', async () => {
    const run = await runDemo({ PORT: String(await freePort()) });
    assert.equal(run.code, 1);
    assert.match(run.err, /the API does not answer at http:\/\/127\.0\.0\.1:\d+\/readyz: start `npm start`/);
  });
});
