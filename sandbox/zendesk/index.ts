import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { Faults } from '../common/faults';
import { listen } from '../common/http-server';
import { RequestLog } from '../common/request-log';
import { WebhookOutbox } from '../common/webhook-outbox';
import { StateFile } from '../common/state-file';
import { requestBudget } from './budget';
import { ZendeskSandboxClient } from './client';
import { controlRoutes } from './control';
import { EventPublisher, zendeskRetryRule } from './events';
import { accountOf, errorHandler, HttpError, subdomainOf } from './http';
import { identitiesApi } from './identities';
import { incrementalExportApi } from './incremental-export';
import { authenticate, currentTokenApi, OAuthStore, oauthRoutes, requireScope } from './oauth';
import { SandboxState, type SandboxContext } from './state';
import { userFieldsApi } from './user-fields';
import { restoreZendesk, zendeskSnapshot } from './persistence';
import { usersApi } from './users';
import { webhooksApi } from './webhooks';

export { ZendeskSandboxClient } from './client';
export type * from './wire';

export interface ZendeskSandbox {
  readonly url: string;
  /** `${url}/zendesk/{subdomain}`: the value for the service's ZENDESK_URL_TEMPLATE. */
  readonly urlTemplate: string;
  readonly client: ZendeskSandboxClient;
  /** True when the records were read back from `stateFile` (a restart), false for an empty sandbox. */
  readonly restored: boolean;
  /** Resolves when no webhook delivery is queued, held or in flight. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Zendesk gives webhook receivers 12 s to answer. */
const WEBHOOK_TIMEOUT_MS = 12_000;

export interface ZendeskSandboxOptions {
  port?: number;
  host?: string;
  /** Keep the records in this JSON file: read at start when it exists, written after every request and on close. */
  stateFile?: string;
}

export async function startZendeskSandbox(options: ZendeskSandboxOptions = {}): Promise<ZendeskSandbox> {
  const state = new SandboxState();
  const faults = new Faults();
  const outbox = new WebhookOutbox(zendeskRetryRule, faults, WEBHOOK_TIMEOUT_MS);
  const ctx: SandboxContext = {
    state,
    faults,
    outbox,
    requestLog: new RequestLog(),
    oauth: new OAuthStore(),
    events: new EventPublisher(state, outbox, 'api'),
  };
  const app = createZendeskApp(ctx);
  let stateFile: StateFile | null = null;
  let restored = false;
  if (options.stateFile !== undefined) {
    const saved = StateFile.read(options.stateFile);
    if (saved !== null) restoreZendesk(state, ctx.oauth, saved, options.stateFile);
    restored = saved !== null;
    stateFile = new StateFile(options.stateFile, () => zendeskSnapshot(state, ctx.oauth));
  }
  const server = await listen(stateFile === null ? app : stateFile.around(app), options.port, options.host);
  return {
    url: server.url,
    urlTemplate: `${server.url}/zendesk/{subdomain}`,
    client: new ZendeskSandboxClient(server.url),
    restored,
    idle: () => outbox.idle(),
    close: async () => {
      outbox.close();
      await server.close();
      stateFile?.close();
    },
  };
}

function zendeskError(status: number, description: string): HttpError {
  return new HttpError(status, { error: status >= 500 ? 'InternalError' : 'InvalidParameter', description });
}

/** Zendesk accepts `/api/v2/users/1.json` and `/api/v2/users/1` alike; routes are declared without the suffix. */
function stripJsonSuffix(req: Request, _res: Response, next: NextFunction): void {
  req.url = req.url.replace(/\.json(?=$|\?)/, '');
  next();
}

export function createZendeskApp(ctx: SandboxContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  // Changes made through the control API are an agent's edits in the Zendesk UI, and logged as such.
  app.use(
    '/_sandbox',
    express.json({ limit: '1mb' }),
    controlRoutes({ ...ctx, events: ctx.events.madeVia('control') }),
  );

  const api = Router();
  api.use(
    stripJsonSuffix,
    requestBudget(ctx),
    ctx.faults.middleware(subdomainOf),
    express.json({ limit: '1mb' }),
    authenticate(ctx),
  );
  api.use(currentTokenApi(ctx));
  api.use(['/users', '/user_fields', '/incremental'], requireScope('users'));
  api.use('/webhooks', requireScope('webhooks'));
  api.use(usersApi(ctx), identitiesApi(ctx), userFieldsApi(ctx), incrementalExportApi(ctx), webhooksApi(ctx));
  api.use(() => {
    throw new HttpError(404, { error: 'InvalidEndpoint', description: 'Not found' });
  });

  const account = Router();
  account.use(ctx.requestLog.middleware(subdomainOf), (req, _res, next) => {
    accountOf(ctx, req);
    next();
  });
  account.use('/oauth', express.json({ limit: '1mb' }), express.urlencoded({ extended: false }), oauthRoutes(ctx));
  account.use('/api/v2', api);
  app.use('/zendesk/:subdomain', account);

  app.use((_req, res) => {
    res.status(404).json({ error: 'InvalidEndpoint', description: 'Not found' });
  });
  app.use(errorHandler(zendeskError));
  return app;
}
