import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities';
import type { TaskRequest } from '../domain/tasks';
import { authorizeSignal, FailureType, NON_RETRYABLE_TYPES, settingsFixedSignal, type AccountRef } from './definitions';
import { syncStateKey, type SyncState } from './search-attributes';

// Local activities: a run's read-decide-write is one activity inside one workflow task, without a
// round trip through the server per step. Outages (5xx, network) retry with backoff for as long as
// they last; a Zendesk 429 retries after exactly its Retry-After (the activity sets the failure's
// next retry delay); a revoked grant is not retried but waits for authorization below.
export const acts = proxyLocalActivities<SyncActivities>({
  startToCloseTimeout: '1 minute',
  // Longer waits (a long Retry-After, a long outage) become durable timers instead of holding the worker.
  localRetryThreshold: '5 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/** The grant version a Zendesk 401 was answered to, or null when the failure is something else. */
export function unauthorizedTokenVersion(err: unknown): number | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FailureType.zendeskUnauthorized) return null;
  const [detail] = cause.details ?? [];
  return typeof detail === 'object' && detail !== null && 'tokenVersion' in detail ? Number(detail.tokenVersion) : 0;
}

/**
 * What a run needs around its activity: the pause until Zendesk is authorized, the pause until the
 * settings validate, admin tasks raised once per problem, and the notes that tell its story.
 */
export class EventRun {
  readonly notes: string[] = [];
  private authorizations = 0;
  private settingsFixes = 0;

  /** `onPause` tells a bulk workflow's own status what the run waits for (null: running again). */
  constructor(
    readonly account: AccountRef,
    private readonly onPause: (pause: Exclude<SyncState, 'running'> | null) => void = () => undefined,
  ) {
    setHandler(authorizeSignal, () => {
      this.authorizations++;
    });
    setHandler(settingsFixedSignal, () => {
      this.settingsFixes++;
    });
  }

  note(line: string): void {
    this.notes.push(line);
  }

  private async pause(state: Exclude<SyncState, 'running'>, resumed: () => boolean): Promise<void> {
    this.onPause(state);
    upsertSearchAttributes([{ key: syncStateKey, value: state }]);
    await condition(resumed);
    upsertSearchAttributes([{ key: syncStateKey, value: 'running' }]);
    this.onPause(null);
  }

  /**
   * Runs a step until it completes: while the account's settings are invalid it waits (the account
   * raises one task) and runs again; a 401 waits for a new authorization and runs again.
   */
  async step<T extends { kind: string }>(
    step: () => Promise<T | { kind: 'invalid-settings'; problems: string[] }>,
  ): Promise<T> {
    for (;;) {
      let result: T | { kind: 'invalid-settings'; problems: string[] };
      try {
        result = await step();
      } catch (err) {
        const tokenVersion = unauthorizedTokenVersion(err);
        if (tokenVersion === null) throw err;
        const seen = this.authorizations;
        if ((await acts.reportZendeskUnauthorized(this.account, tokenVersion, workflowInfo().workflowId)) === 'retry')
          continue;
        this.note('Zendesk access missing or revoked: waiting for authorization');
        await this.pause('awaiting-authorization', () => this.authorizations > seen);
        continue;
      }
      if (result.kind !== 'invalid-settings') return result as T;
      const { problems } = result as { problems: string[] };
      const seen = this.settingsFixes;
      if ((await acts.waitForValidSettings(this.account, workflowInfo().workflowId, problems)) === 'retry') continue;
      this.note('settings invalid: waiting until they are fixed');
      await this.pause('awaiting-settings', () => this.settingsFixes > seen);
    }
  }

  /** Raises an admin task once per distinct problem across all runs of the account. */
  async raiseTask(request: TaskRequest): Promise<void> {
    const outcome = await acts.raiseAdminTaskOnce(this.account, request.key, request.task);
    this.note(`admin task "${request.task.title}" ${outcome === 'raised' ? 'raised' : 'already open'}`);
  }
}
