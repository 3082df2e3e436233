import { storeganiseUserEventFields, zendeskEventFields, ZENDESK_MERGED_EVENT } from '../domain/events';
import type { StoreganiseRentalEvent, StoreganiseUserEvent, SyncResult, ZendeskUserEvent } from './definitions';
import { acts, EventRun } from './event-run';
import { syncCustomerToStoreganise } from './to-storeganise';
import { syncCustomerToZendesk } from './to-zendesk';

/** One Storeganise user event (created, updated, disabled): Storeganise → Zendesk. */
export async function syncStoreganiseUserEvent(event: StoreganiseUserEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  const fields = storeganiseUserEventFields(event.type, event.changedKeys) ?? [];
  return run.withCustomerLock(`sg:${event.userId}`, `to-zendesk:${fields.join(',')}`, (base) =>
    syncCustomerToZendesk(run, event.userId, fields, base, { mayCreate: true }),
  );
}

/** One rental or move event: recomputes the owners' customer status in Zendesk. */
export async function syncStoreganiseRentalEvent(event: StoreganiseRentalEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  const owners = await acts.resolveRentalOwners(event.account, event);
  if (owners.length === 0) return run.result('gone', 'the rental or job has no owner');
  let last = run.result('unchanged');
  for (const owner of owners) {
    last = await run.withCustomerLock(`sg:${owner}`, 'to-zendesk:status', (base) => syncCustomerToZendesk(run, owner, ['status'], base, { mayCreate: false }));
  }
  return last;
}

/** One Zendesk user event: Zendesk → Storeganise; a merge moves the link to the surviving user. */
export async function syncZendeskUserEvent(event: ZendeskUserEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  if (event.type === ZENDESK_MERGED_EVENT) {
    if (event.externalId === null) return run.result('unlinked', 'the merged-away user was not linked');
    const externalId = event.externalId;
    return run.withCustomerLock(`sg:${externalId}`, 'to-zendesk:', (base) => syncCustomerToZendesk(run, externalId, [], base, { mayCreate: false }));
  }
  const fields = zendeskEventFields(event.type) ?? [];
  const customer = event.externalId === null ? `zd:${event.zendeskUserId}` : `sg:${event.externalId}`;
  return run.withCustomerLock(customer, `to-storeganise:${fields.join(',')}`, (base) => syncCustomerToStoreganise(run, event.zendeskUserId, fields, base));
}
