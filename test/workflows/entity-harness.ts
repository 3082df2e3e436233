import { sleep } from '@temporalio/workflow';
import type { SyncRunInput, SyncRunResult } from '../../workflows/definitions';

// The customer entity as it runs in production, with its run replaced by a stub whose behaviour
// the lead event's type chooses: the fast workflow tests (test/workflows-fast.test.ts) drive the
// entity's ordering, echo drop, coalescing, waits and continue-as-new with it.
export { customerWorkflow } from '../../workflows/customer';

/** Stands in for `syncCustomer`: agrees on the name it is told, or waits, or defers, or links the pair. */
export async function syncCustomer(input: SyncRunInput): Promise<SyncRunResult> {
  const [behaviour, value = 'Agreed'] = input.lead.type.split(':');
  if (behaviour === 'slow') await sleep('5 seconds');
  const deferred = behaviour === 'defer' ? (['name'] as const) : [];
  const base = JSON.stringify(input.facts.base);
  return {
    outcome: deferred.length > 0 ? 'deferred' : 'synced',
    storeganiseUserId: 'sg1',
    zendeskUserId: '1',
    fields:
      deferred.length > 0 ? [] : [{ field: 'name', kind: 'agreed', value, at: { storeganise: 1_000, zendesk: 1_000 } }],
    deferred: [...deferred],
    resolved: [],
    written:
      behaviour === 'link'
        ? { storeganise: ['zendesk_userId'], zendesk: ['externalId'] }
        : { storeganise: [], zendesk: [] },
    notes: [`base ${base}`, `covers ${input.covers.join(',')}`, `fields ${input.fields.join(',')}`],
  };
}
