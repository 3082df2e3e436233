import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import { matchTemplate } from '../adapters/http';
import {
  coalesceKeyOf,
  isStoreganiseActivationEvent,
  isStoreganiseRentalEvent,
  normaliseZendeskEventType,
  storeganiseUserEventFields,
  ZENDESK_MERGED_EVENT,
  zendeskEventFields,
  zendeskEventSyncFields,
} from '../domain/events';
import type { AccountSettingsSource } from '../lib/account-settings';
import { enqueueCustomerEvent } from '../lib/enqueue';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import {
  storeganiseCustomer,
  storeganiseEventWorkflowId,
  zendeskCustomer,
  zendeskEventWorkflowId,
  type AccountRef,
  type CustomerEvent,
  type StoreganiseRentalEvent,
  type StoreganiseUserEvent,
  type ZendeskUserEvent,
} from '../workflows/definitions';
import type { syncStoreganiseRentalEvent } from '../workflows/events';
import { syncAccountKey, syncStateKey } from '../workflows/search-attributes';
import { StoreganiseUnreachable, type AccountRegistry } from './account-registry';
import { HttpError, requireJson } from './http-errors';
import type { Metrics } from './metrics';
import {
  describeIssues,
  StoreganiseRentalDataSchema,
  StoreganiseUserDataSchema,
  StoreganiseWebhookSchema,
  ZendeskEnvelopeSchema,
  ZendeskMergedEventSchema,
  zendeskChangeOf,
} from './schemas';
import { verifyStoreganiseSignature, verifyZendeskSignature } from './signatures';

export const MAX_BODY_BYTES = 1024 * 1024;

type Answer = { status: 'accepted' | 'duplicate'; workflowId: string } | { status: 'ignored'; reason: string } | { status: 'registered' };

function parseBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(400, 'malformed_json', `Body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The webhook endpoints: verify, validate, start one workflow per event, answer. */
export function ingressRouter(deps: { client: Client; config: Config; registry: AccountRegistry; settings: AccountSettingsSource; logger: Logger; metrics: Metrics }): Router {
  const { client, config, registry, settings, logger, metrics } = deps;
  const router = express.Router();
  const rawJson = express.raw({ type: () => true, limit: MAX_BODY_BYTES });

  /**
   * Queues a customer's event on that customer's lock, which runs it as a workflow whose id derives
   * from the event id (Temporal rejects a redelivered duplicate), after the customer's earlier events.
   */
  async function enqueue(account: AccountRef, customer: string, event: CustomerEvent): Promise<Answer> {
    await enqueueCustomerEvent(client, config.temporal.taskQueue, account, customer, event);
    return { status: 'accepted', workflowId: event.workflowId };
  }

  /** Starts a rental event's workflow directly: its customers are only known once it reads the rental. */
  async function startRentalWorkflow(workflowId: string, account: AccountRef, event: StoreganiseRentalEvent): Promise<Answer> {
    try {
      await client.workflow.start<typeof syncStoreganiseRentalEvent>('syncStoreganiseRentalEvent', {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [event],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: syncAccountKey, value: account.subdomain },
          { key: syncStateKey, value: 'running' },
        ],
      });
      return { status: 'accepted', workflowId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { status: 'duplicate', workflowId };
      throw err;
    }
  }

  const answer = (res: Response, source: 'storeganise' | 'zendesk', result: Answer): void => {
    metrics.webhooks.inc({ source, outcome: result.status });
    res.status(200).json(result);
  };

  router.post('/addon/storeganise', requireJson, rawJson, async (req: Request, res: Response) => {
    const raw = req.body as Buffer;
    if (!verifyStoreganiseSignature(raw, req.get('sg-signature'), config.storeganise.webhookSecret)) {
      throw new HttpError(401, 'bad_signature', req.get('sg-signature') ? 'sg-signature does not match the body' : 'sg-signature header is missing');
    }
    const parsed = StoreganiseWebhookSchema.safeParse(parseBody(raw));
    if (!parsed.success) {
      const { path, message } = describeIssues(parsed.error);
      throw new HttpError(400, 'invalid_body', `${path}: ${message}`, path);
    }
    const body = parsed.data;
    // The add-on key is only ever sent to hosts the template allows.
    const subdomain = matchTemplate(config.storeganise.urlTemplate, body.apiUrl);
    if (subdomain === null) throw new HttpError(400, 'unexpected_api_url', `apiUrl does not match STOREGANISE_URL_TEMPLATE (${config.storeganise.urlTemplate})`, 'apiUrl');
    const account: AccountRef = { subdomain, apiUrl: body.apiUrl.replace(/\/+$/, ''), addonId: body.addonId };

    const isUserEvent = body.type === 'user.created' || body.type === 'user.updated' || body.type === 'user.disabled';
    const relevant = isUserEvent || isStoreganiseRentalEvent(body.type) || isStoreganiseActivationEvent(body.type);
    if (!relevant) return answer(res, 'storeganise', { status: 'ignored', reason: `event type ${body.type} is not used by the sync` });

    let registration;
    try {
      registration = await registry.register(account);
    } catch (err) {
      if (err instanceof StoreganiseUnreachable) throw new HttpError(503, 'storeganise_unreachable', 'Storeganise could not be reached to verify the add-on; retry later');
      throw err;
    }
    if (registration.status === 'unknown-addon') throw new HttpError(404, 'unknown_account', registration.reason);
    if (isStoreganiseActivationEvent(body.type)) return answer(res, 'storeganise', { status: 'registered' });
    if (registration.view?.connection === 'disconnected') return answer(res, 'storeganise', { status: 'ignored', reason: 'the account disconnected Zendesk' });

    const workflowId = storeganiseEventWorkflowId(subdomain, body.id);
    if (isUserEvent) {
      const data = StoreganiseUserDataSchema.safeParse(body.data);
      if (!data.success) {
        const { path, message } = describeIssues(data.error, ['data']);
        throw new HttpError(400, 'invalid_body', `${path}: ${message}`, path);
      }
      const changedKeys = data.data.changedKeys ?? null;
      const fields = storeganiseUserEventFields(body.type, changedKeys);
      if (fields === null) return answer(res, 'storeganise', { status: 'ignored', reason: 'none of the changed keys is synced to Zendesk' });
      const event: StoreganiseUserEvent = { account, eventId: body.id, type: body.type, userId: data.data.userId, changedKeys };
      const queued: CustomerEvent = { kind: 'storeganise-user', workflowId, coalesceKey: coalesceKeyOf('to-zendesk', fields), event };
      return answer(res, 'storeganise', await enqueue(account, storeganiseCustomer(event.userId), queued));
    }
    const data = StoreganiseRentalDataSchema.safeParse(body.data);
    if (!data.success) {
      const { path, message } = describeIssues(data.error, ['data']);
      throw new HttpError(400, 'invalid_body', `${path}: ${message}`, path);
    }
    const event: StoreganiseRentalEvent = {
      account,
      eventId: body.id,
      type: body.type,
      unitRentalId: data.data.unitRentalId ?? null,
      jobId: data.data.jobId ?? null,
      rentalIds: [data.data.oldRentalId, data.data.newRentalId].filter((id): id is string => id !== undefined),
    };
    return answer(res, 'storeganise', await startRentalWorkflow(workflowId, account, event));
  });

  router.post('/addon/zendesk/:subdomain', requireJson, rawJson, async (req: Request, res: Response) => {
    const subdomain = String(req.params.subdomain).toLowerCase();
    const view = await registry.resolve(subdomain);
    if (view === null) throw new HttpError(404, 'unknown_account', `No Storeganise account ${subdomain} is served here`);
    const raw = req.body as Buffer;
    const account: AccountRef = { subdomain, apiUrl: view.apiUrl, addonId: view.addonId };

    const secretsOf = async (fresh: boolean): Promise<string[]> => {
      const current = fresh ? ((await registry.resolve(subdomain, { fresh: true })) ?? view) : view;
      const configured = await settings.get(account);
      return [
        ...(current.sealedWebhookSecret ? [config.keyring.unseal(current.sealedWebhookSecret)] : []),
        ...(configured.ok && configured.settings.webhookSecret ? [configured.settings.webhookSecret] : []),
      ];
    };
    const signature = req.get('x-zendesk-webhook-signature');
    const timestamp = req.get('x-zendesk-webhook-signature-timestamp');
    let secrets = await secretsOf(false);
    let check = secrets.length === 0 ? 'unverifiable' : verifyZendeskSignature(raw, signature, timestamp, secrets);
    if (check === 'invalid' || check === 'unverifiable') {
      // The webhook may have just been registered by another process: look once more.
      secrets = await secretsOf(true);
      check = secrets.length === 0 ? 'unverifiable' : verifyZendeskSignature(raw, signature, timestamp, secrets);
    }
    if (check === 'unverifiable') logger.warn('accepting an unverified Zendesk event: the account has no webhook secret yet', { account: subdomain });
    else if (check !== 'valid') {
      const message = { missing: 'x-zendesk-webhook-signature and -timestamp headers are required', invalid: 'signature does not match', stale: 'signature timestamp is outside the 5-minute window' }[check];
      throw new HttpError(401, 'bad_signature', message ?? 'bad signature');
    }

    const parsed = ZendeskEnvelopeSchema.safeParse(parseBody(raw));
    if (!parsed.success) {
      const { path, message } = describeIssues(parsed.error);
      throw new HttpError(400, 'invalid_body', `${path}: ${message}`, path);
    }
    const envelope = parsed.data;
    const type = normaliseZendeskEventType(envelope.type);
    if (zendeskEventFields(type) === null) return answer(res, 'zendesk', { status: 'ignored', reason: `event type ${envelope.type} is not used by the sync` });
    if (view.connection === 'disconnected') return answer(res, 'zendesk', { status: 'ignored', reason: 'the account disconnected Zendesk' });

    let mergedIntoUserId: string | null = null;
    if (type === ZENDESK_MERGED_EVENT) {
      const merged = ZendeskMergedEventSchema.safeParse(envelope.event);
      if (!merged.success) {
        const { path, message } = describeIssues(merged.error, ['event']);
        throw new HttpError(400, 'invalid_body', `${path}: ${message}`, path);
      }
      mergedIntoUserId = merged.data.user.id;
    }
    const event: ZendeskUserEvent = {
      account,
      eventId: envelope.id,
      type,
      zendeskUserId: envelope.detail.id,
      externalId: envelope.detail.external_id,
      mergedIntoUserId,
      change: zendeskChangeOf(type, envelope.event),
    };
    if (type === ZENDESK_MERGED_EVENT && event.externalId === null) return answer(res, 'zendesk', { status: 'ignored', reason: 'the merged-away user was not linked' });
    const workflowId = zendeskEventWorkflowId(subdomain, envelope.id);
    const direction = type === ZENDESK_MERGED_EVENT ? 'to-zendesk' : 'to-storeganise';
    const fields = zendeskEventSyncFields(type, event.externalId) ?? [];
    const queued: CustomerEvent = { kind: 'zendesk-user', workflowId, coalesceKey: coalesceKeyOf(direction, fields), event };
    return answer(res, 'zendesk', await enqueue(account, zendeskCustomer(event), queued));
  });

  return router;
}
