import type { Client } from '@temporalio/client';
import type { customerLock } from '../workflows/customer-lock';
import { customerLockWorkflowId, enqueueEventSignal, type AccountRef, type CustomerEvent } from '../workflows/definitions';
import { syncAccountKey, syncCustomerKey } from '../workflows/search-attributes';

/**
 * Queues an event on its customer's lock workflow, starting the lock when it is not running. The
 * signal is durable once this returns; the lock then runs the event as its own workflow.
 */
export async function enqueueCustomerEvent(client: Client, taskQueue: string, account: AccountRef, customer: string, event: CustomerEvent): Promise<void> {
  await client.workflow.signalWithStart<typeof customerLock, [CustomerEvent]>('customerLock', {
    workflowId: customerLockWorkflowId(account.subdomain, customer),
    taskQueue,
    args: [{ account, customer }],
    signal: enqueueEventSignal,
    signalArgs: [event],
    typedSearchAttributes: [
      { key: syncAccountKey, value: account.subdomain },
      { key: syncCustomerKey, value: customer },
    ],
  });
}
