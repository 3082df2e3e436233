/** A Storeganise customer as the sync sees it (adapter output, JSON-safe). */
export interface StoreganiseCustomer {
  id: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  disabled: boolean;
  /** `zendesk_userId`: the linked Zendesk user; kept when that user is deleted so the cause stays visible. */
  zendeskUserId: string | null;
  otherEmails: string[];
  otherPhones: string[];
  /** When the record last changed (ISO), to tell which side edited a field last. */
  updatedAt: string | null;
}

/** A Zendesk user as the sync sees it. Ids are strings: Zendesk ids outgrow 32 bits. */
export interface ZendeskCustomer {
  id: string;
  name: string;
  /** Primary email. */
  email: string | null;
  /** Primary phone. */
  phone: string | null;
  externalId: string | null;
  /** False once the user is deleted (or merged away). */
  active: boolean;
  suspended: boolean;
  notes: string;
  /** Every custom user field of the account, keyed by field key; absent key = field absent. */
  userFields: Record<string, string | number | boolean | null>;
  updatedAt: string | null;
}

/** The non-primary contact details of a Zendesk user, from its identities. */
export interface ZendeskContacts {
  otherEmails: string[];
  otherPhones: string[];
}

/** What an event may have changed; a workflow syncs only these, re-read from the source. */
export const SYNC_FIELDS = ['email', 'name', 'phone', 'status', 'disabled'] as const;
export type SyncField = (typeof SYNC_FIELDS)[number];

export const sameEmail = (a: string | null | undefined, b: string | null | undefined): boolean =>
  (a ?? '').trim().toLowerCase() === (b ?? '').trim().toLowerCase();
