import { SECRET_VARIABLES } from '../../lib/logger';

/**
 * Every log line the test systems write goes through `writeTestLog`, so a test can read back what
 * the API and the worker logged and look for secrets in it. Lines are kept for the whole run (the
 * test log level is `error` unless TEST_LOG_LEVEL says otherwise, so they are few).
 */
const lines: string[] = [];
const secrets = new Map<string, string>();
let quiet = 0;

/** The write function of the test systems' loggers: records the line, then echoes it to stderr unless a test silenced it. */
export function writeTestLog(line: string): void {
  lines.push(line);
  if (quiet === 0) process.stderr.write(line);
}

/** Remembers the secrets of a test system's environment, so a scan knows what to look for. */
export function registerTestSecrets(env: Readonly<Record<string, string | undefined>>): void {
  for (const variable of SECRET_VARIABLES) {
    const value = env[variable];
    if (value === undefined) continue;
    const parts = variable === 'ENCRYPTION_KEY' ? value.split(',') : [value];
    for (const part of parts) if (part.trim() !== '') secrets.set(part.trim(), variable);
  }
}

export interface LogCapture {
  /** The lines written since the capture started. */
  lines(): string[];
  stop(): void;
}

/** Collects the lines written from now on; with `quiet` they are not echoed to stderr meanwhile. */
export function captureTestLogs(options: { quiet?: boolean } = {}): LogCapture {
  const from = lines.length;
  let stopped = false;
  if (options.quiet === true) quiet += 1;
  return {
    lines: () => lines.slice(from),
    stop: () => {
      if (stopped) return;
      stopped = true;
      if (options.quiet === true) quiet -= 1;
    },
  };
}

export interface SecretInLog {
  variable: string;
  line: string;
}

/**
 * Every occurrence of a registered secret in `scanned` (all lines of the run by default), also
 * percent-encoded or JSON-escaped. The line is shown with the secret masked, so a failing test
 * does not print it either.
 */
export function secretsInLogs(scanned: readonly string[] = lines): SecretInLog[] {
  const found: SecretInLog[] = [];
  for (const [secret, variable] of secrets) {
    const spellings = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
    for (const line of scanned) {
      const spelling = [...spellings].find((s) => line.includes(s));
      if (spelling !== undefined) found.push({ variable, line: line.replaceAll(spelling, `<${variable}>`).trim() });
    }
  }
  return found;
}
