import type { Client } from '@temporalio/client';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { AccountSettingsSource } from '../lib/account-settings';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { AccountRegistry } from './account-registry';
import { codecRouter } from './codec';
import { errorHandler } from './http-errors';
import { ingressRouter } from './ingress';
import { createMetrics } from './metrics';
import { oauthRouter } from './oauth';
import { operatorRouter } from './operator';

export interface ApiApp {
  app: Express;
  registry: AccountRegistry;
}

/** The thin ingress: webhooks, the OAuth round trip, the codec, operator actions, health and metrics. */
export function createApiApp(deps: { client: Client; config: Config; logger: Logger }): ApiApp {
  const { client, config, logger } = deps;
  const settings = new AccountSettingsSource(config.storeganise.addonApiKey);
  const registry = new AccountRegistry(client, config, settings);
  const metrics = createMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const source = req.path.startsWith('/addon/zendesk') ? 'zendesk' : req.path.startsWith('/addon/storeganise') ? 'storeganise' : null;
      if (source === null) return;
      metrics.webhookSeconds.observe({ source, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
      if (res.statusCode >= 400) metrics.webhooks.inc({ source, outcome: 'rejected' });
      logger.debug('webhook answered', { source, status: res.statusCode, path: req.path });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await client.connection.withDeadline(Date.now() + 2_000, () => client.connection.workflowService.getSystemInfo({}));
      res.json({ status: 'ready' });
    } catch (err) {
      res.status(503).json({ status: 'unavailable', reason: `Temporal is not reachable: ${err instanceof Error ? err.message : String(err)}` });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(ingressRouter({ client, config, registry, settings, logger, metrics }));
  app.use(oauthRouter({ client, config, registry, settings, logger }));
  app.use(codecRouter(config));
  app.use(operatorRouter({ client, config, registry }));
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'not_found', message: `No route for ${req.method} ${req.path}` } });
  });
  app.use(errorHandler((err, req) => logger.error('unexpected error', { path: req.path, error: err })));
  return { app, registry };
}
