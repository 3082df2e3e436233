import { StoreganiseClient } from '../adapters/storeganise';
import { parseAccountSettings, type SettingsResult } from '../domain/settings';
import type { AccountRef } from '../workflows/definitions';

const TTL_MS = 10_000;

/** The operators' settings, read from each account's add-on object and cached briefly. */
export class AccountSettingsSource {
  private readonly cache = new Map<string, { result: SettingsResult; at: number }>();
  private readonly inflight = new Map<string, Promise<SettingsResult>>();

  constructor(private readonly addonApiKey: string) {}

  storeganise(account: AccountRef): StoreganiseClient {
    return new StoreganiseClient(account.apiUrl, account.addonId, this.addonApiKey);
  }

  async get(account: AccountRef, options: { fresh?: boolean } = {}): Promise<SettingsResult> {
    const cached = this.cache.get(account.subdomain);
    if (!options.fresh && cached && Date.now() - cached.at < TTL_MS) return cached.result;
    const pending = this.inflight.get(account.subdomain);
    if (pending && !options.fresh) return pending;
    const request = this.read(account).finally(() => this.inflight.delete(account.subdomain));
    this.inflight.set(account.subdomain, request);
    return request;
  }

  private async read(account: AccountRef): Promise<SettingsResult> {
    const customFields = await this.storeganise(account).getAddonSettings();
    const result: SettingsResult =
      customFields === null
        ? { ok: false, problems: [`the add-on ${account.addonId} was not found in Storeganise`] }
        : parseAccountSettings(customFields);
    this.cache.set(account.subdomain, { result, at: Date.now() });
    return result;
  }
}
