import { createHmac } from 'node:crypto';
import type { EnqueueOutcome, RetryRule, WebhookOutbox } from '../common/webhook-outbox';
import type { SandboxSgWebhookBody } from './records';
import { newObjectId, type Account, type EventPublisher } from './state';

/**
 * Our assumption (Storeganise documents no retry policy): a delivery answered with a 5xx or not
 * answered at all is retried up to three times, after 1 s, 2 s and 4 s; a 4xx is final.
 */
export const STOREGANISE_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000];

export function storeganiseRetryRule(delaysMs: readonly number[] = STOREGANISE_RETRY_DELAYS_MS): RetryRule {
  return ({ status }, attempt) => {
    const retryable = status === null || status >= 500;
    return retryable ? (delaysMs[attempt - 1] ?? null) : null;
  };
}

/** `sg-signature`: base64 HMAC-SHA256 of the exact body bytes, keyed with the signing secret. */
export const signWebhookBody = (secret: string, body: string): string =>
  createHmac('sha256', secret).update(body, 'utf8').digest('base64');

/** Records every event of an account and sends it to the add-on when the add-on listens. */
export class AddonWebhookPublisher implements EventPublisher {
  private seq = 0;

  constructor(
    private readonly outbox: WebhookOutbox,
    private readonly apiUrlOf: (subdomain: string) => string,
  ) {}

  publish(account: Account, type: string, data: Record<string, unknown>, created: string): void {
    // Storeganise documents `created` on its plain webhooks; the sandbox assumes add-on webhooks carry it too.
    const envelope: SandboxSgWebhookBody = {
      id: newObjectId(),
      created,
      type,
      data,
      apiUrl: this.apiUrlOf(account.subdomain),
      addonId: account.addonId,
    };
    // Paused and disabled add-ons receive no webhooks.
    const url = account.addonState === 'enabled' ? account.webhookUrl : null;
    const outcome = url === null ? null : this.send(account, url, envelope);
    const dropped = outcome === 'dropped';
    account.events.push({
      seq: ++this.seq,
      id: envelope.id,
      type,
      data,
      at: created,
      sent: outcome === 'queued',
      dropped,
    });
  }

  private send(account: Account, url: string, envelope: SandboxSgWebhookBody): EnqueueOutcome {
    const body = JSON.stringify(envelope);
    return this.outbox.enqueue({
      account: account.subdomain,
      url,
      eventType: envelope.type,
      eventId: envelope.id,
      headers: {
        'content-type': 'application/json',
        'sg-signature': signWebhookBody(account.webhookSecret, body),
        'user-agent': 'Storeganise-Sandbox-Webhooks/1.0',
      },
      body,
    });
  }
}
