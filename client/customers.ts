import type { Client } from '@temporalio/client';
import { customerWorkflow } from '../workflows/customer';
import {
  customerWorkflowId,
  queueCustomerEventSignal,
  type AccountRef,
  type CustomerEvent,
} from '../workflows/definitions';
import { syncAccountKey, syncCustomerKey } from '../workflows/search-attributes';

/**
 * Queues an event on its customer's entity workflow, starting the entity when it is not running.
 * The event is durable once this returns; the entity runs it in order with the customer's others.
 */
export async function queueCustomerEvent(
  client: Client,
  options: { taskQueue: string; settleMs: number },
  account: AccountRef,
  customer: string,
  event: CustomerEvent,
): Promise<void> {
  await client.workflow.signalWithStart(customerWorkflow, {
    workflowId: customerWorkflowId(account.subdomain, customer),
    taskQueue: options.taskQueue,
    args: [{ account, customer, settleMs: options.settleMs }],
    signal: queueCustomerEventSignal,
    signalArgs: [event],
    typedSearchAttributes: [
      { key: syncAccountKey, value: account.subdomain },
      { key: syncCustomerKey, value: customer },
    ],
  });
}
