import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AdminTask } from '../adapters/storeganise';
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

export interface StoreganiseUserEvent {
  account: AccountRef;
  eventId: string;
  type: string;
  userId: string;
  /** Dotted paths Storeganise says changed; null = unknown, sync everything. */
  changedKeys: string[] | null;
}

export interface StoreganiseRentalEvent {
  account: AccountRef;
  eventId: string;
  type: string;
  unitRentalId: string | null;
  jobId: string | null;
  rentalIds: string[];
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
}

export interface SyncResult {
  outcome: 'synced' | 'unchanged' | 'superseded' | 'unlinked' | 'gone' | 'conflict' | 'rejected';
  zendeskWrites: number;
  storeganiseWrites: number;
  /** The story of the run, for the Web UI: what was read, what was written and why. */
  notes: string[];
}

// ---- customer lock ---------------------------------------------------------------------------

export interface LockRequest {
  workflowId: string;
  /** Requests with the same key redo the same work, so an earlier one may skip. */
  coalesceKey: string;
}
export interface LockGrant {
  /** A later request with the same coalesce key is queued: this one may skip its work. */
  superseded: boolean;
  /** What the previous holder left: the values both sides last agreed on. */
  base: SyncBase;
}
export interface LockRelease {
  workflowId: string;
  /** The base after this holder's writes; absent = unchanged. */
  base?: SyncBase;
}
export const acquireLockSignal = defineSignal<[LockRequest]>('acquireLock');
export const releaseLockSignal = defineSignal<[LockRelease]>('releaseLock');
export const lockGrantedSignal = defineSignal<[LockGrant]>('lockGranted');
/** A no-op the lock sends to a long holder: delivery fails when the holder is gone. */
export const lockProbeSignal = defineSignal('lockProbe');
