import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Search attributes are stored in clear text: identifiers, states, field names and sides only,
// never personal data (no names, emails, phones, values of any field).

/** Storeganise subdomain of the account an execution belongs to. */
export const syncAccountKey = defineSearchAttributeKey('SyncAccount', SearchAttributeType.KEYWORD);
/** Which customer an event concerns, e.g. `sg:64f…` or `zd:1234`: every event of one customer in one query. */
export const syncCustomerKey = defineSearchAttributeKey('SyncCustomer', SearchAttributeType.KEYWORD);
/** `running`, `awaiting-authorization`, `awaiting-settings`: what an operator filters paused work on. */
export const syncStateKey = defineSearchAttributeKey('SyncState', SearchAttributeType.KEYWORD);

/** What became of a run: `synced`, `unchanged`, `conflict`, `rejected`, `deleted`, `repaired`, …: the sync log's filter. */
export const syncOutcomeKey = defineSearchAttributeKey('SyncOutcome', SearchAttributeType.KEYWORD);

// The sync log's columns, set by a run when it completes (workflows/sync-customer.ts) and read by client/sync-log.ts.

/** Where the event that led the run came from: `storeganise`, `zendesk`, `rental`, `operator`, `reconcile`. */
export const syncSourceKey = defineSearchAttributeKey('SyncSource', SearchAttributeType.KEYWORD);
/** Which way the run's change went: `storeganise-to-zendesk`, `zendesk-to-storeganise`, `both-ways`, `none`. */
export const syncDirectionKey = defineSearchAttributeKey('SyncDirection', SearchAttributeType.KEYWORD);
/** The Zendesk user of the pair, so a Zendesk id finds the customer's timeline. */
export const syncZendeskUserKey = defineSearchAttributeKey('SyncZendeskUser', SearchAttributeType.KEYWORD);
/** The fields the run's events concern: `email`, `name`, `phone`, `status`, `disabled`. */
export const syncFieldsKey = defineSearchAttributeKey('SyncFields', SearchAttributeType.KEYWORD_LIST);
/** One line saying why the run ended as it did: field names, sides and rules, never a value. */
export const syncReasonKey = defineSearchAttributeKey('SyncReason', SearchAttributeType.TEXT);
/**
 * What else a reader of the log should know about the run: `conflict-resolved` (a same-field
 * conflict decided by the conflict model), `resumed` (it waited for authorization or valid
 * settings), `coalesced:N` (it also served N other events, each recorded as `coalesced`).
 * A keyword list rather than numbers, so every attribute can be checked the same way at start-up.
 */
export const syncMarksKey = defineSearchAttributeKey('SyncMarks', SearchAttributeType.KEYWORD_LIST);

/** A full sync's progress, `done/total` (e.g. `4200/10000`), then how it ended: what the Web UI's list shows (workflows/full-sync.ts). */
export const syncProgressKey = defineSearchAttributeKey('SyncProgress', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [
  syncAccountKey,
  syncCustomerKey,
  syncStateKey,
  syncOutcomeKey,
  syncSourceKey,
  syncDirectionKey,
  syncZendeskUserKey,
  syncFieldsKey,
  syncReasonKey,
  syncMarksKey,
  syncProgressKey,
] as const;

export type SyncState = 'running' | 'awaiting-authorization' | 'awaiting-settings';

export type SyncDirection = 'storeganise-to-zendesk' | 'zendesk-to-storeganise' | 'both-ways' | 'none';
