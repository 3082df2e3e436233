import path from 'node:path';
import { z } from 'zod';
import { Keyring } from './crypto';

const blankAsUnset = (value: unknown): unknown => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const requiredSecret = (what: string) =>
  z.preprocess(blankAsUnset, z.string({ error: `required: ${what}` }).min(8, `must be at least 8 characters: ${what}`));

const urlTemplate = (example: string) =>
  z.preprocess(
    blankAsUnset,
    z
      .string()
      .default(example)
      .refine((t) => t.includes('{subdomain}'), `must contain {subdomain}, e.g. ${example}`)
      .refine((t) => URL.canParse(t.replaceAll('{subdomain}', 'acme')), `must be an absolute http(s) URL, e.g. ${example}`),
  );

const port = z.coerce.number({ error: 'must be a port number from 1 to 65535' }).int('must be a port number from 1 to 65535').min(1, 'must be a port number from 1 to 65535').max(65535, 'must be a port number from 1 to 65535');

const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port, e.g. temporal.internal:7233');

const EnvSchema = z.object({
  PORT: z.preprocess(blankAsUnset, port.default(3000)),
  PUBLIC_URL: z.preprocess(blankAsUnset, z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).optional()),
  TEMPORAL_ADDRESS: z.preprocess(blankAsUnset, hostPort.optional()),
  TEMPORAL_NAMESPACE: z.preprocess(blankAsUnset, z.string().default('default')),
  TEMPORAL_TASK_QUEUE: z.preprocess(blankAsUnset, z.string().default('user-sync')),
  DATA_DIR: z.preprocess(blankAsUnset, z.string().default('./.data')),
  ENCRYPTION_KEY: z.preprocess(
    blankAsUnset,
    z
      .string({ error: 'required: base64 of 32 random bytes (`openssl rand -base64 32`); a comma-separated list keeps older keys for decryption' })
      .refine((v) => Keyring.isValidSpec(v), 'must be base64 of exactly 32 bytes (`openssl rand -base64 32`), optionally followed by older keys, comma-separated'),
  ),
  SG_ADDON_API_KEY: requiredSecret("the add-on's Storeganise API key"),
  SG_WEBHOOK_SECRET: requiredSecret('the signing secret of Storeganise add-on webhooks'),
  STOREGANISE_URL_TEMPLATE: urlTemplate('https://{subdomain}.storeganise.com/api'),
  ZENDESK_URL_TEMPLATE: urlTemplate('https://{subdomain}.zendesk.com'),
  ZENDESK_CLIENT_ID: z.preprocess(blankAsUnset, z.string({ error: 'required: the OAuth client id registered in Zendesk' }).min(1)),
  ZENDESK_CLIENT_SECRET: requiredSecret('the OAuth client secret registered in Zendesk'),
  OPERATOR_TOKEN: z.preprocess(blankAsUnset, z.string().min(16, 'must be at least 16 characters').optional()),
  WORKER_METRICS_PORT: z.preprocess(blankAsUnset, port.optional()),
  CONFLICT_SETTLE_SECONDS: z.preprocess(
    blankAsUnset,
    z.coerce.number({ error: 'must be a number of seconds, e.g. 30' }).int('must be whole seconds').min(1, 'must be at least 1 second').max(3600, 'must be at most 3600 seconds').default(30),
  ),
  LOG_LEVEL: z.preprocess(blankAsUnset, z.enum(['debug', 'info', 'warn', 'error']).default('info')),
  TEMPORAL_UI_URL: z.preprocess(blankAsUnset, z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL of the Temporal Web UI, e.g. http://localhost:8233' }).optional()),
});

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Config {
  port: number;
  /** Base URL without trailing slash. */
  publicUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string };
  dataDir: string;
  keyring: Keyring;
  storeganise: { urlTemplate: string; addonApiKey: string; webhookSecret: string };
  zendesk: { urlTemplate: string; clientId: string; clientSecret: string };
  /** Protects the codec and operator endpoints; they are disabled when unset. */
  operatorToken: string | null;
  workerMetricsPort: number | null;
  /** How long a same-field conflict may wait for a webhook still on its way (CONFLICT_SETTLE_SECONDS). */
  conflictSettleMs: number;
  logLevel: LogLevel;
  /** Origin of the Temporal Web UI (TEMPORAL_UI_URL): the only origin the codec grants CORS to; none when unset. */
  temporalUiOrigin: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (environment variables):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates every variable at once, so one message names everything that is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  const temporalAddress = parsed.data?.TEMPORAL_ADDRESS;
  // Checked on the raw value so a missing address is reported together with every other problem.
  if (blankAsUnset(env.TEMPORAL_ADDRESS) === undefined) {
    problems.push('TEMPORAL_ADDRESS: required: host:port of the Temporal frontend (only `npm start` embeds a dev server)');
  }
  if (!parsed.success || temporalAddress === undefined) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    temporal: { address: temporalAddress, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE },
    dataDir: path.resolve(e.DATA_DIR),
    keyring: Keyring.fromSpec(e.ENCRYPTION_KEY),
    storeganise: { urlTemplate: e.STOREGANISE_URL_TEMPLATE, addonApiKey: e.SG_ADDON_API_KEY, webhookSecret: e.SG_WEBHOOK_SECRET },
    zendesk: { urlTemplate: e.ZENDESK_URL_TEMPLATE, clientId: e.ZENDESK_CLIENT_ID, clientSecret: e.ZENDESK_CLIENT_SECRET },
    operatorToken: e.OPERATOR_TOKEN ?? null,
    workerMetricsPort: e.WORKER_METRICS_PORT ?? null,
    conflictSettleMs: e.CONFLICT_SETTLE_SECONDS * 1000,
    logLevel: e.LOG_LEVEL,
    temporalUiOrigin: e.TEMPORAL_UI_URL === undefined ? null : new URL(e.TEMPORAL_UI_URL).origin,
  };
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
