import http from 'node:http';
import { loadConfigOrExit } from '../lib/config';
import { createLogger, secretsFromEnv } from '../lib/logger';
import { connectClient } from '../lib/temporal';
import { createApiApp } from './app';
import { applyServerTimeouts } from './server';

/** Production entry point: `npm run api`. Stateless: run as many behind a load balancer as needed. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { process: 'api' }, undefined, secretsFromEnv(process.env));
  const { client, connection } = await connectClient(config);
  const { app } = createApiApp({ client, config, logger });
  const server = applyServerTimeouts(http.createServer(app));
  server.listen(config.port, () => logger.info('api listening', { port: config.port, publicUrl: config.publicUrl }));
  const stop = (): void => {
    logger.info('api stopping');
    server.close(() => void connection.close().finally(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
