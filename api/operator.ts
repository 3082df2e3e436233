import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import { StoreganiseUnavailable } from '../adapters/storeganise';
import type { AccountDirectory } from '../client/accounts';
import { queueCustomerEvent } from '../client/customers';
import { SYNC_FIELDS } from '../domain/records';
import type { AccountSettingsSource } from '../lib/account-settings';
import type { Config } from '../lib/config';
import { accountQuery, accountWorkflowId, disconnectUpdate, recheckSettingsSignal, storeganiseCustomer, storeganiseEventWorkflowId, type CustomerEvent } from '../workflows/definitions';
import { HttpError } from './http-errors';
import { operatorOnly } from './operator-auth';
import { StoreganiseId, SubdomainSchema } from './schemas';

/** What the engineer running the service can do over HTTP, with the operator token. */
export function operatorRouter(deps: { client: Client; config: Config; directory: AccountDirectory; settings: AccountSettingsSource }): Router {
  const { client, config, directory, settings } = deps;
  const router = express.Router();
  const guard = operatorOnly(config.operatorToken);

  const known = async (req: Request) => {
    const name = SubdomainSchema.safeParse(String(req.params.subdomain).toLowerCase());
    if (!name.success) throw new HttpError(400, 'invalid_subdomain', `subdomain ${name.error.issues[0]?.message ?? 'is invalid'}`, 'subdomain');
    const entry = await directory.get(name.data, { fresh: true });
    if (entry === null) throw new HttpError(404, 'unknown_account', `No account ${name.data}`);
    return entry;
  };

  router.get('/operator/accounts/:subdomain', guard, async (req: Request, res: Response) => {
    const entry = await known(req);
    const view = await client.workflow.getHandle(accountWorkflowId(entry.subdomain)).query(accountQuery);
    const { sealedWebhookSecret: _secret, usedStateNonces: _nonces, ...visible } = view;
    res.json({ ...visible, hasWebhookSecret: view.sealedWebhookSecret !== null });
  });

  /** Removes the self-registered webhook, revokes the grant, and stops syncing the account. */
  router.post('/operator/accounts/:subdomain/disconnect', guard, async (req: Request, res: Response) => {
    const { subdomain } = await known(req);
    await client.workflow.getHandle(accountWorkflowId(subdomain)).executeUpdate(disconnectUpdate);
    directory.invalidate(subdomain);
    res.json({ status: 'disconnected', account: subdomain });
  });

  /**
   * Re-drives one customer: queues a run comparing every field on the customer's entity workflow,
   * after its other events (e.g. after a lost webhook or a fixed Sync error).
   */
  router.post('/operator/accounts/:subdomain/customers/:userId/resync', guard, async (req: Request, res: Response) => {
    const entry = await known(req);
    const id = StoreganiseId.safeParse(String(req.params.userId));
    if (!id.success) throw new HttpError(400, 'invalid_user_id', `userId ${id.error.issues[0]?.message ?? 'is invalid'}`, 'userId');
    const account = { subdomain: entry.subdomain, apiUrl: entry.apiUrl, addonId: entry.addonId };
    let customer;
    try {
      customer = await settings.storeganise(account).getUser(id.data);
    } catch (err) {
      if (err instanceof StoreganiseUnavailable) throw new HttpError(503, 'storeganise_unavailable', 'Storeganise could not be reached to check the customer; retry');
      throw err;
    }
    if (customer === null) throw new HttpError(404, 'unknown_customer', `No Storeganise user ${id.data} in account ${entry.subdomain}`, 'userId');
    const eventId = `resync-${randomUUID()}`;
    const workflowId = storeganiseEventWorkflowId(entry.subdomain, eventId);
    const event: CustomerEvent = {
      eventId,
      workflowId,
      source: 'operator',
      type: 'resync',
      at: null,
      edits: [],
      fields: [...SYNC_FIELDS],
      contactsChanged: true,
      zendeskUserId: null,
      linkOnly: false,
      mayCreate: true,
    };
    await queueCustomerEvent(client, { taskQueue: config.temporal.taskQueue, settleMs: config.conflictSettleMs }, account, storeganiseCustomer(id.data), event);
    res.status(202).json({ status: 'queued', account: entry.subdomain, workflowId });
  });

  /** Re-reads the add-on settings now instead of at the next periodic check. */
  router.post('/operator/accounts/:subdomain/recheck-settings', guard, async (req: Request, res: Response) => {
    const { subdomain } = await known(req);
    await client.workflow.getHandle(accountWorkflowId(subdomain)).signal(recheckSettingsSignal);
    res.status(202).json({ status: 'recheck requested', account: subdomain });
  });

  return router;
}
