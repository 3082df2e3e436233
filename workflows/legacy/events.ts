import { workflowInfo } from '@temporalio/workflow';
import { storeganiseCustomer, zendeskCustomer } from '../definitions';
import type {
  CustomerStatusEvent,
  LegacyCustomerEvent,
  StoreganiseUserEvent,
  SyncResult,
  ZendeskUserEvent,
} from './definitions';
import { EventRun } from './event-run';
import { storeganiseUserEventFields, zendeskEventSyncFields, ZENDESK_MERGED_EVENT } from './fields';
import { syncCustomerToStoreganise } from './to-storeganise';
import { syncCustomerToZendesk } from './to-zendesk';

/** One Storeganise user event (created, updated, disabled): Storeganise → Zendesk. */
export async function syncStoreganiseUserEvent(event: StoreganiseUserEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  const fields = storeganiseUserEventFields(event.type, event.changedKeys) ?? [];
  const otherSideQueued = event.lock?.otherSideQueued ?? false;
  const handOver = handOverOf(storeganiseCustomer(event.userId), { kind: 'storeganise-user', event }, fields);
  return run.run(
    event.lock,
    (base) => syncCustomerToZendesk(run, event.userId, fields, base, { mayCreate: true, otherSideQueued }),
    handOver,
  );
}

/** One Zendesk user event: Zendesk → Storeganise; a merge moves the link to the surviving user. */
export async function syncZendeskUserEvent(event: ZendeskUserEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  const otherSideQueued = event.lock?.otherSideQueued ?? false;
  if (event.type === ZENDESK_MERGED_EVENT) {
    const externalId = event.externalId;
    if (externalId === null) return run.result('unlinked', 'the merged-away user was not linked');
    const merged = handOverOf(storeganiseCustomer(externalId), { kind: 'zendesk-user', event }, []);
    return run.run(
      event.lock,
      (base) => syncCustomerToZendesk(run, externalId, [], base, { mayCreate: false, otherSideQueued }),
      merged,
    );
  }
  const fields = zendeskEventSyncFields(event.type, event.externalId) ?? [];
  if (event.externalId === null) run.note('the Zendesk user was not linked when this changed: link only');
  const handOver = handOverOf(zendeskCustomer(event), { kind: 'zendesk-user', event }, fields);
  return run.run(
    event.lock,
    (base) => syncCustomerToStoreganise(run, event.zendeskUserId, fields, base, { otherSideQueued }),
    handOver,
  );
}

/** A customer's status after a rental change: Storeganise → Zendesk, status only. */
export async function syncCustomerStatus(event: CustomerStatusEvent): Promise<SyncResult> {
  const run = new EventRun(event.account);
  run.note(`caused by ${event.cause}`);
  const otherSideQueued = event.lock?.otherSideQueued ?? false;
  const handOver = handOverOf(storeganiseCustomer(event.userId), { kind: 'customer-status', event }, ['status']);
  return run.run(
    event.lock,
    (base) => syncCustomerToZendesk(run, event.userId, ['status'], base, { mayCreate: false, otherSideQueued }),
    handOver,
  );
}

type EventPayload = LegacyCustomerEvent extends infer E
  ? E extends LegacyCustomerEvent
    ? Omit<E, 'workflowId' | 'coalesceKey'>
    : never
  : never;

function handOverOf(
  customer: string,
  payload: EventPayload,
  fields: readonly string[],
): { customer: string; event: LegacyCustomerEvent } {
  return { customer, event: { ...payload, workflowId: workflowInfo().workflowId, coalesceKey: fields.join(',') } };
}
