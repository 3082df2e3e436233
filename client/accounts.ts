import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { z } from 'zod';
import { accountWorkflow } from '../workflows/account';
import {
  ACCOUNT_MEMO_KEY,
  accountWorkflowId,
  registerAccountSignal,
  type AccountDirectoryEntry,
  type AccountRef,
} from '../workflows/definitions';
import { syncAccountKey } from '../workflows/search-attributes';

const SettingsViewSchema = z.union([
  z.object({
    ok: z.literal(true),
    settings: z.object({
      zendeskInstance: z.string(),
      statusFieldKey: z.string().nullable(),
      nameFormat: z.enum(['first_last', 'last_first']),
      defaultCountryCode: z.string(),
      sealedWebhookSecret: z.string().nullable(),
      webhookSecretFingerprint: z.string().nullable(),
    }),
  }),
  z.object({ ok: z.literal(false), problems: z.array(z.string()) }),
]);

const EntrySchema = z.object({
  subdomain: z.string(),
  apiUrl: z.string(),
  addonId: z.string(),
  connection: z.enum(['awaiting-authorization', 'connected', 'disconnected']),
  sealedWebhookSecret: z.string().nullable(),
  webhookId: z.string().nullable(),
  settings: SettingsViewSchema.nullable(),
});

const TTL_MS = 5_000;
/** Refused requests may make the directory list the accounts again, but never more often than this. */
const REFRESH_EVERY_MS = 1_000;
const CACHED_MAX = 10_000;

function entryOf(memo: Record<string, unknown> | undefined): AccountDirectoryEntry | null {
  const parsed = EntrySchema.safeParse(memo?.[ACCOUNT_MEMO_KEY]);
  return parsed.success ? parsed.data : null;
}

/**
 * The accounts this installation serves, read from each account workflow's memo: no worker needs
 * to run and Storeganise is not called. `get` describes one account (for requests that proved who
 * they are); `peek` and `refreshAll` never cost more than one visibility list per second in all,
 * for requests that have not.
 */
export class AccountDirectory {
  private readonly entries = new Map<string, { entry: AccountDirectoryEntry | null; at: number }>();
  private refreshing: Promise<void> | null = null;
  private lastRefresh = 0;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** The account's entry, described afresh when the cached one is old; null when it is not served here. */
  async get(subdomain: string, options: { fresh?: boolean } = {}): Promise<AccountDirectoryEntry | null> {
    const cached = this.entries.get(subdomain);
    if (!options.fresh && cached && Date.now() - cached.at < TTL_MS) return cached.entry;
    let description: WorkflowExecutionDescription;
    try {
      description = await this.client.workflow.getHandle(accountWorkflowId(subdomain)).describe();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      return this.remember(subdomain, null);
    }
    if (description.status.name !== 'RUNNING') return this.remember(subdomain, null);
    const entry = entryOf(description.memo);
    // An account of the previous version publishes its entry at its next step: wake it.
    if (entry === null) await this.client.workflow.getHandle(accountWorkflowId(subdomain)).signal('recheckSettings');
    return this.remember(subdomain, entry);
  }

  /** What the directory already knows; undefined when it never heard of the subdomain. */
  peek(subdomain: string): AccountDirectoryEntry | null | undefined {
    return this.entries.get(subdomain)?.entry;
  }

  /**
   * Lists every account again, at most once a second: a caller within that second waits for the
   * next list. Concurrent callers share one list.
   */
  async refreshAll(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      const wait = this.lastRefresh + REFRESH_EVERY_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const seen = new Set<string>();
      const query = `WorkflowType = 'accountWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${this.taskQueue}'`;
      for await (const execution of this.client.workflow.list({ query })) {
        const entry = entryOf(execution.memo);
        if (entry === null) continue;
        seen.add(entry.subdomain);
        this.remember(entry.subdomain, entry);
      }
      for (const [subdomain, cached] of this.entries)
        if (!seen.has(subdomain) && cached.entry !== null && Date.now() - cached.at >= TTL_MS)
          this.entries.delete(subdomain);
    })().finally(() => {
      this.lastRefresh = Date.now();
      this.refreshing = null;
    });
    return this.refreshing;
  }

  invalidate(subdomain: string): void {
    this.entries.delete(subdomain);
  }

  private remember(subdomain: string, entry: AccountDirectoryEntry | null): AccountDirectoryEntry | null {
    this.entries.delete(subdomain);
    this.entries.set(subdomain, { entry, at: Date.now() });
    if (this.entries.size > CACHED_MAX) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return entry;
  }
}

/** Starts the account workflow of a newly seen account (or signals the running one), which activates it once. */
export async function registerAccount(client: Client, taskQueue: string, account: AccountRef): Promise<void> {
  await client.workflow.signalWithStart(accountWorkflow, {
    workflowId: accountWorkflowId(account.subdomain),
    taskQueue,
    args: [{ account }],
    signal: registerAccountSignal,
    signalArgs: [{ apiUrl: account.apiUrl, addonId: account.addonId }],
    typedSearchAttributes: [{ key: syncAccountKey, value: account.subdomain }],
  });
}
