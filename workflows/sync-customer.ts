import { upsertSearchAttributes } from '@temporalio/workflow';
import type { SyncRunInput, SyncRunResult } from './definitions';
import { syncOutcomeKey } from './search-attributes';
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
  const result = await run.step(() =>
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
  );
  const { tasks, kind: _done, ...outcome } = result;
  for (const request of tasks) await run.raiseTask(request);
  // The sync log reads outcomes from visibility: the run is findable by what became of it.
  upsertSearchAttributes([{ key: syncOutcomeKey, value: outcome.outcome }]);
  return { ...outcome, notes: [...result.notes, ...run.notes] };
}
