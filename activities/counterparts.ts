import { isStoreganiseId, type StoreganiseClient } from '../adapters/storeganise';
import type { ZendeskClient } from '../adapters/zendesk';
import { sameEmail, type StoreganiseCustomer, type ZendeskCustomer } from '../domain/records';
import type { EmailHolder } from '../domain/tasks';

/** Where the Zendesk counterpart of a Storeganise customer was found, if anywhere. */
export type ZendeskLookup =
  | { kind: 'linked'; user: ZendeskCustomer; via: 'pointer' | 'external-id' | 'email'; stalePointer: string | null }
  /** Never linked and nobody holds the address: create. */
  | { kind: 'none' }
  /** The linked user was deleted (or is gone) and no active user holds the address: respect the deletion. */
  | { kind: 'deleted'; pointer: string }
  /** The address belongs to a Zendesk user linked to another Storeganise customer. */
  | { kind: 'email-taken'; holder: EmailHolder };

export type StoreganiseLookup =
  { kind: 'linked'; customer: StoreganiseCustomer; via: 'external-id' | 'email' } | { kind: 'none'; reason: string };

/** Whether a Zendesk user is this customer's: its external id says so, or, unset, its email does. */
export const isCounterpart = (user: ZendeskCustomer, sg: StoreganiseCustomer): boolean =>
  user.externalId !== null
    ? user.externalId.toLowerCase() === sg.id.toLowerCase()
    : sg.email !== null && sameEmail(user.email, sg.email);

/** The active user holding the address, preferring the one whose primary it is. */
export async function emailHolder(zendesk: ZendeskClient, email: string | null): Promise<ZendeskCustomer | null> {
  if (!email) return null;
  const holders = await zendesk.findUsersByEmail(email);
  return holders.find((u) => sameEmail(u.email, email)) ?? holders[0] ?? null;
}

/** Stored pointer first (one call); then the external id and the email, as product spec §4.4 orders. */
export async function findZendeskCounterpart(
  zendesk: ZendeskClient,
  sg: StoreganiseCustomer,
  pointed?: ZendeskCustomer | null,
): Promise<ZendeskLookup> {
  if (sg.zendeskUserId !== null) {
    const user =
      pointed !== undefined && pointed?.id === sg.zendeskUserId ? pointed : await zendesk.getUser(sg.zendeskUserId);
    if (user && user.active && isCounterpart(user, sg))
      return { kind: 'linked', user, via: 'pointer', stalePointer: null };
    const holder = await emailHolder(zendesk, sg.email);
    if (holder && (holder.externalId === null || holder.externalId.toLowerCase() === sg.id.toLowerCase())) {
      return { kind: 'linked', user: holder, via: 'email', stalePointer: sg.zendeskUserId };
    }
    return { kind: 'deleted', pointer: sg.zendeskUserId };
  }
  const byExternalId = await zendesk.findUserByExternalId(sg.id);
  if (byExternalId) return { kind: 'linked', user: byExternalId, via: 'external-id', stalePointer: null };
  const holder = await emailHolder(zendesk, sg.email);
  if (holder === null) return { kind: 'none' };
  if (holder.externalId === null) return { kind: 'linked', user: holder, via: 'email', stalePointer: null };
  return { kind: 'email-taken', holder: { zendeskUserId: holder.id, storeganiseUserId: holder.externalId } };
}

/**
 * The Storeganise counterpart of a Zendesk user: by external id, then by primary email. A
 * Storeganise customer already linked to another live Zendesk user is never taken over.
 */
export async function findStoreganiseCounterpart(
  sg: StoreganiseClient,
  zendesk: ZendeskClient,
  zd: ZendeskCustomer,
): Promise<StoreganiseLookup> {
  const pointsElsewhereAlive = async (customer: StoreganiseCustomer): Promise<boolean> => {
    if (customer.zendeskUserId === null || customer.zendeskUserId === zd.id) return false;
    const other = await zendesk.getUser(customer.zendeskUserId);
    return other !== null && other.active && isCounterpart(other, customer);
  };
  // An agent can type anything into an external id; only a Storeganise-shaped one is looked up.
  if (zd.externalId !== null && isStoreganiseId(zd.externalId)) {
    const customer = await sg.getUser(zd.externalId);
    if (customer && !(await pointsElsewhereAlive(customer))) return { kind: 'linked', customer, via: 'external-id' };
  }
  if (zd.email === null) return { kind: 'none', reason: 'the Zendesk user has no email and no matching external id' };
  for (const customer of await sg.findUsersByEmail(zd.email)) {
    if (!(await pointsElsewhereAlive(customer))) return { kind: 'linked', customer, via: 'email' };
  }
  return { kind: 'none', reason: 'no Storeganise customer has this primary email' };
}
