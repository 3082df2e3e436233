import type { Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import type { Config } from '../lib/config';
import { accountWorkflowId, disconnectUpdate, recheckSettingsSignal } from '../workflows/definitions';
import type { AccountRegistry } from './account-registry';
import { HttpError } from './http-errors';
import { operatorOnly } from './operator-auth';

/** What the engineer running the service can do over HTTP, with the operator token. */
export function operatorRouter(deps: { client: Client; config: Config; registry: AccountRegistry }): Router {
  const { client, config, registry } = deps;
  const router = express.Router();
  const guard = operatorOnly(config.operatorToken);

  const known = async (req: Request): Promise<string> => {
    const subdomain = String(req.params.subdomain).toLowerCase();
    if ((await registry.resolve(subdomain, { fresh: true })) === null) throw new HttpError(404, 'unknown_account', `No account ${subdomain}`);
    return subdomain;
  };

  router.get('/operator/accounts/:subdomain', guard, async (req: Request, res: Response) => {
    const view = await registry.resolve(await known(req), { fresh: true });
    if (view === null) throw new HttpError(404, 'unknown_account', 'No such account');
    const { sealedWebhookSecret: _secret, usedStateNonces: _nonces, ...visible } = view;
    res.json({ ...visible, hasWebhookSecret: view.sealedWebhookSecret !== null });
  });

  /** Removes the self-registered webhook, revokes the grant, and stops syncing the account. */
  router.post('/operator/accounts/:subdomain/disconnect', guard, async (req: Request, res: Response) => {
    const subdomain = await known(req);
    await client.workflow.getHandle(accountWorkflowId(subdomain)).executeUpdate(disconnectUpdate);
    registry.invalidate(subdomain);
    res.json({ status: 'disconnected', account: subdomain });
  });

  /** Re-reads the add-on settings now instead of at the next periodic check. */
  router.post('/operator/accounts/:subdomain/recheck-settings', guard, async (req: Request, res: Response) => {
    const subdomain = await known(req);
    await client.workflow.getHandle(accountWorkflowId(subdomain)).signal(recheckSettingsSignal);
    res.status(202).json({ status: 'recheck requested', account: subdomain });
  });

  return router;
}
