import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import { coalesceKeyOf } from '../domain/events';
import { SYNC_FIELDS } from '../domain/records';
import type { Config } from '../lib/config';
import { enqueueCustomerEvent } from '../lib/enqueue';
import {
  accountWorkflowId,
  disconnectUpdate,
  recheckSettingsSignal,
  storeganiseCustomer,
  storeganiseEventWorkflowId,
  type StoreganiseUserEvent,
} from '../workflows/definitions';
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

  /**
   * Re-drives one customer: queues a full Storeganise → Zendesk sync on the customer's lock, after
   * its other events, as an event of its own (e.g. after a lost webhook or a fixed Sync error).
   */
  router.post('/operator/accounts/:subdomain/customers/:userId/resync', guard, async (req: Request, res: Response) => {
    const subdomain = await known(req);
    const view = await registry.resolve(subdomain);
    if (view === null) throw new HttpError(404, 'unknown_account', `No account ${subdomain}`);
    const userId = String(req.params.userId);
    const eventId = `resync-${randomUUID()}`;
    const account = { subdomain, apiUrl: view.apiUrl, addonId: view.addonId };
    const event: StoreganiseUserEvent = { account, eventId, type: 'user.updated', userId, changedKeys: null };
    const workflowId = storeganiseEventWorkflowId(subdomain, eventId);
    await enqueueCustomerEvent(client, config.temporal.taskQueue, account, storeganiseCustomer(userId), {
      kind: 'storeganise-user',
      workflowId,
      coalesceKey: coalesceKeyOf('to-zendesk', SYNC_FIELDS),
      event,
    });
    res.status(202).json({ status: 'queued', account: subdomain, workflowId });
  });

  /** Re-reads the add-on settings now instead of at the next periodic check. */
  router.post('/operator/accounts/:subdomain/recheck-settings', guard, async (req: Request, res: Response) => {
    const subdomain = await known(req);
    await client.workflow.getHandle(accountWorkflowId(subdomain)).signal(recheckSettingsSignal);
    res.status(202).json({ status: 'recheck requested', account: subdomain });
  });

  return router;
}
