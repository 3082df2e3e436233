import type { Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AccountDirectory } from '../client/accounts';
import { cancelFullSync, fullSyncView, startFullSync } from '../client/full-sync';
import type { Config } from '../lib/config';
import { HttpError } from './http-errors';
import { operatorOnly } from './operator-auth';
import { SubdomainSchema } from './schemas';

/** Like every operator endpoint: the path says everything; a query string or a body is refused, not ignored. */
function takesNoInput(req: Request, _res: Response, next: NextFunction): void {
  const query = Object.keys(req.query);
  if (query.length > 0)
    throw new HttpError(
      400,
      'unexpected_query',
      `This endpoint takes no query parameters; got ${query.slice(0, 5).join(', ')}`,
      'query',
    );
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
    throw new HttpError(
      400,
      'unexpected_body',
      'This endpoint takes no body: everything it needs is in the path',
      'body',
    );
  }
  next();
}

/**
 * The account's full sync, for the engineer (and the CLI, `npm run full-sync`): `POST` starts one
 * or attaches to the one running (the initial import included) and answers its id, `GET` its
 * progress `{ state, done, total, linked, created, repaired, conflicts, errors, … }` (the last one's
 * once it ended), `DELETE` cancels it.
 */
export function fullSyncRouter(deps: { client: Client; config: Config; directory: AccountDirectory }): Router {
  const { client, config, directory } = deps;
  const router = express.Router();
  const guard = operatorOnly(config.operatorToken);
  const path = '/operator/accounts/:subdomain/full-sync';

  const accountOf = async (req: Request) => {
    const name = SubdomainSchema.safeParse(String(req.params.subdomain).toLowerCase());
    if (!name.success)
      throw new HttpError(
        400,
        'invalid_subdomain',
        `subdomain ${name.error.issues[0]?.message ?? 'is invalid'}`,
        'subdomain',
      );
    const entry = await directory.get(name.data, { fresh: true });
    if (entry === null) throw new HttpError(404, 'unknown_account', `No account ${name.data}`);
    return entry;
  };

  router.post(path, guard, takesNoInput, async (req: Request, res: Response) => {
    const entry = await accountOf(req);
    if (entry.connection === 'disconnected')
      throw new HttpError(
        409,
        'disconnected',
        `Account ${entry.subdomain} disconnected Zendesk: authorize it again first`,
      );
    const started = await startFullSync(client, config.temporal.taskQueue, {
      subdomain: entry.subdomain,
      apiUrl: entry.apiUrl,
      addonId: entry.addonId,
    });
    const view = await fullSyncView(client, entry.subdomain);
    res
      .status(started.attached ? 200 : 202)
      .json({ ...started, account: entry.subdomain, progress: view?.progress ?? null });
  });

  router.get(path, guard, takesNoInput, async (req: Request, res: Response) => {
    const entry = await accountOf(req);
    const view = await fullSyncView(client, entry.subdomain);
    if (view === null) throw new HttpError(404, 'no_full_sync', `Account ${entry.subdomain} has had no full sync`);
    res.json({ ...view.progress, workflowId: view.workflowId, runId: view.runId, running: view.running });
  });

  router.delete(path, guard, takesNoInput, async (req: Request, res: Response) => {
    const entry = await accountOf(req);
    const cancelled = await cancelFullSync(client, entry.subdomain);
    if (cancelled === null)
      throw new HttpError(404, 'no_full_sync_running', `No full sync of ${entry.subdomain} is running`);
    res.status(202).json({ status: 'cancelling', account: entry.subdomain, ...cancelled });
  });

  return router;
}
