import type { AdminTask } from '../adapters/storeganise';
import {
  accountWorkflowId,
  acquireLockSignal,
  customerLockWorkflowId,
  raiseAdminTaskUpdate,
  reportUnauthorizedUpdate,
  waitForValidSettingsUpdate,
  type AccountRef,
  type LockRequest,
  type PauseDecision,
} from '../workflows/definitions';
import type { customerLock } from '../workflows/customer-lock';
import { syncAccountKey, syncCustomerKey } from '../workflows/search-attributes';
import type { SettingsResult } from '../domain/settings';
import { taskKey } from './account';
import type { SyncServices } from './services';

/** Activities through which event workflows talk to the account and customer-lock workflows. */
export function coordinationActivities(services: SyncServices) {
  const account = (ref: AccountRef) => services.temporal.workflow.getHandle(accountWorkflowId(ref.subdomain));
  return {
    async loadSettings(ref: AccountRef): Promise<SettingsResult> {
      return services.settings(ref);
    },

    /** Queues the caller on the customer's lock, starting the lock workflow when it is not running. */
    async requestCustomerLock(ref: AccountRef, customer: string, request: LockRequest): Promise<void> {
      await services.temporal.workflow.signalWithStart<typeof customerLock, [LockRequest]>('customerLock', {
        workflowId: customerLockWorkflowId(ref.subdomain, customer),
        taskQueue: services.config.temporal.taskQueue,
        args: [{ queue: [], holder: null }],
        signal: acquireLockSignal,
        signalArgs: [request],
        typedSearchAttributes: [
          { key: syncAccountKey, value: ref.subdomain },
          { key: syncCustomerKey, value: customer },
        ],
      });
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
