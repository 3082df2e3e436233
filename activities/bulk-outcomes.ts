import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../lib/logger';
import { customerStatusQuery, type SyncRunResult } from '../workflows/definitions';
import type { syncCustomer } from '../workflows/sync-customer';
import { tallyRun, type RunTally } from './bulk-plan';

/** A run a bulk job queued on a customer's entity and whose outcome it waits for. */
export interface PendingRun {
  sgId: string;
  eventId: string;
  /** The run's workflow id when the event leads its run. */
  workflowId: string;
  /** The customer's entity workflow, which records what became of the event otherwise. */
  entityWorkflowId: string;
  /** Zendesk calls reserved for the run until its outcome is known. */
  calls: number;
  queuedAt: number;
}

/** How long a watcher waits between looks while the event's run has not started. */
const FIRST_LOOK_MS = 150;
const MAX_LOOK_MS = 2_000;
/**
 * The entity is asked only once its event has had this long to start a run of its own: a query
 * is a workflow task on the workers (a replay when the entity is not cached), and almost every
 * event leads its run within a second.
 */
const ASK_ENTITY_AFTER_MS = 3_000;
/** Watchers nobody asked about for this long are dropped (their job moved on, or to another worker). */
const FORGOTTEN_MS = 30 * 60_000;

type RunLookup = { kind: 'done'; result: SyncRunResult | null } | { kind: 'not-started' };

/**
 * Follows the runs bulk jobs queued, once per event in this process, so a job's steps (each a
 * short activity) find out what became of each: the run the event led (its result), or the run of
 * a later event it was folded into (the entity's record of it). Waiting costs nothing of any
 * budget: a run's result is a long poll on Temporal, the entity is asked only while the run has
 * not started after a while.
 */
export class RunWatcher {
  private readonly watched = new Map<string, { tally: RunTally | null; askedAt: number }>();

  constructor(
    private readonly client: Client,
    private readonly logger: Logger,
  ) {}

  /** Starts following a run (once per event id). */
  watch(run: PendingRun): void {
    const known = this.watched.get(run.eventId);
    if (known) {
      known.askedAt = Date.now();
      return;
    }
    const entry: { tally: RunTally | null; askedAt: number } = { tally: null, askedAt: Date.now() };
    this.watched.set(run.eventId, entry);
    void this.follow(run).then((tally) => {
      entry.tally = tally;
    });
  }

  /** The runs among `pending` whose outcome is known, with it; they are forgotten here. */
  settled(pending: readonly PendingRun[]): Array<{ run: PendingRun; tally: RunTally }> {
    const now = Date.now();
    const done: Array<{ run: PendingRun; tally: RunTally }> = [];
    for (const run of pending) {
      const entry = this.watched.get(run.eventId);
      if (entry === undefined) {
        this.watch(run);
        continue;
      }
      entry.askedAt = now;
      if (entry.tally === null) continue;
      done.push({ run, tally: entry.tally });
      this.watched.delete(run.eventId);
    }
    for (const [eventId, entry] of this.watched) if (now - entry.askedAt > FORGOTTEN_MS) this.watched.delete(eventId);
    return done;
  }

  private async follow(run: PendingRun): Promise<RunTally> {
    let wait = FIRST_LOOK_MS;
    await sleep(wait);
    for (;;) {
      try {
        const led = await this.runOf(run.workflowId);
        if (led.kind === 'done') return tallyRun(led.result, true);
        if (Date.now() - run.queuedAt >= ASK_ENTITY_AFTER_MS) {
          const recorded = await this.recordedOutcome(run);
          if (recorded !== null) return recorded;
        }
      } catch (err) {
        // Temporal unreachable for a moment: look again later; the run goes on regardless.
        this.logger.debug('could not look at a queued run yet', {
          eventId: run.eventId,
          reason: err instanceof Error ? err.message : String(err),
        });
      }
      if (!this.watched.has(run.eventId)) return 'unchanged';
      await sleep(wait);
      wait = Math.min(MAX_LOOK_MS, wait * 2);
    }
  }

  /** The run's result once it has finished (a long poll while it runs); `not-started` when there is no such run. */
  private async runOf(workflowId: string): Promise<RunLookup> {
    try {
      return { kind: 'done', result: await this.client.workflow.getHandle<typeof syncCustomer>(workflowId).result() };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { kind: 'not-started' };
      // Failed, terminated, timed out: the entity records it as failed; so does the job.
      if (err instanceof WorkflowFailedError) return { kind: 'done', result: null };
      throw err;
    }
  }

  /** What the entity recorded for an event that did not lead a run: folded into another run, a duplicate, … */
  private async recordedOutcome(run: PendingRun): Promise<RunTally | null> {
    let status;
    try {
      status = await this.client.workflow.getHandle(run.entityWorkflowId).query(customerStatusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    const record = status.outcomes.find((o) => o.eventId === run.eventId);
    if (record === undefined) return null;
    if (record.outcome === 'failed') return 'errors';
    if (record.outcome === 'coalesced' && record.by !== null) {
      const lead = await this.runOf(record.by);
      // A person's event led the run: what it wrote is theirs, never a repair.
      return lead.kind === 'done' ? tallyRun(lead.result, false) : 'unchanged';
    }
    if (record.by === null && record.outcome !== 'echo' && record.outcome !== 'duplicate') {
      const led = await this.runOf(run.workflowId);
      if (led.kind === 'done') return tallyRun(led.result, true);
    }
    return 'unchanged';
  }
}
