import { workflowInfo } from '@temporalio/workflow';
import { storeganiseUserEventFields, zendeskEventSyncFields, ZENDESK_MERGED_EVENT } from '../domain/events';
import {
  storeganiseCustomer,
  type CustomerStatusEvent,
  type StoreganiseRentalEvent,
  type StoreganiseUserEvent,
  type SyncResult,
  type ZendeskUserEvent,
} from './definitions';
import { acts, EventRun } from './event-run';
import { syncCustomerToStoreganise } from './to-storeganise';
import { syncCustomerToZendesk } from './to-zendesk';

/** One Storeganise user event (created, updated, disabled): Storeganise → Zendesk. */
export async function syncStoreganiseUserEvent(event: StoreganiseUserEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  const fields = storeganiseUserEventFields(event.type, event.changedKeys) ?? [];
  const otherSideQueued = event.lock?.otherSideQueued ?? false;
  return run.run(event.lock, (base) => syncCustomerToZendesk(run, event.userId, fields, base, { mayCreate: true, otherSideQueued }));
}

/** One Zendesk user event: Zendesk → Storeganise; a merge moves the link to the surviving user. */
export async function syncZendeskUserEvent(event: ZendeskUserEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  const otherSideQueued = event.lock?.otherSideQueued ?? false;
  if (event.type === ZENDESK_MERGED_EVENT) {
    const externalId = event.externalId;
    if (externalId === null) return run.result('unlinked', 'the merged-away user was not linked');
    return run.run(event.lock, (base) => syncCustomerToZendesk(run, externalId, [], base, { mayCreate: false, otherSideQueued }));
  }
  const fields = zendeskEventSyncFields(event.type, event.externalId) ?? [];
  if (event.externalId === null) run.note('the Zendesk user was not linked when this changed: link only');
  return run.run(event.lock, (base) => syncCustomerToStoreganise(run, event.zendeskUserId, fields, base, { otherSideQueued }));
}

/** One rental or move event: queues a status recomputation on each owner's lock. */
export async function syncStoreganiseRentalEvent(event: StoreganiseRentalEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  const owners = await acts.resolveRentalOwners(event.account, event);
  if (owners.length === 0) return run.result('gone', 'the rental or job has no owner');
  const { workflowId } = workflowInfo();
  for (const owner of owners) {
    const statusEvent: CustomerStatusEvent = { account: event.account, cause: workflowId, userId: owner };
    const statusWorkflowId = `${workflowId}:${owner}`;
    await acts.enqueueCustomerEvent(event.account, storeganiseCustomer(owner), {
      kind: 'customer-status',
      workflowId: statusWorkflowId,
      coalesceKey: 'to-zendesk:status',
      event: statusEvent,
    });
    run.note(`status of Storeganise user ${owner} queued as ${statusWorkflowId}`);
  }
  return run.result('queued');
}

/** A customer's status after a rental change: Storeganise → Zendesk, status only. */
export async function syncCustomerStatus(event: CustomerStatusEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  run.note(`caused by ${event.cause}`);
  const otherSideQueued = event.lock?.otherSideQueued ?? false;
  return run.run(event.lock, (base) => syncCustomerToZendesk(run, event.userId, ['status'], base, { mayCreate: false, otherSideQueued }));
}
