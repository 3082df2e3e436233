import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { StoreganiseUnauthorized, StoreganiseUnavailable } from '../adapters/storeganise';
import type { AccountSettingsSource } from '../lib/account-settings';
import type { Config } from '../lib/config';
import type { accountWorkflow } from '../workflows/account';
import { accountQuery, accountWorkflowId, registerAccountSignal, type AccountRef, type AccountView } from '../workflows/definitions';
import { syncAccountKey } from '../workflows/search-attributes';

const VIEW_TTL_MS = 5_000;
const UNKNOWN_TTL_MS = 2_000;

export type Registration = { status: 'known' | 'registered'; view: AccountView | null } | { status: 'unknown-addon'; reason: string };

export class StoreganiseUnreachable extends Error {}

/**
 * Which Storeganise accounts this installation serves. The durable record is each account's
 * long-lived workflow; this is a short-lived cache in front of its query.
 */
export class AccountRegistry {
  private readonly views = new Map<string, { view: AccountView | null; at: number }>();

  constructor(
    private readonly client: Client,
    private readonly config: Config,
    private readonly settings: AccountSettingsSource,
  ) {}

  /** The account, or null when the subdomain is not served here. */
  async resolve(subdomain: string, options: { fresh?: boolean } = {}): Promise<AccountView | null> {
    const cached = this.views.get(subdomain);
    const ttl = cached?.view ? VIEW_TTL_MS : UNKNOWN_TTL_MS;
    if (!options.fresh && cached && Date.now() - cached.at < ttl) return cached.view;
    let view: AccountView | null;
    try {
      view = await this.client.workflow.getHandle(accountWorkflowId(subdomain)).query(accountQuery);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      view = null;
    }
    this.views.set(subdomain, { view, at: Date.now() });
    return view;
  }

  invalidate(subdomain: string): void {
    this.views.delete(subdomain);
  }

  /**
   * Learns an account from a signed Storeganise webhook. A new one is first checked against
   * Storeganise (the add-on must exist for our key), then its account workflow starts and
   * activates it exactly once, however many deliveries race here.
   */
  async register(account: AccountRef): Promise<Registration> {
    const known = await this.resolve(account.subdomain);
    if (known && known.apiUrl === account.apiUrl && known.addonId === account.addonId) return { status: 'known', view: known };
    if (!known) {
      try {
        if ((await this.settings.storeganise(account).getAddonSettings()) === null) {
          return { status: 'unknown-addon', reason: `add-on ${account.addonId} does not exist in account ${account.subdomain}` };
        }
      } catch (err) {
        if (err instanceof StoreganiseUnauthorized) return { status: 'unknown-addon', reason: `Storeganise refused the add-on key for ${account.subdomain}` };
        if (err instanceof StoreganiseUnavailable) throw new StoreganiseUnreachable(err.message);
        throw err;
      }
    }
    await this.client.workflow.signalWithStart<typeof accountWorkflow, [{ apiUrl: string; addonId: string }]>('accountWorkflow', {
      workflowId: accountWorkflowId(account.subdomain),
      taskQueue: this.config.temporal.taskQueue,
      args: [{ account }],
      signal: registerAccountSignal,
      signalArgs: [{ apiUrl: account.apiUrl, addonId: account.addonId }],
      typedSearchAttributes: [{ key: syncAccountKey, value: account.subdomain }],
    });
    this.invalidate(account.subdomain);
    return { status: 'registered', view: null };
  }
}
