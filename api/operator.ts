import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { StoreganiseRejected, StoreganiseUnauthorized, StoreganiseUnavailable } from '../adapters/storeganise';
import type { AccountDirectory } from '../client/accounts';
import { queueCustomerEvent } from '../client/customers';
import { SYNC_FIELDS } from '../domain/records';
import type { AccountSettingsSource } from '../client/account-settings';
import type { Config } from '../lib/config';
import {
  accountQuery,
  accountWorkflowId,
  disconnectUpdate,
  recheckSettingsSignal,
  storeganiseCustomer,
  storeganiseEventWorkflowId,
  type CustomerEvent,
} from '../workflows/definitions';
import { HttpError } from './http-errors';
import { operatorOnly } from './operator-auth';
import { StoreganiseId, SubdomainSchema } from './schemas';

/**
 * Every operator endpoint takes its input from the path alone: a query string or a body is refused
 * rather than ignored, so a caller who thinks they passed an option learns that they did not.
 */
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

/** What the engineer running the service can do over HTTP, with the operator token. */
export function operatorRouter(deps: {
  client: Client;
  config: Config;
  directory: AccountDirectory;
  settings: AccountSettingsSource;
}): Router {
  const { client, config, directory, settings } = deps;
  const router = express.Router();
  const guard = operatorOnly(config.operatorToken);

  const subdomainOf = (req: Request): string => {
    const name = SubdomainSchema.safeParse(String(req.params.subdomain).toLowerCase());
    if (!name.success)
      throw new HttpError(
        400,
        'invalid_subdomain',
        `subdomain ${name.error.issues[0]?.message ?? 'is invalid'}`,
        'subdomain',
      );
    return name.data;
  };
  const known = async (subdomain: string) => {
    const entry = await directory.get(subdomain, { fresh: true });
    if (entry === null) throw new HttpError(404, 'unknown_account', `No account ${subdomain}`);
    return entry;
  };

  router.get('/operator/accounts/:subdomain', guard, takesNoInput, async (req: Request, res: Response) => {
    const entry = await known(subdomainOf(req));
    let view;
    try {
      view = await client.workflow.getHandle(accountWorkflowId(entry.subdomain)).query(accountQuery);
    } catch (err) {
      // A query is answered by a worker: none running is the operator's problem to see, not a 500.
      throw new HttpError(
        503,
        'account_unavailable',
        `The account's workflow did not answer (is a worker running?): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const { sealedWebhookSecret: _secret, usedStateNonces: _nonces, ...visible } = view;
    res.json({ ...visible, hasWebhookSecret: view.sealedWebhookSecret !== null });
  });

  /** Removes the self-registered webhook, revokes the grant, and stops syncing the account. */
  router.post('/operator/accounts/:subdomain/disconnect', guard, takesNoInput, async (req: Request, res: Response) => {
    const { subdomain } = await known(subdomainOf(req));
    await client.workflow.getHandle(accountWorkflowId(subdomain)).executeUpdate(disconnectUpdate);
    directory.invalidate(subdomain);
    res.json({ status: 'disconnected', account: subdomain });
  });

  /**
   * Re-drives one customer: queues a run comparing every field on the customer's entity workflow,
   * after its other events (e.g. after a lost webhook or a fixed Sync error).
   */
  router.post(
    '/operator/accounts/:subdomain/customers/:userId/resync',
    guard,
    takesNoInput,
    async (req: Request, res: Response) => {
      // Both path values are checked before anything is looked up, so a bad one is a 400 whatever the other.
      const subdomain = subdomainOf(req);
      const id = StoreganiseId.safeParse(String(req.params.userId));
      if (!id.success)
        throw new HttpError(400, 'invalid_user_id', `userId ${id.error.issues[0]?.message ?? 'is invalid'}`, 'userId');
      const entry = await known(subdomain);
      const account = { subdomain: entry.subdomain, apiUrl: entry.apiUrl, addonId: entry.addonId };
      const unknownCustomer = new HttpError(
        404,
        'unknown_customer',
        `No Storeganise user ${id.data} in account ${entry.subdomain}`,
        'userId',
      );
      // Nothing is queued until Storeganise confirms the customer: an id it does not know starts no entity workflow.
      let customer;
      try {
        customer = await settings.storeganise(account).getUser(id.data);
      } catch (err) {
        if (err instanceof StoreganiseUnavailable)
          throw new HttpError(
            503,
            'storeganise_unavailable',
            'Storeganise could not be reached to check the customer; retry',
          );
        if (err instanceof StoreganiseUnauthorized)
          throw new HttpError(
            502,
            'storeganise_refused',
            'Storeganise refused the add-on key while checking the customer; is the add-on still installed and enabled?',
          );
        // Storeganise refusing the id itself (e.g. 400) means the same as not knowing it.
        if (err instanceof StoreganiseRejected) throw unknownCustomer;
        throw err;
      }
      if (customer === null) throw unknownCustomer;
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
      await queueCustomerEvent(
        client,
        { taskQueue: config.temporal.taskQueue, settleMs: config.conflictSettleMs },
        account,
        storeganiseCustomer(id.data),
        event,
      );
      res.status(202).json({ status: 'queued', account: entry.subdomain, workflowId });
    },
  );

  /** Re-reads the add-on settings now instead of at the next periodic check. */
  router.post(
    '/operator/accounts/:subdomain/recheck-settings',
    guard,
    takesNoInput,
    async (req: Request, res: Response) => {
      const { subdomain } = await known(subdomainOf(req));
      await client.workflow.getHandle(accountWorkflowId(subdomain)).signal(recheckSettingsSignal);
      res.status(202).json({ status: 'recheck requested', account: subdomain });
    },
  );

  return router;
}
