import type { AdminTask } from '../adapters/storeganise';

export const EMAIL_CONFLICT_TITLE = 'zendesk: Email conflict';
export const SYNC_ERROR_TITLE = 'zendesk: Sync error';

export interface ConflictRecords {
  email: string;
  /** The customer whose change could not be applied. */
  storeganiseUserId: string;
  zendeskUserId: string | null;
  /** The other record that already holds the address. */
  holder: { storeganiseUserId: string | null; zendeskUserId: string | null } | null;
  /** Which side refused the address. */
  refusedBy: 'Zendesk' | 'Storeganise';
}

export function emailConflictTask(c: ConflictRecords): AdminTask {
  const other = c.holder
    ? `Storeganise user ${c.holder.storeganiseUserId ?? '(none linked)'} / Zendesk user ${c.holder.zendeskUserId ?? '(none linked)'}`
    : 'a record the sync could not identify';
  return {
    targetType: 'user',
    targetId: c.storeganiseUserId,
    title: EMAIL_CONFLICT_TITLE,
    desc: [
      `The email address ${c.email} could not be synced: ${c.refusedBy} already has it on another record. Nothing was overwritten.`,
      `This customer: Storeganise user ${c.storeganiseUserId} / Zendesk user ${c.zendeskUserId ?? '(none linked)'}.`,
      `Other record: ${other}.`,
      'Correct or merge the records, then edit the customer again to resume syncing the email.',
    ].join('\n'),
  };
}

export function syncErrorTask(input: { storeganiseUserId: string; zendeskUserId: string | null; reason: string }): AdminTask {
  return {
    targetType: 'user',
    targetId: input.storeganiseUserId,
    title: SYNC_ERROR_TITLE,
    desc: [
      `A change to this customer could not be synced (Storeganise user ${input.storeganiseUserId} / Zendesk user ${input.zendeskUserId ?? '(none linked)'}).`,
      `Reason: ${input.reason}`,
      'Fix the record, then edit the customer again; the other changes were kept.',
    ].join('\n'),
  };
}
