import { z } from 'zod';

/** What one fuzz run does; every option is a `--flag value` (or `--flag=value`). */
const FuzzOptionsSchema = z.object({
  /** Seeds every mutation, so a run can be repeated request for request. */
  seed: z.coerce.number().int().min(0).default(1),
  /** Requests sent to the api, valid ones included. */
  requests: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
  /** Wall-clock cap of the campaign: it stops sending at this point even if requests are left. */
  minutes: z.coerce.number().positive().max(240).default(30),
  /** Requests in flight at once. */
  concurrency: z.coerce.number().int().min(1).max(256).default(16),
  /** One valid signed event (for a real linked customer) every this many requests. */
  validEvery: z.coerce.number().int().min(2).max(10_000).default(40),
  /**
   * Requests per second that may start workflows (webhooks and operator actions that may be
   * accepted): the campaign is about hostile input, not load, so the sync keeps up with them.
   */
  acceptRate: z.coerce.number().positive().max(1_000).default(4),
  /** Linked customers seeded per account. */
  users: z.coerce.number().int().min(2).max(200).default(8),
  /** Print the report as JSON instead of the tables. */
  json: z.boolean().default(false),
  /** LOG_LEVEL of the api and worker processes; debug logs every answered request, which the secret scan then reads. */
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('debug'),
});

export type FuzzOptions = z.infer<typeof FuzzOptionsSchema>;

export const DEFAULT_FUZZ_OPTIONS: FuzzOptions = FuzzOptionsSchema.parse({});

interface FlagSpec {
  key: keyof FuzzOptions;
  flag: string;
  help: string;
  boolean?: true;
}

const FLAGS: FlagSpec[] = [
  { key: 'seed', flag: '--seed', help: 'seed of every mutation (default 1)' },
  { key: 'requests', flag: '--requests', help: 'requests to send, valid ones included (default 20000)' },
  { key: 'minutes', flag: '--minutes', help: 'cap on the campaign; it stops sending then (default 30)' },
  { key: 'concurrency', flag: '--concurrency', help: 'requests in flight at once (default 16)' },
  { key: 'validEvery', flag: '--valid-every', help: 'one valid signed event every N requests (default 40)' },
  {
    key: 'acceptRate',
    flag: '--accept-rate',
    help: 'requests per second that may start workflows, valid ones included (default 4)',
  },
  { key: 'users', flag: '--users', help: 'linked customers seeded per account (default 8)' },
  { key: 'json', flag: '--json', help: 'print JSON instead of the tables', boolean: true },
  {
    key: 'logLevel',
    flag: '--log-level',
    help: 'api and worker log level (default debug: every answered request is logged and scanned)',
  },
];

export class UsageError extends Error {}

export function usage(): string {
  const width = Math.max(...FLAGS.map((f) => f.flag.length)) + 2;
  return [
    'Usage: npm run fuzz -- [options]',
    '',
    'Sends seeded malformed, forged and hostile requests, with valid signed events interleaved, to',
    'the real api and worker on a Temporal dev server and the sandboxes (loopback only). Prints a',
    'table per request class. Exits 1 on any 5xx, hang, wrongly accepted request, workflow started',
    'by a refused request, secret in a log, lost worker poller, or an edit that no longer syncs.',
    '',
    ...FLAGS.map((f) => `  ${f.flag.padEnd(width)}${f.help}`),
    `  ${'--help'.padEnd(width)}this text`,
  ].join('\n');
}

export function parseFuzzOptions(argv: readonly string[]): FuzzOptions {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag = '', inline] = arg.split(/=(.*)/s, 2);
    const spec = FLAGS.find((f) => f.flag === flag);
    if (spec === undefined) throw new UsageError(`unknown option ${arg}`);
    if (spec.boolean) {
      raw[spec.key] = inline === undefined ? true : ['1', 'true', 'yes'].includes(inline);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    raw[spec.key] = value;
  }
  const parsed = FuzzOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${FLAGS.find((f) => f.key === issue.path[0])?.flag ?? String(issue.path[0])}: ${issue.message}`,
    );
    throw new UsageError(problems.join('\n'));
  }
  return parsed.data;
}

/** The command line that repeats this run (defaults left out, except the seed and the request count). */
export function reproduceCommand(options: FuzzOptions): string {
  const args = FLAGS.flatMap((f) => {
    const value = options[f.key];
    if (f.key !== 'seed' && f.key !== 'requests' && (value === DEFAULT_FUZZ_OPTIONS[f.key] || f.key === 'json'))
      return [];
    return f.boolean ? [f.flag] : [f.flag, String(value)];
  });
  return `npm run fuzz -- ${args.join(' ')}`;
}
