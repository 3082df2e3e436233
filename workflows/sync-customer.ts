import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CopyReason, Side } from '../domain/convergence';
import { runFailedTask } from '../domain/tasks';
import { FailureType, type SyncRunInput, type SyncRunResult } from './definitions';
import {
  syncDirectionKey,
  syncFieldsKey,
  syncMarksKey,
  syncOutcomeKey,
  syncReasonKey,
  syncSourceKey,
  syncZendeskUserKey,
  type SyncDirection,
} from './search-attributes';
import { acts, EventRun } from './event-run';

/**
 * One run for a customer, named after the event that led it: reads both records, decides every
 * field of its events with the conflict model, writes only what differs, raises what a person must
 * decide. The customer's entity workflow hands it the facts and folds its result back in.
 */
export async function syncCustomer(input: SyncRunInput): Promise<SyncRunResult> {
  const run = new EventRun(input.account);
  if (input.covers.length > 0) run.note(`also serves the events ${input.covers.join(', ')}`);
  const { lead } = input;
  const result = await run
    .step(() =>
      acts.convergeCustomer({
        account: input.account,
        customer: input.customer,
        zendeskUserId: lead.zendeskUserId ?? input.facts.zendeskUserId,
        fields: input.fields,
        facts: input.facts,
        mayCreate: input.mayCreate,
        linkOnly: input.linkOnly,
        readContacts: input.readContacts ?? true,
        repair: input.repair ?? false,
        now: Date.now(),
        ...(input.settleMs === undefined ? {} : { settleMs: input.settleMs }),
      }),
    )
    .catch(async (err: unknown) => {
      const failure = stoppingFailure(err);
      if (failure !== null && patched(RUN_FAILED_TASK_PATCH)) {
        await run.raiseTask(
          runFailedTask({
            addonId: input.account.addonId,
            customer: input.customer,
            failure,
            workflowId: workflowInfo().workflowId,
          }),
        );
      }
      throw err;
    });
  const { tasks, kind: _done, ...outcome } = result;
  for (const request of tasks) await run.raiseTask(request);
  // The sync log reads outcomes from visibility: the run is findable by what became of it, and its
  // row (direction, fields, reason) needs no history read. One upsert, at the end, as before.
  const paused = run.notes.some(
    (line) => line.includes('waiting for authorization') || line.includes('waiting until they are fixed'),
  );
  const entry = logEntryOf(input, outcome, { taskTitles: tasks.map((t) => t.task.title), paused });
  const zendeskUser = outcome.zendeskUserId ?? lead.zendeskUserId ?? input.facts.zendeskUserId;
  upsertSearchAttributes([
    { key: syncOutcomeKey, value: outcome.outcome },
    { key: syncSourceKey, value: lead.source },
    { key: syncDirectionKey, value: entry.direction },
    { key: syncFieldsKey, value: input.fields.length > 0 ? [...input.fields] : ['none'] },
    { key: syncReasonKey, value: entry.reason },
    { key: syncMarksKey, value: entry.marks.length > 0 ? entry.marks : ['none'] },
    // The Zendesk user the run was about, found or not (a deleted one is still the customer's).
    ...(zendeskUser === null ? [] : [{ key: syncZendeskUserKey, value: zendeskUser }]),
  ]);
  return { ...outcome, notes: [...result.notes, ...run.notes] };
}

/** Marks the version that raises an admin task when a run stops for good; older histories failed silently. */
const RUN_FAILED_TASK_PATCH = 'run-failed-task';

const STOPPING_TYPES: readonly string[] = [
  FailureType.rejected,
  FailureType.unexpected,
  FailureType.storeganiseUnauthorized,
];

/** The failure type of an activity failure no retry will fix, or null for anything else (a cancellation, say). */
function stoppingFailure(err: unknown): string | null {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return null;
  const { type, nonRetryable } = err.cause;
  return type !== null &&
    type !== undefined &&
    STOPPING_TYPES.includes(type) &&
    (nonRetryable || type !== FailureType.unexpected)
    ? type
    : null;
}

const SIDE_NAME: Record<Side, string> = { storeganise: 'Storeganise', zendesk: 'Zendesk' };
const other = (side: Side): Side => (side === 'zendesk' ? 'storeganise' : 'zendesk');

const WHY_COPIED: Record<CopyReason, (winner: Side) => string> = {
  'only-change': (w) => `only ${SIDE_NAME[w]} changed it`,
  'later-edit': (w) =>
    `both sides changed it; ${SIDE_NAME[w]}'s edit was made later and wins over ${SIDE_NAME[other(w)]}'s`,
  'same-moment': (w) => `both sides changed it at the same moment; ${SIDE_NAME[w]} wins the tie`,
  settled: (w) =>
    `both sides changed it and no event told which was later in time; ${SIDE_NAME[w]}'s edit, reported last, wins`,
};

/**
 * The run's row in the sync log: which way it went and one line saying why, from field names,
 * sides and rules only (a value never appears: search attributes are stored in clear text).
 */
export function logEntryOf(
  input: Pick<SyncRunInput, 'lead' | 'covers' | 'fields'>,
  result: Pick<SyncRunResult, 'outcome' | 'written' | 'resolved' | 'deferred'>,
  extra: { taskTitles: string[]; paused: boolean },
): { direction: SyncDirection; reason: string; marks: string[] } {
  const toZendesk = result.written.zendesk.length > 0;
  const toStoreganise = result.written.storeganise.length > 0;
  const { source } = input.lead;
  const direction: SyncDirection =
    toZendesk && toStoreganise
      ? 'both-ways'
      : toZendesk
        ? 'storeganise-to-zendesk'
        : toStoreganise
          ? 'zendesk-to-storeganise'
          : source === 'storeganise' || source === 'rental'
            ? 'storeganise-to-zendesk'
            : source === 'zendesk'
              ? 'zendesk-to-storeganise'
              : 'none';

  const parts: string[] = [];
  const fields = input.fields.join(', ') || 'no field';
  switch (result.outcome) {
    case 'deleted':
      parts.push('the Zendesk user was deleted: nothing written, the Storeganise customer keeps its pointer');
      break;
    case 'gone':
      parts.push('the record no longer exists (or is inactive) on one side: nothing written');
      break;
    case 'unlinked':
      parts.push('no counterpart to link: nothing written');
      break;
    case 'deferred':
      parts.push(`waiting for an event still on its way before deciding ${result.deferred.join(', ') || fields}`);
      break;
    case 'unchanged':
      parts.push(`both sides already agree on ${fields}`);
      break;
    case 'conflict':
      parts.push('an address is held by another record: nothing overwritten');
      break;
    case 'rejected':
      parts.push('a write was refused: the reason is in the admin task');
      break;
    case 'repaired':
      parts.push('reconciliation found a difference no webhook explained');
      break;
    case 'linked':
      parts.push('linked the pair');
      break;
    default:
      break;
  }
  for (const decided of result.resolved) parts.push(`${decided.field}: ${WHY_COPIED[decided.reason](decided.winner)}`);
  if (toZendesk) parts.push(`wrote ${result.written.zendesk.join(', ')} to Zendesk`);
  if (toStoreganise) parts.push(`wrote ${result.written.storeganise.join(', ')} to Storeganise`);
  for (const title of extra.taskTitles) parts.push(`admin task "${title}"`);
  if (extra.paused) parts.push('resumed after waiting for authorization or valid settings');
  if (input.covers.length > 0)
    parts.push(`also served ${input.covers.length} other event${input.covers.length === 1 ? '' : 's'}`);
  const cause = `${source} ${input.lead.type.replace(/^zen:event-type:/, '')}`;
  const reason = `${cause}: ${parts.join('; ') || result.outcome}`;

  const marks: string[] = [];
  if (result.resolved.some((r) => r.reason !== 'only-change')) marks.push('conflict-resolved');
  if (extra.paused) marks.push('resumed');
  if (input.covers.length > 0) marks.push(`coalesced:${input.covers.length}`);
  // Text attributes are bounded (2 KB by default); a log line never needs that much.
  return { direction, reason: reason.length > 480 ? `${reason.slice(0, 479)}…` : reason, marks };
}
