import type { LogLevel } from './config';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export const REDACTED = '[redacted]';

/** The environment variables whose values must never reach a log line. */
export const SECRET_VARIABLES = [
  'OPERATOR_TOKEN',
  'ZENDESK_CLIENT_SECRET',
  'SG_WEBHOOK_SECRET',
  'SG_ADDON_API_KEY',
  'ENCRYPTION_KEY',
] as const;

// Shorter values would blank out ordinary words; the configuration requires at least 8 characters anyway.
const MIN_SECRET_LENGTH = 8;

/** The configured secrets of a process, for `createLogger`: every variable above, every key of ENCRYPTION_KEY. */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_VARIABLES.flatMap((name) =>
    name === 'ENCRYPTION_KEY' ? (env[name] ?? '').split(',') : [env[name] ?? ''],
  ).map((value) => value.trim());
}

/**
 * One JSON object per line. Callers pass identifiers (account, workflow id, user ids), never
 * personal data or secrets: those only travel encrypted through Temporal. As a second line of
 * defence every occurrence of one of `secrets` (also JSON- or percent-encoded) becomes `[redacted]`.
 */
export function createLogger(
  level: LogLevel,
  base: LogFields = {},
  write: (line: string) => void = (l) => process.stdout.write(l),
  secrets: readonly string[] = [],
): Logger {
  const scrub = secretScrubber(secrets);
  const emit = (at: LogLevel, message: string, fields?: LogFields): void => {
    if (ORDER[at] < ORDER[level]) return;
    write(
      `${scrub(JSON.stringify({ time: new Date().toISOString(), level: at, message, ...base, ...fields }, logReplacer))}\n`,
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write, secrets),
  };
}

function secretScrubber(secrets: readonly string[]): (line: string) => string {
  const spellings = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    spellings.add(secret);
    spellings.add(JSON.stringify(secret).slice(1, -1));
    spellings.add(encodeURIComponent(secret));
  }
  // Longest first, so a secret containing another is replaced whole.
  const ordered = [...spellings].sort((a, b) => b.length - a.length);
  return (line) => ordered.reduce((scrubbed, spelling) => scrubbed.replaceAll(spelling, REDACTED), line);
}

const CREDENTIAL_FIELDS = /^(authorization|proxy-authorization|cookie|set-cookie)$/i;

function logReplacer(key: string, value: unknown): unknown {
  if (CREDENTIAL_FIELDS.test(key)) return REDACTED;
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/**
 * A request path or URL fit for a log line: the operator token of the codec path
 * (`/codec/t/<token>/…`), user info of an absolute URL and every query value are redacted; the
 * fragment is dropped. Query names stay, as they help to read the line.
 */
export function redactUrl(url: string): string {
  const withoutFragment = url.split('#', 1)[0] ?? '';
  const queryAt = withoutFragment.indexOf('?');
  const path = (queryAt === -1 ? withoutFragment : withoutFragment.slice(0, queryAt))
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, `$1${REDACTED}@`)
    // Express matches routes case-insensitively, so `/CODEC/T/<token>/decode` authenticates too.
    .replace(/\/codec\/t\/[^/]*/gi, `/codec/t/${REDACTED}`);
  if (queryAt === -1) return path;
  const query = withoutFragment
    .slice(queryAt + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => (pair.includes('=') ? `${pair.slice(0, pair.indexOf('='))}=${REDACTED}` : REDACTED))
    .join('&');
  return `${path}?${query}`;
}
