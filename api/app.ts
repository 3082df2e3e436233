import type { Client } from '@temporalio/client';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { AccountSettingsSource } from '../client/account-settings';
import type { Config } from '../lib/config';
import { redactUrl, type Logger } from '../lib/logger';
import { AccountDirectory } from '../client/accounts';
import { codecRouter } from './codec';
import { errorHandler } from './http-errors';
import { ingressRouter } from './ingress';
import { createMetrics } from './metrics';
import { oauthRouter } from './oauth';
import { operatorRouter } from './operator';
import { fullSyncRouter } from './full-sync';
import { statusRouter } from './status';
import { answerWithin, limitDeclaredLength, rejectContentEncoding, rejectMalformedUrl } from './request-guards';

export interface ApiApp {
  app: Express;
  directory: AccountDirectory;
}

/** The thin ingress: webhooks, the OAuth round trip, the codec, operator actions, health and metrics. */
export function createApiApp(deps: { client: Client; config: Config; logger: Logger }): ApiApp {
  const { client, config, logger } = deps;
  const settings = new AccountSettingsSource(config.storeganise.addonApiKey);
  const directory = new AccountDirectory(client, config.temporal.taskQueue);
  const metrics = createMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const lower = req.path.toLowerCase();
      const source = lower.startsWith('/addon/zendesk')
        ? 'zendesk'
        : lower.startsWith('/addon/storeganise')
          ? 'storeganise'
          : null;
      // Only the redacted form of a path is ever logged: the codec path carries the operator token.
      logger.debug('request answered', {
        method: req.method,
        path: redactUrl(req.originalUrl),
        status: res.statusCode,
        ...(source === null ? {} : { source }),
      });
      if (source === null) return;
      metrics.webhookSeconds.observe(
        { source, status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      if (res.statusCode >= 400) metrics.webhooks.inc({ source, outcome: 'rejected' });
    });
    next();
  });
  // Refusals that need only the request line and headers, before any route reads or decodes anything.
  app.use(rejectMalformedUrl, rejectContentEncoding, limitDeclaredLength(), answerWithin());

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await client.connection.withDeadline(Date.now() + 2_000, () =>
        client.connection.workflowService.getSystemInfo({}),
      );
      res.json({ status: 'ready' });
    } catch (err) {
      res.status(503).json({
        status: 'unavailable',
        reason: `Temporal is not reachable: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(statusRouter({ client, config, directory, metrics }));
  app.use(ingressRouter({ client, config, directory, settings, logger, metrics }));
  app.use(oauthRouter({ client, config, directory, settings, logger }));
  app.use(codecRouter(config));
  app.use(operatorRouter({ client, config, directory, settings }));
  app.use(fullSyncRouter({ client, config, directory }));
  app.use((req: Request, res: Response) => {
    res
      .status(404)
      .json({ error: { code: 'not_found', message: `No route for ${req.method} ${redactUrl(req.path)}` } });
  });
  app.use(errorHandler(logger));
  return { app, directory };
}
