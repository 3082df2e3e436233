import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { fillTemplate } from '../adapters/http';
import { AccountDirectory } from '../client/accounts';
import type { StoreganiseClient } from '../adapters/storeganise';
import { RateGate, ZendeskClient, ZendeskOAuth, ZendeskUnauthorized, type ZendeskGate } from '../adapters/zendesk';
import type { SettingsResult } from '../domain/settings';
import { AccountSettingsSource } from '../client/account-settings';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import {
  accountWorkflowId,
  obtainAccessTokenUpdate,
  ZENDESK_RATE_LIMIT_MEMO_KEY,
  zendeskRateLimitedSignal,
  type AccountRef,
  type ZendeskRateLimit,
} from '../workflows/definitions';

/**
 * How old this process's view of an account's shared 429 gate may be when a Zendesk call goes
 * out. Another worker's 429 reaches the account workflow's memo in tens of milliseconds, so a view
 * this fresh stops every worker well within the time a call already on its way takes to land.
 */
export const SHARED_GATE_MAX_AGE_MS = 100;

const isRateLimit = (value: unknown): value is ZendeskRateLimit =>
  typeof value === 'object' &&
  value !== null &&
  'instance' in value &&
  'until' in value &&
  typeof value.instance === 'string' &&
  typeof value.until === 'number';

/**
 * The Zendesk 429 gate shared by every worker through Temporal: a 429 is reported to the account
 * workflow, which publishes the block as its memo, and every call first consults that memo (read
 * at most SHARED_GATE_MAX_AGE_MS ago) besides this process's own `RateGate`. A failed read falls
 * back to what this process knows: the local gate and the failed activity's retry delay still hold.
 */
class SharedRateGate {
  private readonly views = new Map<string, { limit: ZendeskRateLimit | null; readAt: number }>();
  private readonly reads = new Map<string, Promise<ZendeskRateLimit | null>>();

  constructor(
    private readonly temporal: Client,
    readonly local: RateGate,
    private readonly logger: Logger,
  ) {}

  /** The gate a Zendesk client of this account uses: local and shared. */
  forAccount(account: AccountRef, instance: string): ZendeskGate {
    return {
      check: async (baseUrl) => {
        this.local.check(baseUrl);
        const limit = await this.limitOf(account.subdomain);
        if (limit === null || limit.instance !== instance) return;
        this.local.blockUntil(baseUrl, limit.until);
        this.local.check(baseUrl);
      },
      block: async (baseUrl, seconds) => {
        this.local.block(baseUrl, seconds);
        await this.report(account.subdomain, { instance, until: Date.now() + seconds * 1000 });
      },
    };
  }

  private limitOf(subdomain: string): Promise<ZendeskRateLimit | null> {
    const view = this.views.get(subdomain);
    if (view && Date.now() - view.readAt < SHARED_GATE_MAX_AGE_MS) return Promise.resolve(view.limit);
    const pending = this.reads.get(subdomain);
    if (pending) return pending;
    const read = this.read(subdomain, view?.limit ?? null).finally(() => this.reads.delete(subdomain));
    this.reads.set(subdomain, read);
    return read;
  }

  private async read(subdomain: string, known: ZendeskRateLimit | null): Promise<ZendeskRateLimit | null> {
    const readAt = Date.now();
    let limit: ZendeskRateLimit | null = null;
    try {
      const memo = (await this.temporal.workflow.getHandle(accountWorkflowId(subdomain)).describe()).memo?.[
        ZENDESK_RATE_LIMIT_MEMO_KEY
      ];
      limit = isRateLimit(memo) ? memo : null;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) {
        this.logger.warn('could not read the shared Zendesk rate gate; using what this process knows', {
          account: subdomain,
          reason: err instanceof Error ? err.message : String(err),
        });
        return known;
      }
    }
    this.views.set(subdomain, { limit, readAt });
    return limit;
  }

  private async report(subdomain: string, limit: ZendeskRateLimit): Promise<void> {
    const view = this.views.get(subdomain);
    if (!view || (view.limit?.until ?? 0) < limit.until)
      this.views.set(subdomain, { limit, readAt: view?.readAt ?? 0 });
    try {
      await this.temporal.workflow.getHandle(accountWorkflowId(subdomain)).signal(zendeskRateLimitedSignal, limit);
    } catch (err) {
      // The 429 still fails this call with its Retry-After, and this process still waits.
      this.logger.warn('could not share a Zendesk 429 with the other workers', {
        account: subdomain,
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }
}

/** The per-process collaborators of the activities: clients, caches, the rate gate. */
export class SyncServices {
  readonly rateGate = new RateGate();
  private readonly sharedGate: SharedRateGate;
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
    this.sharedGate = new SharedRateGate(temporal, this.rateGate, logger);
  }

  storeganise(account: AccountRef): StoreganiseClient {
    return this.settingsSource.storeganise(account);
  }

  zendeskBaseUrl(instance: string): string {
    return fillTemplate(this.config.zendesk.urlTemplate, instance);
  }

  oauth(instance: string): ZendeskOAuth {
    return new ZendeskOAuth(
      this.zendeskBaseUrl(instance),
      this.config.zendesk.clientId,
      this.config.zendesk.clientSecret,
    );
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
   * Every call of the client passes the 429 gate shared by all workers (SharedRateGate).
   */
  async withZendesk<T>(
    account: AccountRef,
    instance: string,
    work: (zendesk: ZendeskClient) => Promise<T>,
  ): Promise<T> {
    const { token, version } = await this.accessToken(account);
    try {
      return await work(
        new ZendeskClient(this.zendeskBaseUrl(instance), token, this.sharedGate.forAccount(account, instance)),
      );
    } catch (err) {
      if (err instanceof ZendeskUnauthorized) {
        if (this.tokens.get(account.subdomain)?.version === version) this.tokens.delete(account.subdomain);
        throw new ZendeskUnauthorized(err.message, version);
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
    const result = await this.temporal.workflow
      .getHandle(accountWorkflowId(account.subdomain))
      .executeUpdate(obtainAccessTokenUpdate);
    if (result.status === 'unauthorized')
      throw new ZendeskUnauthorized('Zendesk access is missing or was revoked', result.tokenVersion);
    const entry = {
      token: this.config.keyring.unseal(result.sealedAccessToken),
      version: result.tokenVersion,
      usableUntil: result.usableUntil,
    };
    this.tokens.set(account.subdomain, entry);
    return entry;
  }
}
