import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ensureSearchAttributes, MissingSearchAttributes } from '../lib/temporal';
import { freePort } from '../scripts/dev-server';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';
import { BuiltProcess, BuiltSystem, buildOnce } from './support/built';
import { eventually } from './support/eventually';
import { testHarness } from './hooks';

const dist = path.resolve(__dirname, '..', 'dist');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}

/** The one line a process printed on standard error before it exited, and how it exited. */
async function failure(
  process: BuiltProcess,
  timeoutMs: number,
): Promise<{ code: number | null; lines: string[]; elapsedMs: number }> {
  const started = Date.now();
  const exit = await Promise.race([
    process.exited,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs)),
  ]);
  if (exit === null) {
    process.kill('SIGKILL');
    assert.fail(`${process.name} did not exit within ${timeoutMs} ms:\n${process.output()}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { code: exit.code, lines: process.stderr.filter((l) => l.trim() !== ''), elapsedMs: Date.now() - started };
}

/** A TCP listener that holds a port, as another program would. */
function holdPort(port: number): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** A TCP relay to the Temporal server, opened later: Temporal "coming up" at an address the process already waits on. */
function relayTo(target: string, port: number): Promise<net.Server> {
  const [host = '127.0.0.1', targetPort = '7233'] = target.split(':');
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      const upstream = net.connect({ host, port: Number(targetPort) });
      socket.pipe(upstream).pipe(socket);
      const close = (): void => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const closeServer = (server: net.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('the production build: npm run build, node dist/api/main.js and node dist/worker/main.js', function () {
  this.timeout(300_000);

  it('npm run build compiles to dist/ with a prebuilt workflow bundle, and no TypeScript is left to run', async () => {
    await buildOnce();
    for (const entry of ['api/main.js', 'worker/main.js', 'workflow-bundle.js'])
      assert.ok(existsSync(path.join(dist, entry)), `dist/${entry}`);
    const files = filesUnder(dist);
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
      'only JavaScript in dist/',
    );
    assert.ok(
      !files.some((f) => /[/\\](test|bench|sandbox|scripts)[/\\]/.test(path.relative(dist, f))),
      'tests, benchmarks, the sandbox and scripts stay out of the build',
    );
    const bundle = statSync(path.join(dist, 'workflow-bundle.js')).size;
    assert.ok(bundle > 100_000, `the bundle holds the workflows (${bundle} bytes)`);
  });

  describe('started against the dev server', () => {
    let system: BuiltSystem;
    before(async function () {
      this.timeout(300_000);
      system = await BuiltSystem.start();
    });
    after(async () => system?.close());

    it('the worker runs the prebuilt bundle, and a customer created in Storeganise reaches Zendesk through the built processes', async () => {
      const started = Date.now();
      const worker = await system.startWorker();
      const startedLine = await worker.line(/"message":"worker started"/);
      assert.match(startedLine, /"workflows":"prebuilt bundle"/);
      await system.startApi();
      console.log(`      (worker started in ${((Date.now() - started) / 1000).toFixed(1)} s)`);

      const account = await system.addAccount();
      const created = await system.storeganise.client.createUser(account.subdomain, {
        firstName: 'Built',
        lastName: 'Yamada',
        email: 'built.yamada@example.com',
        phone: '090-1111-2222',
      });
      const zendeskUser = await eventually(
        async () => {
          const user = (await system.zendesk.client.listUsers(account.zendeskSubdomain)).find(
            (u) => u.external_id === created.id,
          );
          assert.ok(user, 'the customer has a Zendesk user');
          return user;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      assert.equal(zendeskUser.name, 'Built Yamada');
      assert.equal(zendeskUser.phone, '+819011112222');
      await system.zendesk.client.updateUser(account.zendeskSubdomain, zendeskUser.id, { name: 'Built Tanaka' });
      await eventually(
        async () => {
          const user = await system.storeganise.client.getUser(account.subdomain, created.id);
          assert.equal(user.lastName, 'Tanaka', 'the Zendesk edit reached Storeganise');
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    });
  });

  describe('start-up failures are one line naming what to fix', () => {
    const base = async (): Promise<Record<string, string>> => {
      await buildOnce();
      const system = await BuiltSystem.start();
      const env = { ...system.env };
      await system.close();
      return env;
    };
    let env: Record<string, string>;
    before(async () => {
      env = await base();
    });

    for (const name of ['api', 'worker'] as const) {
      it(`the ${name} waits and retries an unreachable Temporal for TEMPORAL_STARTUP_WAIT_SECONDS, then names the address and exits`, async () => {
        const port = await freePort();
        const process = new BuiltProcess(name, {
          ...env,
          PORT: String(await freePort()),
          TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
          TEMPORAL_STARTUP_WAIT_SECONDS: '8',
        });
        const { code, lines, elapsedMs } = await failure(process, 60_000);
        assert.equal(code, 1);
        assert.equal(lines.length, 1, `one line on stderr:\n${lines.join('\n')}`);
        assert.match(
          lines[0] ?? '',
          new RegExp(
            `^${name}: could not reach Temporal at 127\\.0\\.0\\.1:${port} \\(plaintext\\) .*: connection refused; check TEMPORAL_ADDRESS`,
          ),
        );
        assert.ok(
          elapsedMs >= 7_000 && elapsedMs < 30_000,
          `it waited about TEMPORAL_STARTUP_WAIT_SECONDS (${elapsedMs} ms)`,
        );
        assert.ok(
          process.stdout.some((l) => /"message":"Temporal not reachable yet; retrying"/.test(l)),
          'each retry is logged',
        );
      });
    }

    it('the api that waits for Temporal starts as soon as Temporal answers within the wait', async () => {
      const port = await freePort();
      const apiPort = await freePort();
      const api = new BuiltProcess('api', {
        ...env,
        PORT: String(apiPort),
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        TEMPORAL_STARTUP_WAIT_SECONDS: '60',
      });
      try {
        await api.line(/"message":"Temporal not reachable yet; retrying"/, 30_000);
        const starting = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
        assert.equal(starting.status, 503, 'not ready while Temporal is away');
        assert.equal(starting.headers.get('retry-after'), '5');
        assert.equal((await fetch(`http://127.0.0.1:${apiPort}/healthz`)).status, 200, 'alive meanwhile');
        const relay = await relayTo(testHarness().server.address, port);
        try {
          await api.line(/"message":"api ready"/, 40_000);
          assert.equal((await fetch(`http://127.0.0.1:${apiPort}/readyz`)).status, 200);
        } finally {
          await api.stop();
          await closeServer(relay);
        }
      } finally {
        await api.stop();
      }
    });

    it('the api names the port in use (and the variables that move it) in one line', async () => {
      const port = await freePort();
      const holder = await holdPort(port);
      try {
        const { code, lines } = await failure(
          new BuiltProcess('api', { ...env, PORT: String(port), HOST: '127.0.0.1' }),
          30_000,
        );
        assert.equal(code, 1);
        assert.deepEqual(lines, [
          `api: port ${port} on 127.0.0.1 is in use by another process; stop it, or set PORT (or HOST) to listen elsewhere`,
        ]);
      } finally {
        await closeServer(holder);
      }
    });

    it('the worker names its metrics port in use in one line', async () => {
      const port = await freePort();
      const holder = await holdPort(port);
      try {
        const { code, lines } = await failure(
          new BuiltProcess('worker', { ...env, WORKER_METRICS_PORT: String(port), HOST: '127.0.0.1' }),
          30_000,
        );
        assert.equal(code, 1);
        assert.deepEqual(lines, [
          `worker: metrics port ${port} on 127.0.0.1 is in use by another process; set WORKER_METRICS_PORT to another port (or leave it empty to turn metrics off)`,
        ]);
      } finally {
        await closeServer(holder);
      }
    });
  });

  describe('search attributes where the operator service is not offered (Temporal Cloud)', () => {
    const refused = (): Error =>
      Object.assign(new Error('12 UNIMPLEMENTED: unknown service temporal.api.operatorservice.v1.OperatorService'), {
        code: 12,
        details: 'unknown service temporal.api.operatorservice.v1.OperatorService',
        metadata: {},
      });
    const withoutOperator = () => {
      const calls: string[] = [];
      const { workflowService } = testHarness().env.connection;
      const operatorService = {
        listSearchAttributes: () => {
          calls.push('list');
          return Promise.reject(refused());
        },
        addSearchAttributes: () => {
          calls.push('add');
          return Promise.reject(refused());
        },
      } as unknown as ReturnType<typeof testHarness>['env']['connection']['operatorService'];
      return { services: { operatorService, workflowService }, calls };
    };

    it('registered attributes are checked through visibility, and nothing is created', async () => {
      const { services, calls } = withoutOperator();
      await ensureSearchAttributes(services, testHarness().server.namespace, SEARCH_ATTRIBUTE_KEYS);
      assert.deepEqual(calls, ['list'], 'no attempt to create them');
    });

    it('a missing attribute stops the start with its name and the commands that add it', async () => {
      const { services, calls } = withoutOperator();
      const namespace = testHarness().server.namespace;
      const keys = [...SEARCH_ATTRIBUTE_KEYS, { name: 'SyncNeverRegistered', type: 'KEYWORD' as const }];
      await assert.rejects(ensureSearchAttributes(services, namespace, keys), (err: unknown) => {
        assert.ok(err instanceof MissingSearchAttributes);
        assert.deepEqual(
          err.missing.map((k) => k.name),
          ['SyncNeverRegistered'],
        );
        assert.match(err.message, /lacks the search attributes SyncNeverRegistered \(Keyword\)/);
        assert.match(
          err.message,
          new RegExp(
            `temporal operator search-attribute create --namespace ${namespace} --name SyncNeverRegistered --type Keyword`,
          ),
        );
        assert.match(
          err.message,
          /tcld namespace search-attributes add .*--search-attribute "SyncNeverRegistered=Keyword"/,
        );
        return true;
      });
      assert.deepEqual(calls, ['list']);
    });
  });
});
