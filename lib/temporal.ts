import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from './config';
import { dataConverterFor } from './data-converter';
import type { Logger } from './logger';

const { IndexedValueType } = temporal.api.enums.v1;

const INDEXED_TYPE = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

/** How the Temporal CLI and Temporal Cloud spell each type. */
const TYPE_NAME = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
} as const;

export interface SearchAttributeKey {
  name: string;
  type: keyof typeof INDEXED_TYPE;
}

/** The operator service's `addSearchAttributes` argument for these keys. */
export const indexedTypesOf = (
  keys: readonly SearchAttributeKey[],
): Record<string, temporal.api.enums.v1.IndexedValueType> =>
  Object.fromEntries(keys.map((key) => [key.name, INDEXED_TYPE[key.type]]));

// gRPC status codes (grpc-js `status`).
const INVALID_ARGUMENT = 3;
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;
const UNAUTHENTICATED = 16;

/** The gRPC status code of a failed call, as a number; null for other errors. */
const codeOf = (err: unknown): number | null => (isGrpcServiceError(err) ? Number(err.code) : null);

/** The operator service is not offered to this connection (Temporal Cloud, or a key without admin rights). */
const operatorRefused = (err: unknown): boolean =>
  [UNIMPLEMENTED, PERMISSION_DENIED, UNAUTHENTICATED].includes(codeOf(err) ?? -1);

/** A start-up failure a person fixes from its one-line message; the processes exit with it, no stack trace. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Search attributes the namespace lacks and this connection may not create: the message says how to add them. */
export class MissingSearchAttributes extends StartupError {
  constructor(
    readonly namespace: string,
    readonly missing: readonly SearchAttributeKey[],
  ) {
    const list = missing.map((key) => `${key.name} (${TYPE_NAME[key.type]})`).join(', ');
    const cli = missing
      .map(
        (key) =>
          `temporal operator search-attribute create --namespace ${namespace} --name ${key.name} --type ${TYPE_NAME[key.type]}`,
      )
      .join(' && ');
    const cloud = `tcld namespace search-attributes add --namespace ${namespace} ${missing.map((key) => `--search-attribute "${key.name}=${TYPE_NAME[key.type]}"`).join(' ')}`;
    super(
      `namespace ${namespace} lacks the search attributes ${list}, and this connection may not create them; add them once, then start again: ${cli} (Temporal Cloud: ${cloud}, or the namespace's page in the Cloud UI)`,
    );
    this.name = 'MissingSearchAttributes';
  }
}

/** The services a search-attribute check needs: the operator service only when it is offered. */
export type SearchAttributeServices = Pick<Connection, 'operatorService' | 'workflowService'>;

/** Whether visibility knows the attribute: a query naming an unknown one is refused as an invalid argument. */
async function visibilityKnows(
  services: SearchAttributeServices,
  namespace: string,
  key: SearchAttributeKey,
): Promise<boolean> {
  try {
    await services.workflowService.countWorkflowExecutions({
      namespace,
      query: `${key.name} = 'search-attribute-check'`,
    });
    return true;
  } catch (err) {
    if (codeOf(err) === INVALID_ARGUMENT) return false;
    throw err;
  }
}

/**
 * Registers the product's search attributes when missing, so a bare server or namespace just
 * works. Where the operator service is not offered (Temporal Cloud), they are checked instead,
 * through visibility, and a missing one stops the process with a message saying how to add it.
 */
export async function ensureSearchAttributes(
  services: SearchAttributeServices,
  namespace: string,
  keys: readonly SearchAttributeKey[],
): Promise<void> {
  let missing: SearchAttributeKey[];
  try {
    const { customAttributes } = await services.operatorService.listSearchAttributes({ namespace });
    missing = keys.filter((key) => customAttributes?.[key.name] === undefined);
  } catch (err) {
    if (!operatorRefused(err)) throw err;
    missing = [];
    for (const key of keys) if (!(await visibilityKnows(services, namespace, key))) missing.push(key);
    if (missing.length > 0) throw new MissingSearchAttributes(namespace, missing);
    return;
  }
  if (missing.length === 0) return;
  try {
    await services.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: indexedTypesOf(missing),
    });
  } catch (err) {
    if (operatorRefused(err)) throw new MissingSearchAttributes(namespace, missing);
    // Another process registering the same attributes at the same moment is fine.
    const again = await services.operatorService.listSearchAttributes({ namespace });
    if (missing.some((key) => again.customAttributes?.[key.name] === undefined)) throw err;
  }
}

/** Why a TCP connection to `address` fails, in a few words; null when it connects. */
function tcpProblem(address: string, timeoutMs = 2_000): Promise<string | null> {
  const match = /^\[?(.+?)\]?:(\d+)$/.exec(address);
  if (match === null) return Promise.resolve('not a host:port address');
  const [, host = '', port = '0'] = match;
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port) });
    const done = (problem: string | null): void => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const reasons: Record<string, string> = {
        ECONNREFUSED: 'connection refused',
        ENOTFOUND: `host ${host} not found`,
        EAI_AGAIN: `host ${host} not found (DNS)`,
        EHOSTUNREACH: 'host unreachable',
        ENETUNREACH: 'network unreachable',
      };
      done(reasons[err.code ?? ''] ?? err.message);
    });
  });
}

/** A short reason for a failed attempt, without the SDK's stack or Rust debug text. */
async function reasonOf(err: unknown, address: string): Promise<string> {
  if (isGrpcServiceError(err)) return err.details || err.message;
  const message = err instanceof Error ? err.message : String(err);
  if (/ConnectionRefused/.test(message)) return 'connection refused';
  if (/dns error/i.test(message)) return 'host not found (DNS)';
  if (/before the deadline|transport/i.test(message))
    return (
      (await tcpProblem(address)) ??
      `the TCP port answers but the gRPC handshake failed (TLS settings?): ${message.split('\n')[0] ?? ''}`
    );
  return message.split('\n')[0] ?? message;
}

/** Credentials or a refused request: waiting does not help, so the process stops at once. */
const permanent = (err: unknown): boolean =>
  err instanceof StartupError || [UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT].includes(codeOf(err) ?? -1);

/**
 * Runs `attempt` until it succeeds, for at most `waitMs` (Temporal may still be starting, or its
 * namespace not created yet), logging each failure on one line; then gives up with a StartupError
 * naming the address and the last reason.
 */
export async function withTemporalRetry<T>(
  config: Pick<Config, 'temporalConnection' | 'temporalStartupWaitMs'>,
  logger: Logger | null,
  what: string,
  attempt: () => Promise<T>,
): Promise<T> {
  const { summary, options } = config.temporalConnection;
  const started = Date.now();
  const deadline = started + config.temporalStartupWaitMs;
  for (let attempts = 1, delayMs = 1_000; ; attempts++, delayMs = Math.min(5_000, delayMs * 2)) {
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof StartupError) throw err;
      const reason = await reasonOf(err, options.address);
      if (permanent(err))
        throw new StartupError(
          `Temporal at ${summary} refused ${what}: ${reason}; check TEMPORAL_API_KEY, the TLS certificates and TEMPORAL_NAMESPACE`,
        );
      const left = deadline - Date.now();
      if (left <= 0) {
        const waited = Math.round((Date.now() - started) / 1000);
        throw new StartupError(
          `could not reach Temporal at ${summary} for ${what} (${attempts === 1 ? '1 attempt' : `${attempts} attempts`} in ${waited} s): ${reason}; check TEMPORAL_ADDRESS (and TEMPORAL_TLS*, TEMPORAL_API_KEY) and that the server is up (TEMPORAL_STARTUP_WAIT_SECONDS sets how long to wait)`,
        );
      }
      logger?.warn('Temporal not reachable yet; retrying', {
        address: options.address,
        what,
        attempt: attempts,
        reason,
        retryingForSeconds: Math.ceil(left / 1000),
      });
      await sleep(Math.min(delayMs, left));
    }
  }
}

/** A client that encrypts every payload, with the search attributes it needs registered (or checked). */
export async function connectClient(
  config: Pick<Config, 'temporal' | 'keyring' | 'temporalConnection' | 'temporalStartupWaitMs'>,
  searchAttributes: readonly SearchAttributeKey[],
  logger: Logger | null = null,
): Promise<{ client: Client; connection: Connection }> {
  const connection = await withTemporalRetry(config, logger, 'a connection', () =>
    Connection.connect({ ...config.temporalConnection.options, connectTimeout: '5 seconds' }),
  );
  try {
    await withTemporalRetry(config, logger, `the search attributes of namespace ${config.temporal.namespace}`, () =>
      ensureSearchAttributes(connection, config.temporal.namespace, searchAttributes),
    );
  } catch (err) {
    await connection.close();
    throw err;
  }
  return {
    connection,
    client: new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverterFor(config.keyring),
    }),
  };
}
