import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import { fillTemplate, matchTemplate } from '../adapters/http';
import { StoreganiseUnauthorized, StoreganiseUnavailable } from '../adapters/storeganise';
import { registerAccount, type AccountDirectory } from '../client/accounts';
import { queueCustomerEvent } from '../client/customers';
import {
  isStoreganiseActivationEvent,
  isStoreganiseRentalEvent,
  isStoreganiseUserEvent,
  normaliseZendeskEventType,
  storeganiseUserEventEffect,
  ZENDESK_MERGED_EVENT,
  zendeskEventEffect,
} from '../domain/events';
import type { AccountSettingsSource } from '../client/account-settings';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type {
  AccountDirectoryEntry,
  AccountRef,
  CustomerEvent,
  StoreganiseRentalEvent,
} from '../workflows/definitions';
import {
  storeganiseCustomer,
  storeganiseEventWorkflowId,
  zendeskCustomer,
  zendeskEventWorkflowId,
} from '../workflows/definitions';
import { syncStoreganiseRentalEvent } from '../workflows/events';
import { syncAccountKey, syncStateKey } from '../workflows/search-attributes';
import { HttpError, requireJson, sendError } from './http-errors';
import type { Metrics } from './metrics';
import { WEBHOOK_BODY_LIMIT_BYTES } from './request-guards';
import {
  describeIssues,
  StoreganiseId,
  StoreganiseRentalDataSchema,
  StoreganiseUserDataSchema,
  StoreganiseWebhookSchema,
  SubdomainSchema,
  ZendeskEnvelopeSchema,
  zendeskEventBodyOf,
} from './schemas';
import { verifyStoreganiseSignature, verifyZendeskSignature } from './signatures';

/** Both senders retry a 503 whose Retry-After is under a minute. */
const RETRY_AFTER_SECONDS = 5;
/** How long recording an event may take before the answer is a 503: well inside Zendesk's ~10 s. */
const RECORD_DEADLINE_MS = 3_000;
/** An event's own timestamp is trusted within these bounds; outside them the arrival time stands in. */
const MAX_EVENT_AGE_MS = 7 * 24 * 60 * 60_000;
const MAX_EVENT_AHEAD_MS = 5 * 60_000;

type Answer =
  | { status: 'accepted' | 'duplicate'; workflowId: string }
  | { status: 'ignored'; reason: string }
  | { status: 'registered' };

/** Temporal (or Storeganise, for a first registration) could not record the event: the sender retries. */
class NotRecorded extends Error {}

function parseBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(
      400,
      'malformed_json',
      `Body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function invalid(error: Parameters<typeof describeIssues>[0], prefix: string[] = []): HttpError {
  const { path, message } = describeIssues(error, prefix);
  return new HttpError(400, 'invalid_body', `${path}: ${message}`, path);
}

/** When the change was made: the event's own time when it is plausible, else when it arrived. */
const changeTime = (stated: number | null | undefined, receivedAt: number): number =>
  stated !== null &&
  stated !== undefined &&
  stated <= receivedAt + MAX_EVENT_AHEAD_MS &&
  stated >= receivedAt - MAX_EVENT_AGE_MS
    ? stated
    : receivedAt;

/**
 * The webhook endpoints: verify, validate, queue the event durably on its customer's entity
 * workflow, answer. Nothing here waits for a worker or calls Storeganise for a known account: the
 * account and its secrets come from the account directory (the account workflow's memo).
 */
export function ingressRouter(deps: {
  client: Client;
  config: Config;
  directory: AccountDirectory;
  settings: AccountSettingsSource;
  logger: Logger;
  metrics: Metrics;
}): Router {
  const { client, config, directory, settings, logger, metrics } = deps;
  const router = express.Router();
  const rawJson = express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES, inflate: false });
  const taskQueue = config.temporal.taskQueue;

  /** Runs what makes the event durable; a failure there is not the sender's: 503, and it retries. */
  async function durably<T>(what: string, record: () => Promise<T>): Promise<T> {
    try {
      return await client.connection.withDeadline(Date.now() + RECORD_DEADLINE_MS, record);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError || err instanceof HttpError) throw err;
      logger.warn('could not record a webhook; the sender will retry', {
        what,
        error: err instanceof Error ? err.name : 'unknown',
      });
      throw new NotRecorded(what);
    }
  }

  async function queue(account: AccountRef, customer: string, event: CustomerEvent): Promise<Answer> {
    await durably('queue the event', () =>
      queueCustomerEvent(client, { taskQueue, settleMs: config.conflictSettleMs }, account, customer, event),
    );
    return { status: 'accepted', workflowId: event.workflowId };
  }

  /** A rental event's own workflow: its customers are only known once it reads the rental. */
  async function startRentalWorkflow(
    workflowId: string,
    account: AccountRef,
    event: StoreganiseRentalEvent,
  ): Promise<Answer> {
    try {
      await durably('start the rental workflow', () =>
        client.workflow.start(syncStoreganiseRentalEvent, {
          workflowId,
          taskQueue,
          args: [event],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [
            { key: syncAccountKey, value: account.subdomain },
            { key: syncStateKey, value: 'running' },
          ],
        }),
      );
      return { status: 'accepted', workflowId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { status: 'duplicate', workflowId };
      throw err;
    }
  }

  /**
   * The account a signed Storeganise event belongs to. A known account's add-on id is bound to it:
   * another id is refused unless Storeganise confirms it is that account's add-on (a reinstall).
   * An unknown account is registered once Storeganise confirms the add-on exists for our key.
   */
  async function storeganiseAccount(
    account: AccountRef,
  ): Promise<{ entry: AccountDirectoryEntry | null; registered: boolean }> {
    const entry = await durably('read the account directory', () => directory.get(account.subdomain));
    if (entry !== null && entry.addonId === account.addonId) return { entry, registered: false };
    let addonExists: boolean;
    try {
      addonExists = (await settings.storeganise(account).getAddonSettings()) !== null;
    } catch (err) {
      if (err instanceof StoreganiseUnauthorized) addonExists = false;
      else if (err instanceof StoreganiseUnavailable) throw new NotRecorded('verify the add-on with Storeganise');
      else throw err;
    }
    if (!addonExists && entry !== null)
      throw new HttpError(
        403,
        'addon_mismatch',
        `addonId is not the add-on of account ${account.subdomain}`,
        'addonId',
      );
    if (!addonExists)
      throw new HttpError(
        404,
        'unknown_account',
        `add-on ${account.addonId} is not installed in account ${account.subdomain}`,
        'addonId',
      );
    await durably('register the account', () => registerAccount(client, taskQueue, account));
    directory.invalidate(account.subdomain);
    return { entry, registered: true };
  }

  const answer = (res: Response, source: 'storeganise' | 'zendesk', result: Answer): void => {
    metrics.webhooks.inc({ source, outcome: result.status });
    res.status(200).json(result);
  };

  const handle =
    (source: 'storeganise' | 'zendesk', work: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response) => {
      try {
        await work(req, res);
      } catch (err) {
        if (!(err instanceof NotRecorded)) throw err;
        metrics.webhooks.inc({ source, outcome: 'not-recorded' });
        res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
        sendError(
          res,
          new HttpError(
            503,
            'not_recorded',
            `The event could not be recorded (${err.message}); retry in ${RETRY_AFTER_SECONDS} s`,
          ),
        );
      }
    };

  router.post(
    '/addon/storeganise',
    requireJson,
    rawJson,
    handle('storeganise', async (req, res) => {
      const receivedAt = Date.now();
      const raw = req.body as Buffer;
      if (!verifyStoreganiseSignature(raw, req.get('sg-signature'), config.storeganise.webhookSecret)) {
        throw new HttpError(
          401,
          'bad_signature',
          req.get('sg-signature') ? 'sg-signature does not match the body' : 'sg-signature header is missing',
        );
      }
      const parsed = StoreganiseWebhookSchema.safeParse(parseBody(raw));
      if (!parsed.success) throw invalid(parsed.error);
      const body = parsed.data;
      // The add-on key is only ever sent to the URL the template gives for the account.
      const subdomain = matchTemplate(config.storeganise.urlTemplate, body.apiUrl);
      if (subdomain === null)
        throw new HttpError(
          400,
          'unexpected_api_url',
          `apiUrl does not match STOREGANISE_URL_TEMPLATE (${config.storeganise.urlTemplate})`,
          'apiUrl',
        );
      const account: AccountRef = {
        subdomain,
        apiUrl: fillTemplate(config.storeganise.urlTemplate, subdomain),
        addonId: body.addonId,
      };

      const userEvent = isStoreganiseUserEvent(body.type);
      if (!userEvent && !isStoreganiseRentalEvent(body.type) && !isStoreganiseActivationEvent(body.type)) {
        return answer(res, 'storeganise', {
          status: 'ignored',
          reason: `event type ${body.type} is not used by the sync`,
        });
      }
      // The data is checked before anything is registered or started.
      const user = userEvent ? StoreganiseUserDataSchema.safeParse(body.data) : null;
      if (user && !user.success) throw invalid(user.error, ['data']);
      const rental =
        !userEvent && isStoreganiseRentalEvent(body.type) ? StoreganiseRentalDataSchema.safeParse(body.data) : null;
      if (rental && !rental.success) throw invalid(rental.error, ['data']);

      const { entry, registered } = await storeganiseAccount(account);
      if (isStoreganiseActivationEvent(body.type))
        return answer(
          res,
          'storeganise',
          registered ? { status: 'registered' } : { status: 'ignored', reason: 'the account is already activated' },
        );
      if (entry?.connection === 'disconnected')
        return answer(res, 'storeganise', { status: 'ignored', reason: 'the account disconnected Zendesk' });

      const workflowId = storeganiseEventWorkflowId(subdomain, body.id);
      if (user?.success) {
        const effect = storeganiseUserEventEffect(body.type, user.data.changedKeys ?? null);
        if (effect === null)
          return answer(res, 'storeganise', {
            status: 'ignored',
            reason: 'none of the changed keys is synced to Zendesk',
          });
        const event: CustomerEvent = {
          eventId: body.id,
          workflowId,
          source: 'storeganise',
          type: body.type,
          at: changeTime(body.created, receivedAt),
          ...effect,
          zendeskUserId: null,
          linkOnly: false,
          mayCreate: true,
        };
        return answer(res, 'storeganise', await queue(account, storeganiseCustomer(user.data.userId), event));
      }
      if (!rental?.success)
        return answer(res, 'storeganise', {
          status: 'ignored',
          reason: `event type ${body.type} is not used by the sync`,
        });
      const event: StoreganiseRentalEvent = {
        account,
        eventId: body.id,
        type: body.type,
        unitRentalId: rental.data.unitRentalId ?? null,
        jobId: rental.data.jobId ?? null,
        rentalIds: [rental.data.oldRentalId, rental.data.newRentalId].filter((id): id is string => id !== undefined),
      };
      return answer(res, 'storeganise', await startRentalWorkflow(workflowId, account, event));
    }),
  );

  /** The secrets a Zendesk event of the account may be signed with: the self-registered webhook's and the operator's. */
  const secretsOf = (entry: AccountDirectoryEntry): string[] => {
    const sealed = [entry.sealedWebhookSecret, entry.settings?.ok ? entry.settings.settings.sealedWebhookSecret : null];
    return sealed.filter((s): s is string => s !== null).map((s) => config.keyring.unseal(s));
  };

  router.post(
    '/addon/zendesk/:subdomain',
    requireJson,
    rawJson,
    handle('zendesk', async (req, res) => {
      const receivedAt = Date.now();
      const name = SubdomainSchema.safeParse(String(req.params.subdomain).toLowerCase());
      if (!name.success)
        throw new HttpError(
          404,
          'unknown_account',
          `No Storeganise account is served here under that name: ${name.error.issues[0]?.message ?? ''}`,
        );
      const subdomain = name.data;
      // Unauthenticated so far: only what the directory already holds, refreshed at most once a second in all.
      const known = async (): Promise<AccountDirectoryEntry | null> => {
        if (directory.peek(subdomain) === undefined)
          await durably('read the account directory', () => directory.refreshAll());
        return directory.peek(subdomain) ?? null;
      };
      let entry = await known();
      if (entry === null)
        throw new HttpError(404, 'unknown_account', `No Storeganise account ${subdomain} is served here`);

      const raw = req.body as Buffer;
      const signature = req.get('x-zendesk-webhook-signature');
      const timestamp = req.get('x-zendesk-webhook-signature-timestamp');
      const check = (e: AccountDirectoryEntry) => {
        const secrets = secretsOf(e);
        return secrets.length === 0 ? 'unverifiable' : verifyZendeskSignature(raw, signature, timestamp, secrets);
      };
      let verdict = check(entry);
      if (verdict === 'invalid' || verdict === 'unverifiable') {
        // The webhook may have been registered (or its secret rotated) moments ago: look once more.
        await durably('read the account directory', () => directory.refreshAll());
        entry = directory.peek(subdomain) ?? entry;
        verdict = check(entry);
      }
      if (verdict === 'unverifiable')
        logger.warn('accepting an unverified Zendesk event: the account has no webhook secret yet', {
          account: subdomain,
        });
      else if (verdict !== 'valid') {
        const message = {
          missing: 'x-zendesk-webhook-signature and -timestamp headers are required',
          invalid: 'signature does not match',
          stale: 'signature timestamp is outside the 5-minute window',
        }[verdict];
        throw new HttpError(401, 'bad_signature', message ?? 'bad signature');
      }

      const parsed = ZendeskEnvelopeSchema.safeParse(parseBody(raw));
      if (!parsed.success) throw invalid(parsed.error);
      const envelope = parsed.data;
      const type = normaliseZendeskEventType(envelope.type);
      const effect = zendeskEventEffect(type, zendeskEventBodyOf(type, envelope.event), envelope.detail.email);
      if (effect === null)
        return answer(res, 'zendesk', {
          status: 'ignored',
          reason: `event type ${envelope.type} is not used by the sync`,
        });
      if (entry.connection === 'disconnected')
        return answer(res, 'zendesk', { status: 'ignored', reason: 'the account disconnected Zendesk' });

      // An external id an agent typed that cannot be a Storeganise id links to nobody.
      const externalId =
        envelope.detail.external_id !== null && StoreganiseId.safeParse(envelope.detail.external_id).success
          ? envelope.detail.external_id
          : null;
      const merged = type === ZENDESK_MERGED_EVENT;
      if (merged && externalId === null)
        return answer(res, 'zendesk', { status: 'ignored', reason: 'the merged-away user was not linked' });
      const account: AccountRef = { subdomain, apiUrl: entry.apiUrl, addonId: entry.addonId };
      const event: CustomerEvent = {
        eventId: envelope.id,
        workflowId: zendeskEventWorkflowId(subdomain, envelope.id),
        source: 'zendesk',
        type,
        at: changeTime(envelope.time, receivedAt),
        ...effect,
        // A merged-away user's events say nothing about the user it was merged into.
        zendeskUserId: merged ? null : envelope.detail.id,
        // First contact: a change made while the user was not linked is not a customer's edit.
        linkOnly: externalId === null,
        mayCreate: false,
      };
      const first = externalId === null ? { ...event, edits: [] } : event;
      return answer(
        res,
        'zendesk',
        await queue(account, zendeskCustomer({ externalId, zendeskUserId: envelope.detail.id }), first),
      );
    }),
  );

  return router;
}
