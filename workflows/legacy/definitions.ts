/**
 * The event layer before the conflict model of `domain/convergence.ts`: its workflows stay
 * registered so executions started by that version replay and finish (see README "Changing
 * workflow code"). On their next new step they hand their events over to the customer's entity
 * workflow (`handOverPatch`) and end; no activity of that version runs any more. Retire the folder
 * once `WorkflowType IN ('customerLock','syncStoreganiseUserEvent','syncZendeskUserEvent','syncCustomerStatus')
 * AND ExecutionStatus = 'Running'` finds nothing, together with test/fixtures/histories-900ecd3.json
 * and histories-c6d95e3.json.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AdminTask } from '../../domain/tasks';
import type { StoreganiseCustomer, SyncField, ZendeskContacts, ZendeskCustomer } from '../../domain/records';
import type { AccountSettings } from '../../domain/settings';
import type { CustomerStatus } from '../../domain/status';
import type { AccountRef, PauseDecision } from '../definitions';
import type { OwnWrites, ZendeskChange } from './echo';
import type { NewZendeskUser, StoreganiseUserChanges, SyncBase, ZendeskPlan } from './plan';

/** Marks the point where an execution of this version hands its events to the customer's entity. */
export const HAND_OVER_PATCH = 'hand-over-to-customer-entity';

export interface LockContext {
  base: SyncBase;
  superseded: boolean;
  echoOf: string | null;
  otherSideQueued: boolean;
}

export interface StoreganiseUserEvent {
  account: AccountRef;
  eventId: string;
  type: string;
  userId: string;
  changedKeys: string[] | null;
  lock?: LockContext;
}

export interface CustomerStatusEvent {
  account: AccountRef;
  cause: string;
  userId: string;
  lock?: LockContext;
}

export interface ZendeskUserEvent {
  account: AccountRef;
  eventId: string;
  type: string;
  zendeskUserId: string;
  externalId: string | null;
  mergedIntoUserId: string | null;
  change: ZendeskChange | null;
  lock?: LockContext;
}

export interface SyncResult {
  outcome:
    | 'synced'
    | 'unchanged'
    | 'superseded'
    | 'echo'
    | 'unlinked'
    | 'gone'
    | 'conflict'
    | 'rejected'
    | 'queued'
    | 'handed-over';
  zendeskWrites: number;
  storeganiseWrites: number;
  notes: string[];
  base?: SyncBase;
  wrote?: Omit<OwnWrites, 'by' | 'at'>;
}

export type LegacyCustomerEvent = { workflowId: string; coalesceKey: string } & (
  | { kind: 'storeganise-user'; event: StoreganiseUserEvent }
  | { kind: 'zendesk-user'; event: ZendeskUserEvent }
  | { kind: 'customer-status'; event: CustomerStatusEvent }
);

export const enqueueEventSignal = defineSignal<[LegacyCustomerEvent]>('enqueueEvent');
export const lockStatusQuery = defineQuery<{ running: string | null; queued: number }>('lockStatus');

type ZendeskLookup =
  | { kind: 'linked'; user: ZendeskCustomer; via: 'pointer' | 'external-id' | 'email'; stalePointer: string | null }
  | { kind: 'none' }
  | { kind: 'deleted'; pointer: string }
  | { kind: 'email-taken'; holder: { zendeskUserId: string; storeganiseUserId: string | null } };
type StoreganiseLookup =
  { kind: 'linked'; customer: StoreganiseCustomer; via: 'external-id' | 'email' } | { kind: 'none'; reason: string };
type InvalidSettings = { kind: 'invalid-settings'; problems: string[] };
interface EmailConflict {
  email: string;
  holder: { zendeskUserId: string; storeganiseUserId: string | null } | null;
}

/** The activities this version called; only their shapes remain, for the code that replays. */
export interface LegacyActivities {
  readForZendeskSync(
    account: AccountRef,
    userId: string,
    fields: readonly SyncField[],
  ): Promise<
    | InvalidSettings
    | { kind: 'gone' }
    | {
        kind: 'ready';
        settings: AccountSettings;
        customer: StoreganiseCustomer;
        status: CustomerStatus | null;
        lookup: ZendeskLookup;
      }
  >;
  readForStoreganiseSync(
    account: AccountRef,
    zendeskUserId: string,
    fields: readonly SyncField[],
  ): Promise<
    | InvalidSettings
    | { kind: 'gone'; reason: string }
    | {
        kind: 'ready';
        settings: AccountSettings;
        user: ZendeskCustomer;
        contacts: ZendeskContacts | null;
        lookup: StoreganiseLookup;
      }
  >;
  createZendeskCustomer(
    account: AccountRef,
    instance: string,
    user: NewZendeskUser,
  ): Promise<
    { outcome: 'created' | 'existed'; user: ZendeskCustomer } | { outcome: 'email-taken'; conflict: EmailConflict }
  >;
  updateZendeskCustomer(
    account: AccountRef,
    instance: string,
    zendeskUserId: string,
    plan: Pick<ZendeskPlan, 'user' | 'primaryEmail'>,
  ): Promise<
    | { outcome: 'written'; userWritten: boolean; emailWritten: boolean; conflict: EmailConflict | null }
    | { outcome: 'rejected'; reason: string }
  >;
  writeStoreganiseCustomer(
    account: AccountRef,
    userId: string,
    changes: StoreganiseUserChanges,
  ): Promise<
    | { outcome: 'written' }
    | {
        outcome: 'email-conflict';
        email: string;
        holder: { storeganiseUserId: string; zendeskUserId: string | null } | null;
      }
  >;
  raiseAdminTaskOnce(account: AccountRef, dedupeParts: string[], task: AdminTask): Promise<'raised' | 'already-raised'>;
  reportZendeskUnauthorized(account: AccountRef, tokenVersion: number, workflowId: string): Promise<PauseDecision>;
  waitForValidSettings(account: AccountRef, workflowId: string, problems: string[]): Promise<PauseDecision>;
  enqueueCustomerEvent(account: AccountRef, customer: string, event: LegacyCustomerEvent): Promise<void>;
  /** The one activity this version still calls: queues its events on the customer's entity workflow. */
  handOverLegacyEvents(account: AccountRef, customer: string, events: LegacyCustomerEvent[]): Promise<void>;
}
