import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  patched,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AdminTask, TaskRequest } from '../../domain/tasks';
import {
  authorizeSignal,
  FailureType,
  NON_RETRYABLE_TYPES,
  settingsFixedSignal,
  type AccountRef,
} from '../definitions';
import { syncStateKey, type SyncState } from '../search-attributes';
import {
  HAND_OVER_PATCH,
  type LegacyActivities,
  type LegacyCustomerEvent,
  type LockContext,
  type SyncResult,
} from './definitions';
import type { OwnWrites } from './echo';
import type { SyncBase } from './plan';

/** Thrown at the first new step of an execution of this version: its event goes to the customer's entity instead. */
class HandOver extends Error {}

/** What a sync produced: the run's result and the base both sides now agree on, if known. */
export interface SyncOutcome {
  result: SyncResult;
  base?: SyncBase;
}

// Local activities: an event's reads and writes run inside one workflow task, without a round
// trip through the server per step. Outages (5xx, network) retry with backoff for as long as they
// last; a Zendesk 429 retries after exactly its Retry-After (the activity sets the failure's next
// retry delay); what a person must fix, and a revoked grant, are not retried but handled below.
export const acts = proxyLocalActivities<LegacyActivities>({
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

function failureOf(err: unknown, type: string): ApplicationFailure | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === type ? cause : null;
}

/** The message of a failure a person must fix, or null for anything else. */
export function rejectionReason(err: unknown): string | null {
  return failureOf(err, FailureType.rejected)?.message ?? null;
}

/**
 * What every event workflow shares: the pause until Zendesk is authorized, the pause until the
 * settings validate, what the run wrote (so the customer's lock recognises its echo), and the
 * notes that tell the run's story in the Web UI.
 */
export class EventRun {
  readonly notes: string[] = [];
  zendeskWrites = 0;
  storeganiseWrites = 0;
  private readonly wrote: NonNullable<SyncResult['wrote']> = { zendesk: null, storeganiseKeys: null };
  private authorizations = 0;
  private settingsFixes = 0;

  constructor(readonly account: AccountRef) {
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

  result(outcome: SyncResult['outcome'], note?: string): SyncResult {
    if (note !== undefined) this.note(note);
    return { outcome, zendeskWrites: this.zendeskWrites, storeganiseWrites: this.storeganiseWrites, notes: this.notes };
  }

  /** Remembers a Zendesk write, for the lock to recognise the webhook it triggers. */
  wroteZendesk(write: NonNullable<OwnWrites['zendesk']>): void {
    const previous = this.wrote.zendesk;
    this.wrote.zendesk =
      previous && previous.userId === write.userId
        ? { ...previous, ...write, created: previous.created || write.created }
        : write;
  }

  wroteStoreganise(changedKeys: string[]): void {
    this.wrote.storeganiseKeys = [...new Set([...(this.wrote.storeganiseKeys ?? []), ...changedKeys])];
  }

  private async pause(state: SyncState, resumed: () => boolean): Promise<void> {
    upsertSearchAttributes([{ key: syncStateKey, value: state }]);
    await condition(resumed);
    upsertSearchAttributes([{ key: syncStateKey, value: 'running' }]);
  }

  /**
   * Runs a run's read step. While the account's settings are invalid the run waits (the account
   * raises one task) and then reads again; a 401 waits for authorization, as every Zendesk step.
   */
  async read<T extends { kind: string }>(
    step: () => Promise<T | { kind: 'invalid-settings'; problems: string[] }>,
  ): Promise<T> {
    for (;;) {
      const read = await this.zendesk(step);
      if (read.kind !== 'invalid-settings') return read as T;
      const { problems } = read as { problems: string[] };
      const seen = this.settingsFixes;
      if ((await acts.waitForValidSettings(this.account, workflowInfo().workflowId, problems)) === 'retry') continue;
      this.note('settings invalid: waiting until they are fixed');
      await this.pause('awaiting-settings', () => this.settingsFixes > seen);
    }
  }

  /** Runs one step of the event, unless this execution is past its recorded history: then it hands over. */
  async step<T>(step: () => Promise<T>): Promise<T> {
    if (patched(HAND_OVER_PATCH)) throw new HandOver();
    return step();
  }

  /** Runs a Zendesk step; on 401 the step waits for a new authorization and is then retried as is. */
  async zendesk<T>(step: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await this.step(step);
      } catch (err) {
        const unauthorized = failureOf(err, FailureType.zendeskUnauthorized);
        if (unauthorized === null) throw err;
        const [detail] = unauthorized.details ?? [];
        const tokenVersion =
          typeof detail === 'object' && detail !== null && 'tokenVersion' in detail ? Number(detail.tokenVersion) : 0;
        const seen = this.authorizations;
        if ((await acts.reportZendeskUnauthorized(this.account, tokenVersion, workflowInfo().workflowId)) === 'retry')
          continue;
        this.note('Zendesk access missing or revoked: waiting for authorization');
        await this.pause('awaiting-authorization', () => this.authorizations > seen);
      }
    }
  }

  /** Raises an admin task once per distinct problem across all runs of the account. */
  async raiseTask(dedupeParts: string[], request: AdminTask | TaskRequest): Promise<void> {
    const task = 'task' in request ? request.task : request;
    const outcome = await this.step(() => acts.raiseAdminTaskOnce(this.account, dedupeParts, task));
    this.note(`admin task "${task.title}" ${outcome === 'raised' ? 'raised' : 'already open'}`);
  }

  /**
   * Runs the event's work with what the customer's lock handed over. A superseded event (a later
   * one redoes the same work) and the echo of the previous run's own write have nothing to do.
   */
  async run(
    lock: LockContext | undefined,
    work: (base: SyncBase) => Promise<SyncOutcome>,
    handOver: { customer: string; event: LegacyCustomerEvent },
  ): Promise<SyncResult> {
    if (lock?.superseded) return this.result('superseded', 'a later event for this customer redoes the same work');
    if (lock?.echoOf) return this.result('echo', `the webhook of ${lock.echoOf}'s own write: nothing to read or write`);
    if (!lock) this.note('started outside the customer lock: not serialised with other events, no base');
    try {
      const outcome = await work(lock?.base ?? {});
      return { ...outcome.result, ...(outcome.base ? { base: outcome.base } : {}), wrote: this.wrote };
    } catch (err) {
      if (!(err instanceof HandOver)) throw err;
      await acts.handOverLegacyEvents(this.account, handOver.customer, [handOver.event]);
      return this.result('handed-over', "handed over to the customer's entity workflow");
    }
  }
}
