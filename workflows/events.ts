import { patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import { storeganiseCustomer, type CustomerEvent, type StoreganiseRentalEvent } from './definitions';
import { acts } from './event-run';
import { HAND_OVER_PATCH, type LegacyActivities } from './legacy/definitions';

const legacy = proxyLocalActivities<LegacyActivities>({ startToCloseTimeout: '1 minute' });

/** One rental or move event: queues a status recomputation on each owner's entity workflow. */
export async function syncStoreganiseRentalEvent(
  event: StoreganiseRentalEvent,
): Promise<{ outcome: 'queued' | 'gone'; notes: string[] }> {
  const owners = await acts.resolveRentalOwners(event.account, event);
  if (owners.length === 0) return { outcome: 'gone', notes: ['the rental or job has no owner'] };
  const { workflowId } = workflowInfo();
  const notes: string[] = [];
  for (const owner of owners) {
    const statusWorkflowId = `${workflowId}:${owner}`;
    const statusEvent: CustomerEvent = {
      eventId: statusWorkflowId,
      workflowId: statusWorkflowId,
      source: 'rental',
      type: event.type,
      at: null,
      edits: [],
      fields: ['status'],
      contactsChanged: false,
      zendeskUserId: null,
      linkOnly: false,
      mayCreate: false,
    };
    // Executions of the previous version queued on the customer lock; the entity took its place.
    if (patched(HAND_OVER_PATCH)) await acts.queueCustomerEvent(event.account, storeganiseCustomer(owner), statusEvent);
    else
      await legacy.enqueueCustomerEvent(event.account, storeganiseCustomer(owner), {
        kind: 'customer-status',
        workflowId: statusWorkflowId,
        coalesceKey: 'to-zendesk:status',
        event: { account: event.account, cause: workflowId, userId: owner },
      });
    notes.push(`status of Storeganise user ${owner} queued as ${statusWorkflowId}`);
  }
  return { outcome: 'queued', notes };
}
