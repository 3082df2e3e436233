import http from 'node:http';
import { loadConfigOrExit, temporalSecretsFromEnv } from '../lib/config';
import { createLogger, secretsFromEnv } from '../lib/logger';
import { connectClient, StartupError } from '../lib/temporal';
import { createApiApp } from './app';
import { applyServerTimeouts } from './server';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

/** Why the API cannot listen, in words that say what to change. */
function listenProblem(err: NodeJS.ErrnoException, host: string, port: number): string {
  const where = `${host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is in use by another process; stop it, or set PORT (or HOST) to listen elsewhere`;
    case 'EACCES':
      return `not allowed to listen on ${where}; set PORT to 1024 or above`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `HOST ${host} is not an address of this machine; set HOST to 0.0.0.0 (every interface) or 127.0.0.1`;
    default:
      return `cannot listen on ${where}: ${err.message}`;
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => reject(new StartupError(listenProblem(err, host, port)));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** Production entry point: `npm run api`. Stateless: run as many behind a load balancer as needed. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { process: 'api' }, undefined, [
    ...secretsFromEnv(process.env),
    ...temporalSecretsFromEnv(process.env),
  ]);
  // The port is taken first, so a clash is reported at once rather than after the wait for Temporal;
  // until Temporal answers, every request but the liveness probe is asked to come back later.
  let answer: http.RequestListener = (req, res) => {
    const live = req.url === '/healthz';
    res.writeHead(live ? 200 : 503, { 'content-type': 'application/json', ...(live ? {} : { 'retry-after': '5' }) });
    res.end(JSON.stringify(live ? { status: 'starting' } : { error: 'starting', message: 'waiting for Temporal' }));
  };
  const server = applyServerTimeouts(http.createServer((req, res) => answer(req, res)));
  let connection: { close(): Promise<void> } | null = null;
  const stop = (): void => {
    logger.info('api stopping');
    server.close(() => void (connection?.close() ?? Promise.resolve()).finally(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  await listen(server, config.port, config.host);
  logger.info('api listening; connecting to Temporal', {
    host: config.host,
    port: config.port,
    temporal: config.temporalConnection.summary,
  });
  const connected = await connectClient(config, SEARCH_ATTRIBUTE_KEYS, logger);
  connection = connected.connection;
  answer = createApiApp({ client: connected.client, config, logger }).app;
  logger.info('api ready', {
    host: config.host,
    port: config.port,
    publicUrl: config.publicUrl,
    namespace: config.temporal.namespace,
  });
}

main().catch((err: unknown) => {
  // A problem the operator fixes from the message alone gets one line, not a stack trace.
  console.error(err instanceof StartupError ? `api: ${err.message}` : err);
  process.exit(1);
});
