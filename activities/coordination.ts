import type { AdminTask } from '../adapters/storeganise';
import { enqueueCustomerEvent } from '../lib/enqueue';
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

/** Activities through which event workflows talk to the account and customer-lock workflows. */
export function coordinationActivities(services: SyncServices) {
  const account = (ref: AccountRef) => services.temporal.workflow.getHandle(accountWorkflowId(ref.subdomain));
  return {
    /** Queues an event on its customer's lock (the lock runs it as a child workflow, in order). */
    async enqueueCustomerEvent(ref: AccountRef, customer: string, event: CustomerEvent): Promise<void> {
      await enqueueCustomerEvent(services.temporal, services.config.temporal.taskQueue, ref, customer, event);
    },

    async reportZendeskUnauthorized(ref: AccountRef, tokenVersion: number, workflowId: string): Promise<PauseDecision> {
      return account(ref).executeUpdate(reportUnauthorizedUpdate, { args: [{ tokenVersion, workflowId }] });
    },

    async waitForValidSettings(ref: AccountRef, workflowId: string, problems: string[]): Promise<PauseDecision> {
      return account(ref).executeUpdate(waitForValidSettingsUpdate, { args: [{ workflowId, problems }] });
    },

    /** Raises the task once per distinct problem, however many events run into it. */
    async raiseAdminTaskOnce(ref: AccountRef, dedupeParts: string[], task: AdminTask): Promise<'raised' | 'already-raised'> {
      return account(ref).executeUpdate(raiseAdminTaskUpdate, { args: [{ key: taskKey(...dedupeParts), task }] });
    },
  };
}
