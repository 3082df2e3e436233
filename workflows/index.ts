export { accountWorkflow } from './account';
export { customerLock } from './customer-lock';
export { syncStoreganiseRentalEvent, syncStoreganiseUserEvent, syncZendeskUserEvent } from './events';
