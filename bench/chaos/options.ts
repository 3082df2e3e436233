import { z } from 'zod';

/** What one chaos run does; every option is a `--flag value` (or `--flag=value`). */
const ChaosOptionsSchema = z.object({
  /** Wall-clock budget of the whole run; the chaos phase gets what setup and settling leave. */
  minutes: z.coerce.number().min(1).max(120).default(10),
  /** Seeds the edits, the fault plan and the sandboxes' fault decisions, so a run can be repeated. */
  seed: z.coerce.number().int().min(0).default(1),
  /** Linked pairs seeded before the chaos phase. */
  users: z.coerce.number().int().min(1).max(500).default(30),
  /** Edits per second during the chaos phase (open loop), plus a few two-sided conflicts a minute. */
  rate: z.coerce.number().positive().max(50).default(2),
  /** Longest wait for both sides to be quiet and equal once the faults stop. */
  settleMinutes: z.coerce.number().positive().max(30).default(3),
  /** Print the report as JSON instead of the table. */
  json: z.boolean().default(false),
  /** LOG_LEVEL of the api and worker processes (their output goes to log files). */
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('warn'),
});

export type ChaosOptions = z.infer<typeof ChaosOptionsSchema>;

export const DEFAULT_CHAOS_OPTIONS: ChaosOptions = ChaosOptionsSchema.parse({});

interface FlagSpec {
  key: keyof ChaosOptions;
  flag: string;
  help: string;
  boolean?: true;
}

const FLAGS: FlagSpec[] = [
  { key: 'minutes', flag: '--minutes', help: 'wall-clock budget of the whole run (default 10)' },
  { key: 'seed', flag: '--seed', help: 'seed of edits and faults (default 1)' },
  { key: 'users', flag: '--users', help: 'linked users to seed (default 30)' },
  { key: 'rate', flag: '--rate', help: 'edits per second (default 2)' },
  {
    key: 'settleMinutes',
    flag: '--settle-minutes',
    help: 'longest wait for the sync to settle after the faults (default 3)',
  },
  { key: 'json', flag: '--json', help: 'print JSON instead of the table', boolean: true },
  { key: 'logLevel', flag: '--log-level', help: 'api and worker log level (default warn)' },
];

export class UsageError extends Error {}

export function usage(): string {
  const width = Math.max(...FLAGS.map((f) => f.flag.length)) + 2;
  return [
    'Usage: npm run chaos -- [options]',
    '',
    'Runs the real api and worker against the sandboxes under process kills, a Temporal restart,',
    'injected faults and two-sided edits, then judges convergence. Exits 1 on any lost edit,',
    'divergent pair, stale overwrite, duplicate user or webhook answered 500.',
    '',
    ...FLAGS.map((f) => `  ${f.flag.padEnd(width)}${f.help}`),
    `  ${'--help'.padEnd(width)}this text`,
  ].join('\n');
}

export function parseChaosOptions(argv: readonly string[]): ChaosOptions {
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
  const parsed = ChaosOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${FLAGS.find((f) => f.key === issue.path[0])?.flag ?? String(issue.path[0])}: ${issue.message}`,
    );
    throw new UsageError(problems.join('\n'));
  }
  return parsed.data;
}

/** The command line that repeats this run (defaults left out, except the seed, which a reader looks for). */
export function reproduceCommand(options: ChaosOptions): string {
  const args = FLAGS.flatMap((f) => {
    const value = options[f.key];
    if (f.key !== 'seed' && (value === DEFAULT_CHAOS_OPTIONS[f.key] || f.key === 'json')) return [];
    return f.boolean ? [f.flag] : [f.flag, String(value)];
  });
  return `npm run chaos -- ${args.join(' ')}`;
}
