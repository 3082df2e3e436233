import type { Client } from '@temporalio/client';
import { fillTemplate } from '../adapters/http';
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

  constructor(
    readonly config: Config,
    readonly temporal: Client,
    readonly logger: Logger,
  ) {
    this.settingsSource = new AccountSettingsSource(config.storeganise.addonApiKey);
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

  /** Settings from the add-on object, cached briefly so a burst of events reads them once. */
  settings(account: AccountRef, options: { fresh?: boolean } = {}): Promise<SettingsResult> {
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
