import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AdminTask } from '../adapters/storeganise';
import type { OwnWrites, ZendeskChange } from '../domain/echo';
import type { SyncBase } from '../domain/plan';

/** A Storeganise account (business) served by this installation, keyed by its subdomain. */
export interface AccountRef {
  subdomain: string;
  /** The account's API root, e.g. `https://acme.storeganise.com/api`. */
  apiUrl: string;
  addonId: string;
}

export const accountWorkflowId = (subdomain: string): string => `account:${subdomain}`;
export const customerLockWorkflowId = (subdomain: string, customer: string): string => `customer-lock:${subdomain}:${customer}`;
export const storeganiseEventWorkflowId = (subdomain: string, eventId: string): string => `sg-event:${subdomain}:${eventId}`;
export const zendeskEventWorkflowId = (subdomain: string, eventId: string): string => `zd-event:${subdomain}:${eventId}`;

/** Failure types activities raise and workflows branch on. */
export const FailureType = {
  zendeskUnauthorized: 'ZendeskUnauthorized',
  zendeskRateLimited: 'ZendeskRateLimited',
  rejected: 'Rejected',
  storeganiseUnauthorized: 'StoreganiseUnauthorized',
  unavailable: 'Unavailable',
} as const;

/** Failures a retry cannot fix: a person (or a new authorization) must act. */
export const NON_RETRYABLE_TYPES: string[] = [FailureType.zendeskUnauthorized, FailureType.rejected, FailureType.storeganiseUnauthorized];

// ---- account workflow -------------------------------------------------------------------

/** A Zendesk OAuth grant with its tokens sealed by ENCRYPTION_KEY; expiry times in clear so the workflow can plan refreshes. */
export interface SealedGrant {
  sealedAccessToken: string;
  sealedRefreshToken: string | null;
  issuedAt: number;
  accessExpiresAt: number | null;
  refreshExpiresAt: number | null;
  scope: string;
}

export type ConnectionState = 'awaiting-authorization' | 'connected' | 'disconnected';

/** What the API needs to know about an account; secrets stay sealed. */
export interface AccountView {
  subdomain: string;
  apiUrl: string;
  addonId: string;
  connection: ConnectionState;
  /** Signing secret of the Zendesk webhook the service registered itself. */
  sealedWebhookSecret: string | null;
  webhookId: string | null;
  usedStateNonces: string[];
  pausedForAuthorization: number;
  pausedForSettings: number;
  settingsProblems: string[] | null;
}

export type AccessTokenResult =
  | { status: 'ok'; sealedAccessToken: string; tokenVersion: number; usableUntil: number | null }
  | { status: 'unauthorized'; tokenVersion: number };

export type PauseDecision = 'retry' | 'paused';

export const registerAccountSignal = defineSignal<[{ apiUrl: string; addonId: string }]>('registerAccount');
export const recheckSettingsSignal = defineSignal('recheckSettings');
export const accountQuery = defineQuery<AccountView>('account');
export const obtainAccessTokenUpdate = defineUpdate<AccessTokenResult>('obtainAccessToken');
/** A Zendesk call with token `tokenVersion` got 401: refresh if possible, otherwise park the caller until authorization. */
export const reportUnauthorizedUpdate = defineUpdate<PauseDecision, [{ tokenVersion: number; workflowId: string }]>('reportUnauthorized');
export const storeGrantUpdate = defineUpdate<void, [{ stateNonce: string; stateExpiresAt: number; grant: SealedGrant }]>('storeGrant');
export const waitForValidSettingsUpdate = defineUpdate<PauseDecision, [{ workflowId: string; problems: string[] }]>('waitForValidSettings');
/** Raises an admin task unless one with the same key was raised already. */
export const raiseAdminTaskUpdate = defineUpdate<'raised' | 'already-raised', [{ key: string; task: AdminTask }]>('raiseAdminTask');
export const disconnectUpdate = defineUpdate<void>('disconnect');

// ---- event workflows ----------------------------------------------------------------------

/** Sent by the account workflow to each parked event workflow when a new grant arrives. */
export const authorizeSignal = defineSignal('authorize');
/** Sent by the account workflow to each parked event workflow once the settings validate. */
export const settingsFixedSignal = defineSignal('settingsFixed');

/** What the customer's lock hands each event it runs. */
export interface LockContext {
  /** The values both sides last agreed on. */
  base: SyncBase;
  /** A later queued event redoes the same work: this one skips. */
  superseded: boolean;
  /** The event only echoes this run's own write: nothing to read or write. */
  echoOf: string | null;
  /** An event from the other side waits behind this one: it arrived later, so on a tie it is the newer edit. */
  otherSideQueued: boolean;
}

export interface StoreganiseUserEvent {
  account: AccountRef;
  eventId: string;
  type: string;
  userId: string;
  /** Dotted paths Storeganise says changed; null = unknown, sync everything. */
  changedKeys: string[] | null;
  /** Set when the customer's lock runs the event; absent when started by hand (unserialised, no base). */
  lock?: LockContext;
}

export interface StoreganiseRentalEvent {
  account: AccountRef;
  eventId: string;
  type: string;
  unitRentalId: string | null;
  jobId: string | null;
  rentalIds: string[];
}

/** A rental changed: recompute one owner's customer status. */
export interface CustomerStatusEvent {
  account: AccountRef;
  /** The rental event's workflow, for the story. */
  cause: string;
  userId: string;
  lock?: LockContext;
}

export interface ZendeskUserEvent {
  account: AccountRef;
  eventId: string;
  /** Normalised to the `zen:event-type:` spelling. */
  type: string;
  zendeskUserId: string;
  externalId: string | null;
  /** For `user.merged`: the user the event's subject was merged into. */
  mergedIntoUserId: string | null;
  /** What the event says changed, to recognise the echo of the sync's own write. */
  change: ZendeskChange | null;
  lock?: LockContext;
}

export interface SyncResult {
  outcome: 'synced' | 'unchanged' | 'superseded' | 'echo' | 'unlinked' | 'gone' | 'conflict' | 'rejected' | 'queued';
  zendeskWrites: number;
  storeganiseWrites: number;
  /** The story of the run, for the Web UI: what was read, what was written and why. */
  notes: string[];
  /** For the customer's lock: the base after this run, and what it wrote (to recognise echoes). */
  base?: SyncBase;
  wrote?: Omit<OwnWrites, 'by' | 'at'>;
}

// ---- customer lock ---------------------------------------------------------------------------

/** An event queued on its customer's lock, which runs it as a child workflow with this id. */
export type CustomerEvent = { workflowId: string; coalesceKey: string } & (
  | { kind: 'storeganise-user'; event: StoreganiseUserEvent }
  | { kind: 'zendesk-user'; event: ZendeskUserEvent }
  | { kind: 'customer-status'; event: CustomerStatusEvent }
);

export const enqueueEventSignal = defineSignal<[CustomerEvent]>('enqueueEvent');
/** What a customer's lock is doing: the event it runs and how many wait. */
export const lockStatusQuery = defineQuery<{ running: string | null; queued: number }>('lockStatus');

/** The customer key events are serialised on: a Storeganise user, or a Zendesk user not linked yet. */
export const storeganiseCustomer = (userId: string): string => `sg:${userId}`;
export const zendeskCustomer = (event: Pick<ZendeskUserEvent, 'externalId' | 'zendeskUserId'>): string =>
  event.externalId === null ? `zd:${event.zendeskUserId}` : storeganiseCustomer(event.externalId);
