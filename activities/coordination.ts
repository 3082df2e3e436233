import { queueCustomerEvent } from '../client/customers';
import type { AdminTask } from '../domain/tasks';
import type { LegacyCustomerEvent } from '../workflows/legacy/definitions';
import {
  accountWorkflowId,
  raiseAdminTaskUpdate,
  reportUnauthorizedUpdate,
  waitForValidSettingsUpdate,
  type AccountRef,
  type CustomerEvent,
  type PauseDecision,
} from '../workflows/definitions';
import { taskKey } from './account';
import type { SyncServices } from './services';

/** What the previous version's queued event becomes on the entity: a run for its fields, with no edit to record. */
function handedOver(event: LegacyCustomerEvent): CustomerEvent {
  const zendesk = event.kind === 'zendesk-user' ? event.event : null;
  const fields =
    event.coalesceKey
      .split(':')
      .at(-1)
      ?.split(',')
      .filter((f) => f !== '') ?? [];
  return {
    eventId: event.workflowId,
    workflowId: `${event.workflowId}:handed-over`,
    source: 'handed-over',
    type: event.kind,
    at: null,
    edits: [],
    fields: fields.filter((f): f is CustomerEvent['fields'][number] =>
      ['email', 'name', 'phone', 'status', 'disabled'].includes(f),
    ),
    contactsChanged: zendesk !== null,
    zendeskUserId: zendesk?.zendeskUserId ?? null,
    linkOnly: zendesk !== null && zendesk.externalId === null,
    mayCreate: event.kind === 'storeganise-user',
  };
}

/** Activities through which workflows talk to the account and customer workflows. */
export function coordinationActivities(services: SyncServices) {
  const account = (ref: AccountRef) => services.temporal.workflow.getHandle(accountWorkflowId(ref.subdomain));
  const queue = (ref: AccountRef, customer: string, event: CustomerEvent) =>
    queueCustomerEvent(
      services.temporal,
      { taskQueue: services.config.temporal.taskQueue, settleMs: services.config.conflictSettleMs },
      ref,
      customer,
      event,
    );
  return {
    /** Queues an event on its customer's entity workflow (which runs it in order with the others). */
    async queueCustomerEvent(ref: AccountRef, customer: string, event: CustomerEvent): Promise<void> {
      await queue(ref, customer, event);
    },

    /** Moves the events of an execution of the previous version onto the customer's entity workflow. */
    async handOverLegacyEvents(ref: AccountRef, customer: string, events: LegacyCustomerEvent[]): Promise<void> {
      for (const event of events) await queue(ref, customer, handedOver(event));
    },

    async reportZendeskUnauthorized(ref: AccountRef, tokenVersion: number, workflowId: string): Promise<PauseDecision> {
      return account(ref).executeUpdate(reportUnauthorizedUpdate, { args: [{ tokenVersion, workflowId }] });
    },

    async waitForValidSettings(ref: AccountRef, workflowId: string, problems: string[]): Promise<PauseDecision> {
      return account(ref).executeUpdate(waitForValidSettingsUpdate, { args: [{ workflowId, problems }] });
    },

    /** Raises the task once per distinct problem, however many events run into it. */
    async raiseAdminTaskOnce(
      ref: AccountRef,
      dedupeParts: string[],
      task: AdminTask,
    ): Promise<'raised' | 'already-raised'> {
      return account(ref).executeUpdate(raiseAdminTaskUpdate, { args: [{ key: taskKey(...dedupeParts), task }] });
    },
  };
}
