/** What one benchmark run does; every option is a `--flag value` or a `BENCH_*` environment variable. */
export interface BenchOptions {
  /** Single-field edits fired during the measured phase. */
  changes: number;
  /** Linked pairs seeded before the measured phase; the edits are spread over them. */
  users: number;
  /** Edits per second (open loop: the schedule does not wait for the sync). */
  rate: number;
  /** Added by both sandboxes before every API answer during the measured phase. */
  latencyMs: number;
  /** Fraction of the edits made in Zendesk; the rest are made in Storeganise. */
  zendeskShare: number;
  /** Seed of the pseudo-random choice of side and field, so two runs fire the same edits. */
  seed: number;
  /** Zendesk request budget per minute for the benchmark account (the sandbox default is 700). */
  zendeskRateLimit: number;
  /** Print the report as JSON on stdout instead of the table. */
  json: boolean;
  /** Also read the event histories back from Temporal and print where the time goes. */
  profile: boolean;
  /** LOG_LEVEL of the worker and API (their logs go to stderr). */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /**
   * The backfill benchmark instead (bench/backfill.ts): a full sync of `customers` Storeganise
   * customers and as many Zendesk users while live edits go on at `rate` per second on `users`
   * linked pairs (defaults for it: 2/s, 50 pairs, a 700 requests/minute Zendesk budget).
   */
  backfill: boolean;
  /**
   * Temporal's own cost per event instead (bench/temporal-floor.ts): workflows of each shape an
   * event could take, doing no work, `changes` events at `rate` per second over `users` customers
   * (defaults for it: 300 events at 10/s over 20 customers).
   */
  temporalFloor: boolean;
  /** Backfill: Storeganise customers and Zendesk users seeded (each), half of them sharing an email. */
  customers: number;
  /** Backfill: seconds of live edits on the idle system first, the latency baseline. */
  idleSeconds: number;
}

interface OptionSpec {
  key: keyof BenchOptions;
  flag: string;
  env: string;
  help: string;
}

const SPECS: OptionSpec[] = [
  { key: 'changes', flag: '--changes', env: 'BENCH_CHANGES', help: 'edits to fire (default 1000)' },
  { key: 'users', flag: '--users', env: 'BENCH_USERS', help: 'linked users to seed (default 100)' },
  { key: 'rate', flag: '--rate', env: 'BENCH_RATE', help: 'edits per second (default 20)' },
  {
    key: 'latencyMs',
    flag: '--latency-ms',
    env: 'BENCH_LATENCY_MS',
    help: 'simulated latency of both APIs in ms (default 0)',
  },
  {
    key: 'zendeskShare',
    flag: '--zendesk-share',
    env: 'BENCH_ZENDESK_SHARE',
    help: 'fraction of edits made in Zendesk (default 0.5)',
  },
  { key: 'seed', flag: '--seed', env: 'BENCH_SEED', help: 'seed of the edit mix (default 1)' },
  {
    key: 'zendeskRateLimit',
    flag: '--zendesk-rate-limit',
    env: 'BENCH_ZENDESK_RATE_LIMIT',
    help: 'Zendesk requests per minute allowed (default 1000000)',
  },
  { key: 'json', flag: '--json', env: 'BENCH_JSON', help: 'print JSON instead of the table' },
  { key: 'profile', flag: '--profile', env: 'BENCH_PROFILE', help: 'break the end-to-end time down by workflow step' },
  { key: 'logLevel', flag: '--log-level', env: 'BENCH_LOG_LEVEL', help: 'worker and API log level (default error)' },
  {
    key: 'backfill',
    flag: '--backfill',
    env: 'BENCH_BACKFILL',
    help: 'run the backfill benchmark: a full sync of a large account under live edits',
  },
  {
    key: 'temporalFloor',
    flag: '--temporal-floor',
    env: 'BENCH_TEMPORAL_FLOOR',
    help: "measure Temporal's own CPU per event for workflows that do no work, one shape after another",
  },
  {
    key: 'customers',
    flag: '--customers',
    env: 'BENCH_CUSTOMERS',
    help: 'backfill: customers and Zendesk users seeded, each (default 10000)',
  },
  {
    key: 'idleSeconds',
    flag: '--idle-seconds',
    env: 'BENCH_IDLE_SECONDS',
    help: 'backfill: seconds of live edits before the full sync (default 90)',
  },
];

/** What `--backfill` changes when the option is not given: live edits at 2/s on 50 pairs, Zendesk's 700/min budget. */
const BACKFILL_DEFAULTS: Partial<BenchOptions> = { rate: 2, users: 50, zendeskRateLimit: 700 };

/** What `--temporal-floor` changes when the option is not given: the 10/s, 300 events, 20 customers. */
const TEMPORAL_FLOOR_DEFAULTS: Partial<BenchOptions> = { rate: 10, changes: 300, users: 20 };

const BOOLEAN_KEYS = new Set<keyof BenchOptions>(['json', 'profile', 'backfill', 'temporalFloor']);

export const DEFAULT_OPTIONS: BenchOptions = {
  changes: 1000,
  users: 100,
  rate: 20,
  latencyMs: 0,
  zendeskShare: 0.5,
  seed: 1,
  zendeskRateLimit: 1_000_000,
  json: false,
  profile: false,
  logLevel: 'error',
  backfill: false,
  temporalFloor: false,
  customers: 10_000,
  idleSeconds: 90,
};

export class UsageError extends Error {}

export function usage(): string {
  const width = Math.max(...SPECS.map((s) => s.flag.length)) + 2;
  return [
    'Usage: npm run bench -- [options]',
    '',
    ...SPECS.map((s) => `  ${s.flag.padEnd(width)}${s.help}  [${s.env}]`),
    `  ${'--help'.padEnd(width)}this text`,
    '',
    'Environment only:',
    '  BENCH_WORKER_NODE_ARGS  extra Node options for the worker process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"',
    '  BENCH_KEEP_SECONDS      keep the Temporal dev server up this long after the report, to read histories with the CLI',
  ].join('\n');
}

function parseValue(spec: OptionSpec, raw: string): BenchOptions[keyof BenchOptions] {
  const fail = (rule: string): never => {
    throw new UsageError(`${spec.flag} ${raw}: ${rule}`);
  };
  switch (spec.key) {
    case 'json':
    case 'profile':
    case 'backfill':
    case 'temporalFloor':
      if (['', '1', 'true', 'yes'].includes(raw)) return true;
      if (['0', 'false', 'no'].includes(raw)) return false;
      return fail('expected true or false');
    case 'logLevel':
      if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw;
      return fail('expected debug, info, warn or error');
    case 'zendeskShare': {
      const share = Number(raw);
      if (!Number.isFinite(share) || share < 0 || share > 1) fail('expected a fraction between 0 and 1');
      return share;
    }
    case 'rate': {
      const rate = Number(raw);
      if (!Number.isFinite(rate) || rate <= 0) fail('expected a positive number');
      return rate;
    }
    default: {
      const value = Number(raw);
      const min = spec.key === 'latencyMs' || spec.key === 'seed' || spec.key === 'idleSeconds' ? 0 : 1;
      if (!Number.isInteger(value) || value < min) fail(`expected a whole number of at least ${min}`);
      return value;
    }
  }
}

/** Flags win over environment variables, which win over the defaults. */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const options: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  const given = new Set<keyof BenchOptions>();
  for (const spec of SPECS) {
    const raw = env[spec.env];
    if (raw === undefined || raw === '') continue;
    options[spec.key] = parseValue(spec, raw);
    given.add(spec.key);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag = '', inline] = arg.split(/=(.*)/s, 2);
    const spec = SPECS.find((s) => s.flag === flag);
    if (spec === undefined) throw new UsageError(`unknown option ${arg}`);
    let raw = inline;
    if (raw === undefined) raw = BOOLEAN_KEYS.has(spec.key) ? '' : argv[++i];
    if (raw === undefined) throw new UsageError(`${flag} needs a value`);
    options[spec.key] = parseValue(spec, raw);
    given.add(spec.key);
  }
  if (options.backfill === true) {
    for (const [key, value] of Object.entries(BACKFILL_DEFAULTS))
      if (!given.has(key as keyof BenchOptions)) options[key] = value;
  }
  if (options.temporalFloor === true) {
    if (options.backfill === true)
      throw new UsageError('--temporal-floor and --backfill are separate benchmarks: give one');
    for (const [key, value] of Object.entries(TEMPORAL_FLOOR_DEFAULTS))
      if (!given.has(key as keyof BenchOptions)) options[key] = value;
  }
  const parsed = options as unknown as BenchOptions;
  if (parsed.users < 1) throw new UsageError('--users must be at least 1');
  return parsed;
}
