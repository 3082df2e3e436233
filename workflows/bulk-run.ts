import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { SyncActivities } from '../activities';
import { NON_RETRYABLE_TYPES } from './definitions';

/**
 * The bulk steps (reconciliation, import, full sync): short activities that heartbeat, so a
 * killed worker is noticed within the heartbeat timeout and the step runs again elsewhere from the
 * progress the workflow holds. The first read of a full sync (all of Zendesk, paced at Zendesk's
 * 10 export calls a minute) makes a step last minutes: the heartbeat keeps it alive.
 */
export const bulkActs = proxyActivities<SyncActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '15 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/** Reading the configuration: a marker in history, no task round trip. */
export const bulkLocalActs = proxyLocalActivities<SyncActivities>({ startToCloseTimeout: '10 seconds' });
