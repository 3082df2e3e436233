/**
 * Every Storeganise admin task the sync raises, in one place: its title (contract.md fixes them),
 * its text, what it is attached to, and the key that keeps one problem from raising two tasks.
 */

/** A Storeganise admin task (`POST /v1/admin/jobs` with `type: 'task'`). */
export interface AdminTask {
  targetType: 'user' | 'addon';
  targetId: string;
  title: string;
  desc: string;
}

/** A task to raise once per key: the account workflow remembers the keys it raised. */
export interface TaskRequest {
  /** Parts of the dedupe key; hashed before it is stored, so personal data never sits in state in clear. */
  key: string[];
  task: AdminTask;
}

export const AUTHORIZE_TASK_TITLE = 'zendesk: Authorize Zendesk OAuth connection';
export const EMAIL_CONFLICT_TITLE = 'zendesk: Email conflict';
export const INVALID_SETTINGS_TASK_TITLE = 'zendesk: Invalid settings';
export const SYNC_ERROR_TITLE = 'zendesk: Sync error';

export function authorizeTask(addonId: string, link: string): AdminTask {
  return {
    targetType: 'addon',
    targetId: addonId,
    title: AUTHORIZE_TASK_TITLE,
    desc: [
      'The Zendesk sync needs access to your Zendesk account before it can keep customers in sync.',
      `Open this link and approve the request in Zendesk: ${link}`,
      'Changes made meanwhile are kept and applied once access is granted.',
    ].join('\n\n'),
  };
}

export function invalidSettingsTask(addonId: string, problems: readonly string[]): AdminTask {
  return {
    targetType: 'addon',
    targetId: addonId,
    title: INVALID_SETTINGS_TASK_TITLE,
    desc: [
      'The Zendesk sync is paused for this account because of its add-on settings:',
      ...problems.map((p) => `- ${p}`),
      'Fix the settings of the add-on; syncing resumes by itself, and changes made meanwhile are kept.',
    ].join('\n'),
  };
}

export function webhookRegistrationTask(addonId: string, reason: string): AdminTask {
  return {
    targetType: 'addon',
    targetId: addonId,
    title: SYNC_ERROR_TITLE,
    desc: [
      'The Zendesk sync could not register its webhook in Zendesk, so changes made in Zendesk do not reach Storeganise yet.',
      `Reason: ${reason}`,
      'Check that the Zendesk connection was authorized by a Zendesk administrator (authorize again if not). The sync keeps trying, and changes made in Storeganise still reach Zendesk.',
    ].join('\n'),
  };
}

/** The other record already holding an address. */
export interface EmailHolder {
  storeganiseUserId: string | null;
  zendeskUserId: string | null;
}

export interface EmailConflict {
  email: string;
  /** The customer whose change could not be applied. */
  storeganiseUserId: string;
  zendeskUserId: string | null;
  holder: EmailHolder | null;
  /** Which side refused the address. */
  refusedBy: 'Zendesk' | 'Storeganise';
}

export function emailConflictTask(c: EmailConflict): TaskRequest {
  const other = c.holder
    ? `Storeganise user ${c.holder.storeganiseUserId ?? '(none linked)'} / Zendesk user ${c.holder.zendeskUserId ?? '(none linked)'}`
    : 'a record the sync could not identify';
  return {
    key: [
      'email-conflict',
      c.storeganiseUserId,
      c.holder?.zendeskUserId ?? c.holder?.storeganiseUserId ?? '',
      c.email.trim().toLowerCase(),
    ],
    task: {
      targetType: 'user',
      targetId: c.storeganiseUserId,
      title: EMAIL_CONFLICT_TITLE,
      desc: [
        `The email address ${c.email} could not be synced: ${c.refusedBy} already has it on another record. Nothing was overwritten.`,
        `This customer: Storeganise user ${c.storeganiseUserId} / Zendesk user ${c.zendeskUserId ?? '(none linked)'}.`,
        `Other record: ${other}.`,
        'Correct or merge the records, then edit the customer again to resume syncing the email.',
      ].join('\n'),
    },
  };
}

export function syncErrorTask(input: {
  storeganiseUserId: string;
  zendeskUserId: string | null;
  reason: string;
}): TaskRequest {
  return {
    key: ['sync-error', input.storeganiseUserId, input.reason],
    task: {
      targetType: 'user',
      targetId: input.storeganiseUserId,
      title: SYNC_ERROR_TITLE,
      desc: [
        `A change to this customer could not be synced (Storeganise user ${input.storeganiseUserId} / Zendesk user ${input.zendeskUserId ?? '(none linked)'}).`,
        `Reason: ${input.reason}`,
        'Fix the record, then edit the customer again; the other changes were kept.',
      ].join('\n'),
    },
  };
}

/**
 * A customer's run that stopped without syncing: a read refused, or an error the sync does not
 * know (retried a few times first). Keyed by the customer and the kind of failure, so a record
 * that fails on every edit raises one task, not one per edit.
 */
export function runFailedTask(input: {
  addonId: string;
  customer: string;
  failure: string;
  workflowId: string;
}): TaskRequest {
  const [side = '', id = ''] = input.customer.split(':');
  const who = side === 'sg' ? `Storeganise user ${id}` : `Zendesk user ${id} (no Storeganise customer linked)`;
  return {
    key: ['run-failed', input.customer, input.failure],
    task: {
      targetType: side === 'sg' ? 'user' : 'addon',
      targetId: side === 'sg' ? id : input.addonId,
      title: SYNC_ERROR_TITLE,
      desc: [
        `A change to ${who} could not be synced: the run ${input.workflowId} stopped (${input.failure}).`,
        'Nothing was overwritten. The failure and its details are in the run, listed in the sync log and the Temporal UI.',
        'Once the cause is fixed, edit the customer again or re-drive it with POST /operator/accounts/{subdomain}/customers/{userId}/resync.',
      ].join('\n'),
    },
  };
}
