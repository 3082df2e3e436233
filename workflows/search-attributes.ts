import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Search attributes are stored in clear text: identifiers and states only, never personal data.

/** Storeganise subdomain of the account an execution belongs to. */
export const syncAccountKey = defineSearchAttributeKey('SyncAccount', SearchAttributeType.KEYWORD);
/** Which customer an event concerns, e.g. `sg:64f…` or `zd:1234`: every event of one customer in one query. */
export const syncCustomerKey = defineSearchAttributeKey('SyncCustomer', SearchAttributeType.KEYWORD);
/** `running`, `awaiting-authorization`, `awaiting-settings`: what an operator filters paused work on. */
export const syncStateKey = defineSearchAttributeKey('SyncState', SearchAttributeType.KEYWORD);

/** What became of a run: `synced`, `unchanged`, `conflict`, `rejected`, `deleted`, `repaired`, …: the sync log's filter. */
export const syncOutcomeKey = defineSearchAttributeKey('SyncOutcome', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [syncAccountKey, syncCustomerKey, syncStateKey, syncOutcomeKey] as const;

export type SyncState = 'running' | 'awaiting-authorization' | 'awaiting-settings';
