import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import { z } from 'zod';
import { Keyring } from './crypto';

const blankAsUnset = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const requiredSecret = (what: string) =>
  z.preprocess(blankAsUnset, z.string({ error: `required: ${what}` }).min(8, `must be at least 8 characters: ${what}`));

const urlTemplate = (example: string) =>
  z.preprocess(
    blankAsUnset,
    z
      .string()
      .default(example)
      .refine((t) => t.includes('{subdomain}'), `must contain {subdomain}, e.g. ${example}`)
      .refine(
        (t) => URL.canParse(t.replaceAll('{subdomain}', 'acme')),
        `must be an absolute http(s) URL, e.g. ${example}`,
      ),
  );

const port = z.coerce
  .number({ error: 'must be a port number from 1 to 65535' })
  .int('must be a port number from 1 to 65535')
  .min(1, 'must be a port number from 1 to 65535')
  .max(65535, 'must be a port number from 1 to 65535');

const hostPort = z
  .string()
  .regex(/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, 'must be host:port, e.g. temporal.internal:7233');

const listenHost = z
  .string()
  .refine(
    (h) => net.isIP(h) !== 0 || /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(h),
    'must be an IP address or host name to listen on, e.g. 0.0.0.0 (every interface) or 127.0.0.1 (this machine only)',
  );

const EnvSchema = z.object({
  PORT: z.preprocess(blankAsUnset, port.default(3000)),
  HOST: z.preprocess(blankAsUnset, listenHost.default('0.0.0.0')),
  PUBLIC_URL: z.preprocess(
    blankAsUnset,
    z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).optional(),
  ),
  TEMPORAL_NAMESPACE: z.preprocess(blankAsUnset, z.string().default('default')),
  TEMPORAL_TASK_QUEUE: z.preprocess(blankAsUnset, z.string().default('user-sync')),
  DATA_DIR: z.preprocess(blankAsUnset, z.string().default('./.data')),
  ENCRYPTION_KEY: z.preprocess(
    blankAsUnset,
    z
      .string({
        error:
          'required: base64 of 32 random bytes (`openssl rand -base64 32`); a comma-separated list keeps older keys for decryption',
      })
      .refine(
        (v) => Keyring.isValidSpec(v),
        'must be base64 of exactly 32 bytes (`openssl rand -base64 32`), optionally followed by older keys, comma-separated',
      ),
  ),
  SG_ADDON_API_KEY: requiredSecret("the add-on's Storeganise API key"),
  SG_WEBHOOK_SECRET: requiredSecret('the signing secret of Storeganise add-on webhooks'),
  STOREGANISE_URL_TEMPLATE: urlTemplate('https://{subdomain}.storeganise.com/api'),
  ZENDESK_URL_TEMPLATE: urlTemplate('https://{subdomain}.zendesk.com'),
  ZENDESK_CLIENT_ID: z.preprocess(
    blankAsUnset,
    z.string({ error: 'required: the OAuth client id registered in Zendesk' }).min(1),
  ),
  ZENDESK_CLIENT_SECRET: requiredSecret('the OAuth client secret registered in Zendesk'),
  OPERATOR_TOKEN: z.preprocess(blankAsUnset, z.string().min(16, 'must be at least 16 characters').optional()),
  WORKER_METRICS_PORT: z.preprocess(blankAsUnset, port.optional()),
  CONFLICT_SETTLE_SECONDS: z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ error: 'must be a number of seconds, e.g. 30' })
      .int('must be whole seconds')
      .min(1, 'must be at least 1 second')
      .max(3600, 'must be at most 3600 seconds')
      .default(30),
  ),
  RECONCILE_INTERVAL: z.preprocess(
    blankAsUnset,
    z
      .string()
      .default('10m')
      .transform((v) => v.trim().toLowerCase())
      .refine(
        (v) => v === 'off' || parseInterval(v) !== null,
        'must be a duration such as 30s, 10m or 1h (from 1s to 24h), or off',
      ),
  ),
  LOG_LEVEL: z.preprocess(blankAsUnset, z.enum(['debug', 'info', 'warn', 'error']).default('info')),
  TEMPORAL_UI_URL: z.preprocess(
    blankAsUnset,
    z
      .url({
        protocol: /^https?$/,
        error: 'must be an absolute http(s) URL of the Temporal Web UI, e.g. http://localhost:8233',
      })
      .optional(),
  ),
  SYNC_LOG_RETENTION_DAYS: z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ error: 'must be a number of days, e.g. 30' })
      .int('must be whole days')
      .min(1, 'must be at least 1 day')
      .max(3650, 'must be at most 3650 days')
      .default(30),
  ),
  STATUS_LINK_TTL_DAYS: z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ error: 'must be a number of days, e.g. 30' })
      .int('must be whole days')
      .min(1, 'must be at least 1 day')
      .max(365, 'must be at most 365 days')
      .default(30),
  ),
  TEMPORAL_STARTUP_WAIT_SECONDS: z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ error: 'must be a number of seconds, e.g. 60' })
      .int('must be whole seconds')
      .min(0, 'must be 0 or more')
      .max(3600, 'must be at most 3600 seconds')
      .default(60),
  ),
});

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const INTERVAL_UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** `30s`, `10m`, `1h` in milliseconds; null when the text is not such a duration or outside 1 s to 24 h. */
export function parseInterval(text: string): number | null {
  const match = /^(\d{1,5})(s|m|h)$/.exec(text.trim().toLowerCase());
  if (match === null) return null;
  const ms = Number(match[1]) * INTERVAL_UNIT_MS[match[2] as keyof typeof INTERVAL_UNIT_MS];
  return ms >= 1_000 && ms <= 24 * 3_600_000 ? ms : null;
}

/** How the processes reach Temporal: what `Connection.connect` and `NativeConnection.connect` take. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface Config {
  port: number;
  /** Interface the API (and the worker's metrics endpoint) listen on (HOST). */
  host: string;
  /** Base URL without trailing slash. */
  publicUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string };
  /**
   * The Temporal connection as `@temporalio/envconfig` resolves it: a profile of the TOML config
   * file (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE), overridden by TEMPORAL_ADDRESS, TEMPORAL_API_KEY,
   * TEMPORAL_TLS* and TEMPORAL_GRPC_META_*. `summary` names the address and how it is secured, never a secret.
   */
  temporalConnection: { options: TemporalConnectionOptions; summary: string };
  /** How long api and worker wait and retry for Temporal at start-up before exiting (TEMPORAL_STARTUP_WAIT_SECONDS). */
  temporalStartupWaitMs: number;
  dataDir: string;
  keyring: Keyring;
  storeganise: { urlTemplate: string; addonApiKey: string; webhookSecret: string };
  zendesk: { urlTemplate: string; clientId: string; clientSecret: string };
  /** Protects the codec and operator endpoints; they are disabled when unset. */
  operatorToken: string | null;
  workerMetricsPort: number | null;
  /** How long a same-field conflict may wait for a webhook still on its way (CONFLICT_SETTLE_SECONDS). */
  conflictSettleMs: number;
  /** How often each account's reconciliation runs (RECONCILE_INTERVAL); null when it is off. */
  reconcileIntervalMs: number | null;
  logLevel: LogLevel;
  /** Origin of the Temporal Web UI (TEMPORAL_UI_URL): the only origin the codec grants CORS to; none when unset. */
  temporalUiOrigin: string | null;
  /** The Web UI's URL as given (TEMPORAL_UI_URL), for links from the status page and the codec login; none when unset. */
  temporalUiUrl: string | null;
  /**
   * How long the sync log is kept (SYNC_LOG_RETENTION_DAYS): the Temporal namespace's retention,
   * which `npm start` and the tests set on their dev server and a real cluster's operator sets on
   * the namespace; the status page warns when the namespace keeps less.
   */
  syncLogRetentionDays: number;
  /** How long a signed read-only status link handed to a storage operator stays valid (STATUS_LINK_TTL_DAYS). */
  statusLinkTtlMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (environment variables):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The Temporal connection variables read by `@temporalio/envconfig`, besides the profile file's own. */
const TLS_PATH_VARIABLES = [
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
] as const;

interface TemporalConnectionResult {
  connection: Config['temporalConnection'] | null;
  namespace: string | null;
  problems: string[];
}

/**
 * The Temporal connection, read the standard way (`@temporalio/envconfig`), so Temporal Cloud and
 * TLS or mTLS clusters work with the variables and profiles Temporal's own tools use.
 */
function temporalConnectionFrom(env: NodeJS.ProcessEnv): TemporalConnectionResult {
  // Blank counts as unset here too (a compose `.env` leaves unused variables empty).
  const given: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (typeof value === 'string' && value.trim() !== '') given[name] = value.trim();
  const problems: string[] = [];
  if (given.TEMPORAL_CONFIG_FILE !== undefined && !existsSync(given.TEMPORAL_CONFIG_FILE))
    problems.push(`TEMPORAL_CONFIG_FILE: no such file: ${given.TEMPORAL_CONFIG_FILE}`);
  for (const name of TLS_PATH_VARIABLES) {
    const file = given[name];
    if (file !== undefined && !existsSync(file)) problems.push(`${name}: no such file: ${file}`);
  }
  if (given.TEMPORAL_TLS !== undefined && !['1', 'true', '0', 'false'].includes(given.TEMPORAL_TLS))
    problems.push('TEMPORAL_TLS: must be true or false (1 or 0)');
  if (problems.length > 0) return { connection: null, namespace: null, problems };

  let profile: ClientConfigProfile;
  let options: ReturnType<typeof toClientOptions>['connectionOptions'];
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: given });
    options = toClientOptions(profile).connectionOptions;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      connection: null,
      namespace: null,
      problems: [`TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE / TEMPORAL_TLS_*: ${reason}`],
    };
  }
  const { address, tls } = profile;
  if (address === undefined || address.trim() === '') {
    problems.push(
      'TEMPORAL_ADDRESS: required: host:port of the Temporal frontend, or a TEMPORAL_PROFILE whose address is set (only `npm start` embeds a dev server)',
    );
  } else if (!hostPort.safeParse(address).success) {
    problems.push(`TEMPORAL_ADDRESS: must be host:port, e.g. temporal.internal:7233 (got "${address}")`);
  }
  const hasCert = tls?.clientCert !== undefined;
  const hasKey = tls?.clientKey !== undefined;
  if (hasCert !== hasKey) {
    problems.push(
      hasCert
        ? 'TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_CLIENT_KEY_DATA: required with a client certificate (mTLS needs both)'
        : 'TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CLIENT_CERT_DATA: required with a client key (mTLS needs both)',
    );
  }
  if (problems.length > 0 || address === undefined) return { connection: null, namespace: null, problems };

  const secured = options.tls === undefined || options.tls === false ? 'plaintext' : hasCert ? 'mTLS' : 'TLS';
  const parts = [secured, ...(options.apiKey === undefined ? [] : ['API key'])];
  const profileName = given.TEMPORAL_PROFILE;
  if (profileName !== undefined) parts.push(`profile '${profileName}'`);
  const connection: Config['temporalConnection'] = {
    options: {
      address,
      ...(options.tls === undefined || options.tls === null ? {} : { tls: options.tls }),
      ...(options.apiKey === undefined || typeof options.apiKey !== 'string' ? {} : { apiKey: options.apiKey }),
      ...(profile.grpcMeta === undefined ? {} : { metadata: profile.grpcMeta }),
    },
    summary: `${address} (${parts.join(', ')})`,
  };
  return { connection, namespace: profile.namespace ?? null, problems };
}

/** Reads and validates every variable at once, so one message names everything that is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  // Checked on the raw values so a missing address is reported together with every other problem.
  const temporal = temporalConnectionFrom(env);
  problems.push(...temporal.problems);
  if (!parsed.success || temporal.connection === null) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    temporal: {
      address: temporal.connection.options.address,
      // TEMPORAL_NAMESPACE wins over the profile's namespace, as in Temporal's own tools.
      namespace:
        blankAsUnset(env.TEMPORAL_NAMESPACE) === undefined
          ? (temporal.namespace ?? e.TEMPORAL_NAMESPACE)
          : e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
    },
    temporalConnection: temporal.connection,
    temporalStartupWaitMs: e.TEMPORAL_STARTUP_WAIT_SECONDS * 1000,
    dataDir: path.resolve(e.DATA_DIR),
    keyring: Keyring.fromSpec(e.ENCRYPTION_KEY),
    storeganise: {
      urlTemplate: e.STOREGANISE_URL_TEMPLATE,
      addonApiKey: e.SG_ADDON_API_KEY,
      webhookSecret: e.SG_WEBHOOK_SECRET,
    },
    zendesk: {
      urlTemplate: e.ZENDESK_URL_TEMPLATE,
      clientId: e.ZENDESK_CLIENT_ID,
      clientSecret: e.ZENDESK_CLIENT_SECRET,
    },
    operatorToken: e.OPERATOR_TOKEN ?? null,
    workerMetricsPort: e.WORKER_METRICS_PORT ?? null,
    conflictSettleMs: e.CONFLICT_SETTLE_SECONDS * 1000,
    reconcileIntervalMs: e.RECONCILE_INTERVAL === 'off' ? null : parseInterval(e.RECONCILE_INTERVAL),
    logLevel: e.LOG_LEVEL,
    temporalUiOrigin: e.TEMPORAL_UI_URL === undefined ? null : new URL(e.TEMPORAL_UI_URL).origin,
    temporalUiUrl: e.TEMPORAL_UI_URL === undefined ? null : e.TEMPORAL_UI_URL.replace(/\/+$/, ''),
    syncLogRetentionDays: e.SYNC_LOG_RETENTION_DAYS,
    statusLinkTtlMs: e.STATUS_LINK_TTL_DAYS * 24 * 3600 * 1000,
  };
}

/** Secrets of the Temporal connection, for the loggers' redaction list (lib/logger.ts names the product's own). */
export function temporalSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return ['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA']
    .map((name) => env[name]?.trim() ?? '')
    .filter((value) => value !== '');
}

/** Loads the configuration or stops the process with the list of offending variables. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(78);
  }
}
