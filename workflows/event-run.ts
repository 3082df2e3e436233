import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities';
import type { AdminTask } from '../adapters/storeganise';
import type { SyncBase } from '../domain/plan';
import type { AccountSettings } from '../domain/settings';
import {
  authorizeSignal,
  customerLockWorkflowId,
  FailureType,
  lockGrantedSignal,
  lockProbeSignal,
  NON_RETRYABLE_TYPES,
  releaseLockSignal,
  settingsFixedSignal,
  type AccountRef,
  type LockGrant,
  type SyncResult,
} from './definitions';
import { syncCustomerKey, syncStateKey, type SyncState } from './search-attributes';

/** What a sync under the customer lock produced: the run's result and the new base, if it changed. */
export interface SyncOutcome {
  result: SyncResult;
  base?: SyncBase;
}

// Outages (5xx, network) retry with backoff for as long as they last; a Zendesk 429 retries after
// exactly its Retry-After (the activity sets the failure's next retry delay); what a person must
// fix, and a revoked grant, are not retried but handled below.
export const acts = proxyActivities<SyncActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
});

function failureOf(err: unknown, type: string): ApplicationFailure | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === type ? cause : null;
}

/** The message of a failure a person must fix, or null for anything else. */
export function rejectionReason(err: unknown): string | null {
  return failureOf(err, FailureType.rejected)?.message ?? null;
}

/**
 * What every event workflow shares: the customer lock, the pause until Zendesk is authorized,
 * the pause until the settings validate, and the notes that tell the run's story in the Web UI.
 */
export class EventRun {
  readonly notes: string[] = [];
  zendeskWrites = 0;
  storeganiseWrites = 0;
  private authorizations = 0;
  private settingsFixes = 0;
  private grant: LockGrant | null = null;

  constructor(readonly account: AccountRef) {
    setHandler(authorizeSignal, () => {
      this.authorizations++;
    });
    setHandler(settingsFixedSignal, () => {
      this.settingsFixes++;
    });
    setHandler(lockGrantedSignal, (grant) => {
      this.grant = grant;
    });
    setHandler(lockProbeSignal, () => undefined);
  }

  private lockGrant(): LockGrant | null {
    return this.grant;
  }

  note(line: string): void {
    this.notes.push(line);
  }

  result(outcome: SyncResult['outcome'], note?: string): SyncResult {
    if (note !== undefined) this.note(note);
    return { outcome, zendeskWrites: this.zendeskWrites, storeganiseWrites: this.storeganiseWrites, notes: this.notes };
  }

  private async pause(state: SyncState, resumed: () => boolean): Promise<void> {
    upsertSearchAttributes([{ key: syncStateKey, value: state }]);
    await condition(resumed);
    upsertSearchAttributes([{ key: syncStateKey, value: 'running' }]);
  }

  /** The account's settings; while they are invalid the run waits (the account raises one task). */
  async settings(): Promise<AccountSettings> {
    for (;;) {
      const result = await acts.loadSettings(this.account);
      if (result.ok) return result.settings;
      const seen = this.settingsFixes;
      if ((await acts.waitForValidSettings(this.account, workflowInfo().workflowId, result.problems)) === 'retry') continue;
      this.note('settings invalid: waiting until they are fixed');
      await this.pause('awaiting-settings', () => this.settingsFixes > seen);
    }
  }

  /** Runs a Zendesk step; on 401 the step waits for a new authorization and is then retried as is. */
  async zendesk<T>(step: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await step();
      } catch (err) {
        const unauthorized = failureOf(err, FailureType.zendeskUnauthorized);
        if (unauthorized === null) throw err;
        const [detail] = unauthorized.details ?? [];
        const tokenVersion = typeof detail === 'object' && detail !== null && 'tokenVersion' in detail ? Number(detail.tokenVersion) : 0;
        const seen = this.authorizations;
        if ((await acts.reportZendeskUnauthorized(this.account, tokenVersion, workflowInfo().workflowId)) === 'retry') continue;
        this.note('Zendesk access missing or revoked: waiting for authorization');
        await this.pause('awaiting-authorization', () => this.authorizations > seen);
      }
    }
  }

  /** Raises an admin task once per distinct problem across all runs of the account. */
  async raiseTask(dedupeParts: string[], task: AdminTask): Promise<void> {
    const outcome = await acts.raiseAdminTaskOnce(this.account, dedupeParts, task);
    this.note(`admin task "${task.title}" ${outcome === 'raised' ? 'raised' : 'already open'}`);
  }

  /**
   * Holds the customer's lock for `work`: events of one customer never interleave. When a later
   * event queued for the same work, this one skips: that event re-reads everything anyway. The
   * work gets the customer's sync base and returns it updated, for the next holder.
   */
  async withCustomerLock(customer: string, coalesceKey: string, work: (base: SyncBase) => Promise<SyncOutcome>): Promise<SyncResult> {
    const { workflowId } = workflowInfo();
    upsertSearchAttributes([{ key: syncCustomerKey, value: customer }]);
    this.grant = null;
    await acts.requestCustomerLock(this.account, customer, { workflowId, coalesceKey });
    await condition(() => this.lockGrant() !== null);
    let base: SyncBase | undefined;
    try {
      const grant = this.lockGrant();
      if (grant === null || grant.superseded) return this.result('superseded', 'a later event for this customer redoes the same work');
      const outcome = await work(grant.base);
      base = outcome.base;
      return outcome.result;
    } finally {
      await CancellationScope.nonCancellable(async () => {
        try {
          await getExternalWorkflowHandle(customerLockWorkflowId(this.account.subdomain, customer)).signal(releaseLockSignal, {
            workflowId,
            ...(base ? { base } : {}),
          });
        } catch {
          // The lock already ended (it checks on its holders); nothing to release.
        }
      });
    }
  }
}
