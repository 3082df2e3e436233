export { accountWorkflow } from './account';
export { customerLock } from './customer-lock';
export { syncCustomerStatus, syncStoreganiseRentalEvent, syncStoreganiseUserEvent, syncZendeskUserEvent } from './events';
