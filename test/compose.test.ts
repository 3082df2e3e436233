import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { SECRET_VARIABLES } from '../lib/logger';
import { TEMPORAL_DYNAMIC_CONFIG } from '../scripts/dev-server';
import { RUNTIME_IMAGE_ENV } from '../scripts/runtime-image';

// No Docker engine runs the tests, so the production topology is checked as written: the compose
// file, the Dockerfile and .dockerignore, against what the processes need and what must stay secret.

const root = path.resolve(__dirname, '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

const Healthcheck = z.object({
  test: z.union([z.array(z.string()), z.string()]),
  interval: z.string().optional(),
  start_period: z.string().optional(),
  retries: z.number().optional(),
});
const Service = z.looseObject({
  image: z.string().optional(),
  build: z.unknown().optional(),
  command: z.union([z.array(z.string()), z.string()]).optional(),
  entrypoint: z.union([z.array(z.string()), z.string()]).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional(),
  env_file: z.union([z.string(), z.array(z.string())]).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  ports: z.array(z.string()).optional(),
  healthcheck: Healthcheck.optional(),
  volumes: z.array(z.string()).optional(),
});
const Compose = z.looseObject({ services: z.record(z.string(), Service) });
type ServiceSpec = z.infer<typeof Service>;

const compose = Compose.parse(parse(read('docker-compose.yml'), { merge: true }));
const service = (name: string): ServiceSpec => {
  const spec = compose.services[name];
  assert.ok(spec, `a ${name} service`);
  return spec;
};
const words = (value: string[] | string | undefined): string =>
  Array.isArray(value) ? value.join(' ') : (value ?? '');

/** Variables whose value is a secret: the product's own, Temporal's credentials, the database's. */
const SECRETS = [
  ...SECRET_VARIABLES,
  'ZENDESK_CLIENT_SECRET',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'POSTGRES_PASSWORD',
];

/** `.env.example` as name → value. */
const example = new Map(
  read('.env.example')
    .split('\n')
    .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
);

describe('the production topology (docker-compose.yml, Dockerfile), checked statically', () => {
  it('runs PostgreSQL, Temporal, its Web UI, the api and the worker', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['api', 'postgresql', 'temporal', 'temporal-ui', 'worker']);
  });

  it('starts each service only once what it needs is healthy, and every such dependency has a healthcheck', () => {
    assert.deepEqual(service('temporal').depends_on, { postgresql: { condition: 'service_healthy' } });
    for (const name of ['temporal-ui', 'api', 'worker'])
      assert.equal(
        service(name).depends_on?.temporal?.condition,
        'service_healthy',
        `${name} waits for a healthy Temporal`,
      );
    for (const [name, spec] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(spec.depends_on ?? {})) {
        if (condition === 'service_healthy')
          assert.ok(service(dependency).healthcheck, `${dependency}, which ${name} waits for, has a healthcheck`);
      }
    }
  });

  it('Temporal gets the dynamic config the dev servers get (new tasks read without the default 50 ms wait)', () => {
    const temporal = service('temporal');
    const path = String(temporal.environment?.DYNAMIC_CONFIG_FILE_PATH);
    assert.ok(
      (temporal.volumes ?? []).includes(`./scripts/temporal-dynamicconfig.yaml:${path}:ro`),
      'the file is mounted, read-only, where DYNAMIC_CONFIG_FILE_PATH points',
    );
    const file = z
      .record(z.string(), z.array(z.object({ value: z.unknown(), constraints: z.object({}) })))
      .parse(parse(read('scripts/temporal-dynamicconfig.yaml')));
    for (const [key, value] of Object.entries(TEMPORAL_DYNAMIC_CONFIG))
      assert.deepEqual(file[key], [{ value, constraints: {} }], `${key} as scripts/dev-server.ts sets it`);
  });

  it("Temporal's healthcheck dials an address the server listens on and waits for the namespace", () => {
    const temporal = service('temporal');
    const check = words(temporal.healthcheck?.test);
    // auto-setup binds the frontend to the container's own address unless BIND_ON_IP says otherwise.
    const bindsEverywhere = temporal.environment?.BIND_ON_IP === '0.0.0.0';
    if (!bindsEverywhere)
      assert.doesNotMatch(
        check,
        /localhost|127\.0\.0\.1/,
        'a loopback probe never reaches a server bound to the container address',
      );
    assert.match(check, /--address temporal:7233/);
    assert.match(check, /temporal operator namespace describe/);
    assert.match(
      String(temporal.environment?.DEFAULT_NAMESPACE),
      /TEMPORAL_NAMESPACE/,
      'auto-setup creates the namespace the processes use',
    );
  });

  it('the api and the worker run the built code, with no tsx at run time, and have healthchecks', () => {
    assert.deepEqual(service('api').command, ['node', 'dist/api/main.js']);
    assert.deepEqual(service('worker').command, ['node', 'dist/worker/main.js']);
    for (const name of ['api', 'worker']) assert.ok(service(name).healthcheck, `${name} has a healthcheck`);
    assert.match(words(service('api').healthcheck?.test), /127\.0\.0\.1:3000\/readyz/);
    const worker = service('worker');
    const metricsPort = String(worker.environment?.WORKER_METRICS_PORT ?? '');
    assert.match(metricsPort, /^\d+$/, 'the worker serves metrics for its healthcheck');
    assert.match(words(worker.healthcheck?.test), new RegExp(`127\\.0\\.0\\.1:${metricsPort}/metrics`));
    assert.ok(!(worker.ports ?? []).some((p) => p.includes(metricsPort)), 'the metrics port is not published');
  });

  it('wires the environment: .env for every setting, the compose Temporal by default, listening on every interface in a container', () => {
    for (const name of ['api', 'worker']) {
      const spec = service(name);
      assert.equal(words(spec.env_file), '.env', `${name} reads .env`);
      assert.equal(spec.environment?.TEMPORAL_ADDRESS, '${TEMPORAL_ADDRESS:-temporal:7233}');
      assert.equal(spec.environment?.HOST, '0.0.0.0');
    }
    assert.equal(service('api').environment?.PORT, '3000');
    assert.deepEqual(service('api').ports, ['3000:3000']);
    const ui = service('temporal-ui');
    assert.equal(ui.environment?.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.match(
      String(service('api').environment?.TEMPORAL_UI_URL),
      /localhost:8080/,
      "the codec answers the Web UI's origin",
    );
    // Every variable the file refers to is documented in .env.example.
    // `$${NAME}` is the container's own shell variable, not compose's.
    const referenced = new Set(
      [...read('docker-compose.yml').matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1] ?? ''),
    );
    for (const variable of referenced) assert.ok(example.has(variable), `${variable} is in .env.example`);
    for (const required of [
      'ENCRYPTION_KEY',
      'OPERATOR_TOKEN',
      'SG_ADDON_API_KEY',
      'SG_WEBHOOK_SECRET',
      'ZENDESK_CLIENT_ID',
      'ZENDESK_CLIENT_SECRET',
      'PUBLIC_URL',
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'TEMPORAL_PROFILE',
    ]) {
      assert.ok(example.has(required), `${required} is in .env.example`);
    }
  });

  it('publishes Temporal and its Web UI (which has no login) on this machine only', () => {
    assert.deepEqual(service('temporal').ports, ['127.0.0.1:7233:7233']);
    assert.deepEqual(service('temporal-ui').ports, ['127.0.0.1:8080:8080']);
    assert.equal(service('postgresql').ports, undefined, 'the database is not published');
  });

  it('puts no secret in an image, a command line, a healthcheck or the Web UI', () => {
    for (const [name, spec] of Object.entries(compose.services)) {
      const lines = [
        words(spec.command),
        words(spec.entrypoint),
        words(spec.healthcheck?.test),
        JSON.stringify(spec.build ?? null),
      ].join('\n');
      for (const secret of SECRETS)
        assert.ok(!lines.includes(secret), `${name}: ${secret} appears in a command, healthcheck or build`);
    }
    const ui = service('temporal-ui');
    assert.ok(
      !Object.keys(ui.environment ?? {}).some((key) => key.startsWith('TEMPORAL_CODEC')),
      'the UI publishes no codec endpoint (its settings are readable without login)',
    );
    assert.ok(
      !JSON.stringify(ui.environment ?? {}).includes('OPERATOR_TOKEN'),
      'the operator token never reaches the UI',
    );
    // Secrets have no default value in the file: a missing one stops compose instead of starting with a known value.
    for (const match of read('docker-compose.yml').matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)(:?[-?])?[^}]*\}/g)) {
      const [, variable = '', operator = ''] = match;
      if (SECRETS.includes(variable))
        assert.ok(operator === '' || operator.endsWith('?'), `${variable} has no default (${match[0]})`);
    }
    for (const secret of SECRETS)
      assert.equal(example.get(secret) ?? '', '', `.env.example ships no value for ${secret}`);
  });

  it('the Dockerfile builds in one stage and runs dist/ as a non-root user in a slim one, with a healthcheck', () => {
    const dockerfile = read('Dockerfile');
    const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+\s/.test(line));
    const stages = instructions.filter((line) => line.startsWith('FROM '));
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.match(stages.at(-1) ?? '', /^FROM node:\d+-slim$/, 'the runtime stage is slim');
    const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1) ?? ''));
    assert.ok(
      runtime.some((line) => /^USER (?!root)\S+/.test(line)),
      'the runtime runs as a non-root user',
    );
    assert.ok(
      runtime.some((line) => line.startsWith('HEALTHCHECK ')),
      'the runtime has a healthcheck',
    );
    assert.ok(
      runtime.some((line) => line === 'CMD ["node", "dist/api/main.js"]'),
      'the default command runs the built api',
    );
    assert.ok(
      runtime.some((line) => /--from=build .*dist/.test(line)),
      'the runtime takes dist/ from the build stage',
    );
    assert.ok(!runtime.some((line) => /\btsx\b/.test(line)), 'no tsx at run time');
    // The benchmark and the built-process tests run the built code with these; so must the image.
    for (const [name, value] of Object.entries(RUNTIME_IMAGE_ENV))
      assert.ok(
        runtime.some((line) => line === `ENV ${name}=${/\s/.test(value) ? `"${value}"` : value}`),
        `the runtime image sets ${name}=${value} (scripts/runtime-image.ts)`,
      );
    assert.match(dockerfile, /RUN npm run build/);
    for (const secret of SECRETS)
      assert.ok(
        !instructions.some((line) => /^(ENV|ARG|LABEL) /.test(line) && line.includes(secret)),
        `no ${secret} in the image`,
      );
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', '.env.*', '.data/', 'node_modules/', 'dist/'])
      assert.ok(ignored.includes(entry), `.dockerignore keeps ${entry} out of the build context`);
  });
});
