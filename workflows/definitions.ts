import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CopyReason, FieldOutcome, PairFacts, ReportedEdit, Side, TwoWayField } from '../domain/convergence';
import type { SyncField } from '../domain/records';
import type { AccountSettings } from '../domain/settings';
import type { AdminTask } from '../domain/tasks';

/** A Storeganise account (business) served by this installation, keyed by its subdomain. */
export interface AccountRef {
  subdomain: string;
  /** The account's API root, e.g. `https://acme.storeganise.com/api`. */
  apiUrl: string;
  addonId: string;
}

export const accountWorkflowId = (subdomain: string): string => `account:${subdomain}`;
export const customerWorkflowId = (subdomain: string, customer: string): string => `customer:${subdomain}:${customer}`;
export const storeganiseEventWorkflowId = (subdomain: string, eventId: string): string =>
  `sg-event:${subdomain}:${eventId}`;
export const zendeskEventWorkflowId = (subdomain: string, eventId: string): string =>
  `zd-event:${subdomain}:${eventId}`;

/** Failure types activities raise and workflows branch on. */
export const FailureType = {
  zendeskUnauthorized: 'ZendeskUnauthorized',
  zendeskRateLimited: 'ZendeskRateLimited',
  rejected: 'Rejected',
  storeganiseUnauthorized: 'StoreganiseUnauthorized',
  unavailable: 'Unavailable',
  /** An error no rule maps: a defect or a record the sync cannot handle (activities/failures.ts). */
  unexpected: 'Unexpected',
} as const;

/** Failures a retry cannot fix: a person (or a new authorization) must act. */
export const NON_RETRYABLE_TYPES: string[] = [
  FailureType.zendeskUnauthorized,
  FailureType.rejected,
  FailureType.storeganiseUnauthorized,
];

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

/** The add-on settings as the account workflow last read them; the manual webhook secret sealed. */
export type AccountSettingsView =
  | {
      ok: true;
      settings: Omit<AccountSettings, 'webhookSecret'> & {
        sealedWebhookSecret: string | null;
        webhookSecretFingerprint: string | null;
      };
    }
  | { ok: false; problems: string[] };

/**
 * What the API and the activities need to know about an account without a worker running and
 * without calling Storeganise: published by the account workflow as its memo (encrypted by the
 * payload codec) and read with `describe()` or a visibility list.
 */
export interface AccountDirectoryEntry {
  subdomain: string;
  apiUrl: string;
  addonId: string;
  connection: ConnectionState;
  /** Signing secret of the Zendesk webhook the service registered itself, sealed. */
  sealedWebhookSecret: string | null;
  webhookId: string | null;
  settings: AccountSettingsView | null;
}

export const ACCOUNT_MEMO_KEY = 'directory';

/**
 * A Zendesk instance answered 429: no call to it, from any worker, before `until` (epoch ms).
 * Reported by the worker that got the 429 and published by the account workflow as its memo
 * under ZENDESK_RATE_LIMIT_MEMO_KEY, which every worker reads before calling Zendesk.
 */
export interface ZendeskRateLimit {
  /** The Zendesk subdomain (`zendesk_instance`). */
  instance: string;
  until: number;
}

export const ZENDESK_RATE_LIMIT_MEMO_KEY = 'zendeskRateLimit';

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
export const reportUnauthorizedUpdate = defineUpdate<PauseDecision, [{ tokenVersion: number; workflowId: string }]>(
  'reportUnauthorized',
);
export const storeGrantUpdate = defineUpdate<
  void,
  [{ stateNonce: string; stateExpiresAt: number; grant: SealedGrant }]
>('storeGrant');
export const waitForValidSettingsUpdate = defineUpdate<PauseDecision, [{ workflowId: string; problems: string[] }]>(
  'waitForValidSettings',
);
/** Raises an admin task unless one with the same key was raised already. */
export const raiseAdminTaskUpdate = defineUpdate<'raised' | 'already-raised', [{ key: string; task: AdminTask }]>(
  'raiseAdminTask',
);
export const disconnectUpdate = defineUpdate<void>('disconnect');
/** A worker got a Zendesk 429: the account holds the block for every worker (a signal, so the caller never waits on it). */
export const zendeskRateLimitedSignal = defineSignal<[ZendeskRateLimit]>('zendeskRateLimited');

// ---- event workflows ----------------------------------------------------------------------

/** Sent by the account workflow to each parked event workflow when a new grant arrives. */
export const authorizeSignal = defineSignal('authorize');
/** Sent by the account workflow to each parked event workflow once the settings validate. */
export const settingsFixedSignal = defineSignal('settingsFixed');

/** Where an event comes from. Only `storeganise` and `zendesk` events report a person's edits. */
export type EventSource = 'storeganise' | 'zendesk' | 'rental' | 'operator' | 'reconcile' | 'handed-over';

/** An accepted event, queued on its customer's entity workflow. */
export interface CustomerEvent {
  eventId: string;
  /** The workflow id a run led by this event gets (derived from the event id, so Temporal refuses a second one). */
  workflowId: string;
  source: EventSource;
  type: string;
  /** When the change was made, epoch ms in its side's clock (Zendesk `time`, Storeganise `created`). */
  at: number | null;
  /** The two-way fields a person edited, as the event reports them. */
  edits: ReportedEdit[];
  /** What a run for this event compares and writes. */
  fields: SyncField[];
  /** Zendesk's non-primary emails or phones may have changed: never taken for an echo. */
  contactsChanged: boolean;
  /** The Zendesk user the event is about, for Zendesk events. */
  zendeskUserId: string | null;
  /** The Zendesk user was not linked when this happened: link the pair, copy no field. */
  linkOnly: boolean;
  /** May create the Zendesk user of a never-linked Storeganise customer. */
  mayCreate: boolean;
}

export type EventOutcome =
  | 'synced'
  | 'unchanged'
  | 'echo'
  | 'coalesced'
  | 'duplicate'
  | 'deferred'
  | 'linked'
  | 'conflict'
  | 'rejected'
  | 'unlinked'
  | 'deleted'
  | 'repaired'
  | 'gone'
  | 'failed';

/** What became of an accepted event, kept by its customer's entity workflow. */
export interface OutcomeRecord {
  eventId: string;
  /** Absent in records kept before the sync log named sources. */
  source?: EventSource;
  outcome: EventOutcome;
  /** The run that covered it, when another event led that run. */
  by: string | null;
  /** Workflow time, epoch ms. */
  at: number;
}

/** One run: converges a customer's pair for the fields its events name. */
export interface SyncRunInput {
  account: AccountRef;
  /** `sg:{storeganise user id}`, or `zd:{zendesk user id}` for a Zendesk user not linked yet. */
  customer: string;
  /** The event the run is named after. */
  lead: CustomerEvent;
  /** Other events this run also serves. */
  covers: string[];
  fields: SyncField[];
  facts: PairFacts;
  mayCreate: boolean;
  linkOnly: boolean;
  /** Zendesk's other emails and phones may have changed: the run reads the identities. */
  readContacts?: boolean;
  /** Only reconciliation asked for the run: a difference it writes is one no webhook explained. */
  repair?: boolean;
  /** How long a conflict may wait for an event still on its way (CONFLICT_SETTLE_SECONDS). */
  settleMs?: number;
}

export interface SyncRunResult {
  outcome: EventOutcome;
  storeganiseUserId: string | null;
  zendeskUserId: string | null;
  /** What the run established per field, for the customer's facts. */
  fields: FieldOutcome[];
  /** Two-way fields whose conflict waits for an event still on its way. */
  deferred: TwoWayField[];
  /** Same-field conflicts decided, with the side whose edit won and why. */
  resolved: Array<{ field: TwoWayField; winner: Side; reason: CopyReason }>;
  /** Fields written, per side. */
  written: Record<Side, string[]>;
  /** The story of the run for the Web UI: what was read, decided and written, without values. */
  notes: string[];
}

export const queueCustomerEventSignal = defineSignal<[CustomerEvent]>('queueCustomerEvent');
/** What a customer's entity is doing: the run in progress, how many events wait, and recent outcomes. */
export const customerStatusQuery = defineQuery<{
  running: string | null;
  queued: number;
  deferred: TwoWayField[];
  outcomes: OutcomeRecord[];
}>('customerStatus');

/** The customer key events are serialised on: a Storeganise user, or a Zendesk user not linked yet. */
export const storeganiseCustomer = (userId: string): string => `sg:${userId}`;
export const zendeskCustomer = (event: { externalId: string | null; zendeskUserId: string }): string =>
  event.externalId === null ? `zd:${event.zendeskUserId}` : storeganiseCustomer(event.externalId);

export interface StoreganiseRentalEvent {
  account: AccountRef;
  eventId: string;
  type: string;
  unitRentalId: string | null;
  jobId: string | null;
  rentalIds: string[];
}

// ---- reconciliation, import, full sync -----------------------------------------------------

/** One per account, for as long as it is served: the safety net that repairs missed webhooks. */
export const reconcileWorkflowId = (subdomain: string): string => `reconcile:${subdomain}`;
/** One at a time per account: the initial import, or a full sync an operator asked for. */
export const fullSyncWorkflowId = (subdomain: string): string => `full-sync:${subdomain}`;

/** What a full sync (or import) is doing; `awaiting-*` while Zendesk access or valid settings are missing. */
export type FullSyncState =
  | 'counting'
  | 'reading'
  | 'running'
  | 'awaiting-authorization'
  | 'awaiting-settings'
  | 'completed'
  | 'cancelled'
  | 'failed';

/**
 * A full sync's progress, as the operator endpoint, the CLI and the status page show it. `done` of
 * `total` customers are finished: compared and found in line, or their run has finished.
 */
export interface FullSyncProgress {
  state: FullSyncState;
  /** `import`: links and creates only (first authorization); `full`: every pair ends equal. */
  mode: 'import' | 'full';
  done: number;
  total: number;
  linked: number;
  created: number;
  repaired: number;
  conflicts: number;
  errors: number;
  /** Runs queued on customers' entities and not finished yet. */
  inFlight: number;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export const fullSyncProgressQuery = defineQuery<FullSyncProgress>('fullSyncProgress');
/** The memo key under which a full sync publishes its progress (readable without a worker, and after it closed). */
export const FULL_SYNC_MEMO_KEY = 'fullSync';

/** One reconciliation run: what it covered, looked at, queued and what became of it. */
export interface ReconcileRun {
  cycle: number;
  startedAt: string;
  finishedAt: string | null;
  /** Storeganise changes after `coveredFrom` up to `coveredTo` were read (ISO). */
  coveredFrom: string;
  coveredTo: string | null;
  zendeskUsersRead: number;
  storeganiseRecordsRead: number;
  /** Changed pairs compared in bulk. */
  checked: number;
  /** Runs queued on customers' entities (pairs that differed). */
  queued: number;
  /** Runs that wrote a difference no webhook explained. */
  repaired: number;
  linked: number;
  created: number;
  conflicts: number;
  errors: number;
}

export type ReconcileState =
  'waiting' | 'running' | 'awaiting-authorization' | 'awaiting-settings' | 'deferred' | 'off';

/** What the account's reconciliation is doing and did, for the status page and the Web UI. */
export interface ReconcileStatus {
  state: ReconcileState;
  /** RECONCILE_INTERVAL in ms; null when off. */
  intervalMs: number | null;
  nextRunAt: string | null;
  current: ReconcileRun | null;
  lastRun: ReconcileRun | null;
  /** Since the reconciliation started: runs completed and what they repaired. */
  totals: { runs: number; repaired: number; linked: number; created: number; conflicts: number; errors: number };
  /** Where the next run starts: the Storeganise watermark (ISO) and whether Zendesk's export cursor is known. */
  storeganiseWatermark: string;
  zendeskCursor: 'cursor' | 'start-time';
}

export const reconcileStatusQuery = defineQuery<ReconcileStatus>('reconcileStatus');
/** Runs a reconciliation now (after a re-authorization or a reconnection: the gap is covered). */
export const reconcileNowSignal = defineSignal('reconcileNow');
/** The memo key under which the reconciliation publishes its status. */
export const RECONCILE_MEMO_KEY = 'reconciliation';
