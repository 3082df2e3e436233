export { accountWorkflow } from './account';
export { customerWorkflow } from './customer';
export { fullSyncWorkflow } from './full-sync';
export { reconcileWorkflow } from './reconcile';
export { syncStoreganiseRentalEvent } from './events';
export { syncCustomer } from './sync-customer';
// The previous version's event layer, kept until its executions are gone (workflows/legacy/definitions.ts).
export { customerLock } from './legacy/customer-lock';
export { syncCustomerStatus, syncStoreganiseUserEvent, syncZendeskUserEvent } from './legacy/events';
