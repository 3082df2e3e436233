import { normaliseWhitespace } from '../../domain/names';
import type { StoreganiseUserChanges } from './plan';

/**
 * Recognising the echo of the sync's own write: the webhook a write on one side triggers comes
 * back describing exactly the value just written. Such an event has nothing to read or write.
 * Skipping it is safe because it never hides a newer value: a later edit on either side arrives
 * with its own event, which re-reads both records.
 */

/** What a Zendesk user event says changed, as far as the sync writes that field. */
export type ZendeskChange =
  { field: 'created' } | { field: 'name' | 'email' | 'phone' | 'external_id'; value: string } | { field: 'other' };

/** What one event's run wrote, remembered by the customer's lock for a short while. */
export interface OwnWrites {
  /** Workflow id of the run that wrote. */
  by: string;
  /** Epoch ms (workflow time). */
  at: number;
  zendesk: {
    userId: string;
    created: boolean;
    name?: string;
    phone?: string;
    email?: string;
    externalId?: string;
  } | null;
  /** The changed keys Storeganise will report for the write, not yet matched by an event. */
  storeganiseKeys: string[] | null;
}

/** Echoes come within seconds; after this, an event is treated as news. */
export const ECHO_WINDOW_MS = 120_000;

const compact = (value: string): string => value.replace(/[\s()-]/g, '');
const sameKeys = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

export function isZendeskEcho(
  writes: OwnWrites | null,
  zendeskUserId: string,
  change: ZendeskChange | null,
  now: number,
): boolean {
  const written = writes?.zendesk;
  if (!writes || !written || written.userId !== zendeskUserId || change === null || now - writes.at > ECHO_WINDOW_MS)
    return false;
  switch (change.field) {
    case 'created':
      return written.created;
    case 'name':
      return written.name !== undefined && normaliseWhitespace(written.name) === normaliseWhitespace(change.value);
    case 'email':
      return written.email !== undefined && written.email.toLowerCase() === change.value.trim().toLowerCase();
    case 'phone':
      return written.phone !== undefined && compact(written.phone) === compact(change.value);
    case 'external_id':
      return written.externalId !== undefined && written.externalId.toLowerCase() === change.value.trim().toLowerCase();
    case 'other':
      return false;
  }
}

export function isStoreganiseEcho(
  writes: OwnWrites | null,
  changedKeys: readonly string[] | null,
  now: number,
): boolean {
  const keys = writes?.storeganiseKeys;
  return !!writes && !!keys && changedKeys !== null && now - writes.at <= ECHO_WINDOW_MS && sameKeys(keys, changedKeys);
}

/** The changed keys Storeganise reports for a user write: dotted paths for custom fields. */
export function changedKeysOf(changes: StoreganiseUserChanges): string[] {
  const { customFields, ...plain } = changes;
  return [...Object.keys(plain), ...Object.keys(customFields ?? {}).map((key) => `customFields.${key}`)];
}
