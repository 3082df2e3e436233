import type { Client } from '@temporalio/client';
import { fillTemplate } from '../adapters/http';
import { AccountDirectory } from '../client/accounts';
import type { StoreganiseClient } from '../adapters/storeganise';
import { RateGate, ZendeskClient, ZendeskOAuth, ZendeskUnauthorized } from '../adapters/zendesk';
import type { SettingsResult } from '../domain/settings';
import { AccountSettingsSource } from '../lib/account-settings';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { accountWorkflowId, obtainAccessTokenUpdate, type AccountRef } from '../workflows/definitions';
import { ZendeskNotAuthorized } from './failures';

/** The per-process collaborators of the activities: clients, caches, the rate gate. */
export class SyncServices {
  readonly rateGate = new RateGate();
  private readonly settingsSource: AccountSettingsSource;
  private readonly tokens = new Map<string, { token: string; version: number; usableUntil: number | null }>();
  private readonly inflight = new Map<string, Promise<{ token: string; version: number }>>();
  private readonly directory: AccountDirectory;

  constructor(
    readonly config: Config,
    readonly temporal: Client,
    readonly logger: Logger,
  ) {
    this.settingsSource = new AccountSettingsSource(config.storeganise.addonApiKey);
    this.directory = new AccountDirectory(temporal, config.temporal.taskQueue);
  }

  storeganise(account: AccountRef): StoreganiseClient {
    return this.settingsSource.storeganise(account);
  }

  zendeskBaseUrl(instance: string): string {
    return fillTemplate(this.config.zendesk.urlTemplate, instance);
  }

  oauth(instance: string): ZendeskOAuth {
    return new ZendeskOAuth(this.zendeskBaseUrl(instance), this.config.zendesk.clientId, this.config.zendesk.clientSecret);
  }

  /**
   * The account's settings: as its account workflow last read them (its memo), so a run does not
   * call Storeganise for them; `fresh` reads the add-on now (what the account workflow does).
   */
  async settings(account: AccountRef, options: { fresh?: boolean } = {}): Promise<SettingsResult> {
    if (!options.fresh) {
      const view = (await this.directory.get(account.subdomain))?.settings;
      if (view && !view.ok) return view;
      if (view?.ok) {
        const { sealedWebhookSecret: _sealed, webhookSecretFingerprint: _fingerprint, ...settings } = view.settings;
        return { ok: true, settings: { ...settings, webhookSecret: null } };
      }
    }
    return this.settingsSource.get(account, options);
  }

  /**
   * Runs `work` with a Zendesk client holding a valid access token. Tokens come from the account
   * workflow (which refreshes them one at a time) and are cached in memory until shortly before expiry.
   */
  async withZendesk<T>(account: AccountRef, instance: string, work: (zendesk: ZendeskClient) => Promise<T>): Promise<T> {
    const { token, version } = await this.accessToken(account);
    try {
      return await work(new ZendeskClient(this.zendeskBaseUrl(instance), token, this.rateGate));
    } catch (err) {
      if (err instanceof ZendeskUnauthorized) {
        if (this.tokens.get(account.subdomain)?.version === version) this.tokens.delete(account.subdomain);
        throw new ZendeskNotAuthorized(version);
      }
      throw err;
    }
  }

  private accessToken(account: AccountRef): Promise<{ token: string; version: number }> {
    const cached = this.tokens.get(account.subdomain);
    if (cached && (cached.usableUntil === null || cached.usableUntil > Date.now())) return Promise.resolve(cached);
    const pending = this.inflight.get(account.subdomain);
    if (pending) return pending;
    const request = this.fetchAccessToken(account).finally(() => this.inflight.delete(account.subdomain));
    this.inflight.set(account.subdomain, request);
    return request;
  }

  private async fetchAccessToken(account: AccountRef): Promise<{ token: string; version: number }> {
    const result = await this.temporal.workflow.getHandle(accountWorkflowId(account.subdomain)).executeUpdate(obtainAccessTokenUpdate);
    if (result.status === 'unauthorized') throw new ZendeskNotAuthorized(result.tokenVersion);
    const entry = { token: this.config.keyring.unseal(result.sealedAccessToken), version: result.tokenVersion, usableUntil: result.usableUntil };
    this.tokens.set(account.subdomain, entry);
    return entry;
  }
}
