import { createHash } from 'node:crypto';
import { ZendeskClient, ZendeskGrantRefused, ZendeskUnauthorized } from '../adapters/zendesk';
import { zendeskWebhookSubscriptions } from '../domain/events';
import { authorizeTask, invalidSettingsTask, type AdminTask } from '../domain/tasks';
import { sealGrant } from '../client/grants';
import type { AccountRef, AccountSettingsView, SealedGrant } from '../workflows/definitions';
import { ensureUserCustomFields } from './custom-fields';
import type { SyncServices } from './services';

export function zendeskWebhookEndpoint(services: SyncServices, subdomain: string): string {
  return `${services.config.publicUrl}/addon/zendesk/${encodeURIComponent(subdomain)}`;
}

/** Activities of the per-account workflow: activation, tasks, the grant's life cycle, the webhook. */
export function accountActivities(services: SyncServices) {
  const settingsOrThrow = async (account: AccountRef) => {
    const result = await services.settings(account);
    if (!result.ok) throw new Error(`settings are invalid: ${result.problems.join('; ')}`);
    return result.settings;
  };

  return {
    /** Creates the three read-only user fields the sync keeps its pointers and extra contacts in. */
    async ensureUserCustomFields(account: AccountRef): Promise<string[]> {
      return ensureUserCustomFields(services.storeganise(account));
    },

    /** The add-on settings as read now; the manual webhook secret leaves this process sealed only. */
    async checkSettings(account: AccountRef): Promise<AccountSettingsView> {
      const result = await services.settings(account, { fresh: true });
      if (!result.ok) return result;
      const { webhookSecret, ...settings } = result.settings;
      const { keyring } = services.config;
      const sealed =
        webhookSecret === null
          ? { sealedWebhookSecret: null, webhookSecretFingerprint: null }
          : {
              sealedWebhookSecret: keyring.seal(webhookSecret),
              webhookSecretFingerprint: keyring.fingerprint(webhookSecret),
            };
      return { ok: true, settings: { ...settings, ...sealed } };
    },

    async createAdminTask(account: AccountRef, task: AdminTask): Promise<string> {
      return services.storeganise(account).createTask(task);
    },

    async raiseAuthorizeTask(account: AccountRef): Promise<string> {
      const link = `${services.config.publicUrl}/oauth/zendesk/authorize?account=${encodeURIComponent(account.subdomain)}`;
      return services.storeganise(account).createTask(authorizeTask(account.addonId, link));
    },

    /** Closes an admin task the account raised and no longer needs; what Storeganise had left of it is answered, for the log. */
    async completeAdminTask(account: AccountRef, jobId: string): Promise<'completed' | 'already-closed' | 'gone'> {
      return services.storeganise(account).completeTask(jobId);
    },

    async raiseInvalidSettingsTask(account: AccountRef, problems: string[]): Promise<string> {
      return services.storeganise(account).createTask(invalidSettingsTask(account.addonId, problems));
    },

    /** Uses the refresh token once; the rotated pair is returned sealed and must be stored before any further refresh. */
    async refreshZendeskGrant(
      account: AccountRef,
      sealedRefreshToken: string,
    ): Promise<{ status: 'ok'; grant: SealedGrant } | { status: 'refused'; reason: string }> {
      const settings = await settingsOrThrow(account);
      const issuedAt = Date.now();
      try {
        const tokens = await services
          .oauth(settings.zendeskInstance)
          .refresh(services.config.keyring.unseal(sealedRefreshToken), issuedAt);
        return { status: 'ok', grant: sealGrant(services.config.keyring, tokens, issuedAt) };
      } catch (err) {
        if (err instanceof ZendeskGrantRefused) return { status: 'refused', reason: err.message };
        throw err;
      }
    },

    /** Registers (or reuses) the Zendesk webhook pointing at this service and returns its sealed signing secret. */
    async registerZendeskWebhook(
      account: AccountRef,
      sealedAccessToken: string,
    ): Promise<{ webhookId: string; sealedSecret: string }> {
      const settings = await settingsOrThrow(account);
      const zendesk = new ZendeskClient(
        services.zendeskBaseUrl(settings.zendeskInstance),
        services.config.keyring.unseal(sealedAccessToken),
        services.rateGate,
      );
      const endpoint = zendeskWebhookEndpoint(services, account.subdomain);
      const subscriptions = zendeskWebhookSubscriptions();
      let webhook = (await zendesk.listWebhooks()).find((w) => w.endpoint === endpoint);
      if (webhook) {
        const current = new Set(webhook.subscriptions ?? []);
        if (webhook.status !== 'active' || subscriptions.some((s) => !current.has(s)))
          await zendesk.updateWebhookSubscriptions(webhook, subscriptions);
      } else {
        webhook = await zendesk.createWebhook({
          name: `Storeganise sync (${account.subdomain})`,
          endpoint,
          subscriptions,
          description:
            'Sends user changes to the Storeganise sync service. Managed by the service: removed when the account disconnects.',
        });
      }
      const secret = await zendesk.webhookSigningSecret(webhook.id);
      return { webhookId: webhook.id, sealedSecret: services.config.keyring.seal(secret) };
    },

    /** Removes the webhook and revokes the token; both are best effort once Zendesk says they are gone. */
    async disconnectZendesk(
      account: AccountRef,
      sealedAccessToken: string | null,
      webhookId: string | null,
    ): Promise<void> {
      if (sealedAccessToken === null) return;
      const settings = await settingsOrThrow(account);
      const zendesk = new ZendeskClient(
        services.zendeskBaseUrl(settings.zendeskInstance),
        services.config.keyring.unseal(sealedAccessToken),
        services.rateGate,
      );
      try {
        if (webhookId !== null) await zendesk.deleteWebhook(webhookId);
        await zendesk.revokeCurrentToken();
      } catch (err) {
        // Access already revoked in Zendesk: there is nothing left this token could remove.
        if (!(err instanceof ZendeskUnauthorized)) throw err;
      }
    },
  };
}

/** A short, stable key for de-duplicating tasks without keeping personal data in clear. */
export function taskKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22);
}
