import { contactsOf, type ZendeskClient } from '../adapters/zendesk';
import type { StoreganiseClient } from '../adapters/storeganise';
import { sameEmail, type StoreganiseCustomer, type SyncField, type ZendeskContacts, type ZendeskCustomer } from '../domain/records';
import type { AccountSettings } from '../domain/settings';
import { customerStatus, type CustomerStatus } from '../domain/status';
import type { AccountRef } from '../workflows/definitions';
import type { SyncServices } from './services';
import { emailHolder } from './zendesk';

/** Where the Zendesk counterpart of a Storeganise customer was found, if anywhere. */
export type ZendeskLookup =
  | { kind: 'linked'; user: ZendeskCustomer; via: 'pointer' | 'external-id' | 'email'; stalePointer: string | null }
  /** Never linked and nobody holds the address: create. */
  | { kind: 'none' }
  /** The linked user was deleted (or is gone) and no active user holds the address: respect the deletion. */
  | { kind: 'deleted'; pointer: string }
  /** The address belongs to a Zendesk user linked to another Storeganise customer. */
  | { kind: 'email-taken'; holder: { zendeskUserId: string; storeganiseUserId: string | null } };

export type StoreganiseLookup =
  | { kind: 'linked'; customer: StoreganiseCustomer; via: 'external-id' | 'email' }
  | { kind: 'none'; reason: string };

type InvalidSettings = { kind: 'invalid-settings'; problems: string[] };

/** Everything a Storeganise → Zendesk run reads, in one step. */
export type ZendeskSyncRead =
  | InvalidSettings
  | { kind: 'gone' }
  | { kind: 'ready'; settings: AccountSettings; customer: StoreganiseCustomer; status: CustomerStatus | null; lookup: ZendeskLookup };

/** Everything a Zendesk → Storeganise run reads, in one step. */
export type StoreganiseSyncRead =
  | InvalidSettings
  | { kind: 'gone'; reason: string }
  | { kind: 'ready'; settings: AccountSettings; user: ZendeskCustomer; contacts: ZendeskContacts | null; lookup: StoreganiseLookup };

const isOurs = (user: ZendeskCustomer, sg: StoreganiseCustomer): boolean =>
  user.externalId !== null ? user.externalId.toLowerCase() === sg.id.toLowerCase() : sg.email !== null && sameEmail(user.email, sg.email);

/** Stored pointer first (one call); then the external id and the email, as product spec §4.4 orders. */
async function findZendeskCounterpart(zendesk: ZendeskClient, sg: StoreganiseCustomer): Promise<ZendeskLookup> {
  if (sg.zendeskUserId !== null) {
    const pointed = await zendesk.getUser(sg.zendeskUserId);
    if (pointed && pointed.active && isOurs(pointed, sg)) return { kind: 'linked', user: pointed, via: 'pointer', stalePointer: null };
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
async function findStoreganiseCounterpart(sg: StoreganiseClient, zendesk: ZendeskClient, zd: ZendeskCustomer): Promise<StoreganiseLookup> {
  const pointsElsewhereAlive = async (customer: StoreganiseCustomer): Promise<boolean> => {
    if (customer.zendeskUserId === null || customer.zendeskUserId === zd.id) return false;
    const other = await zendesk.getUser(customer.zendeskUserId);
    return other !== null && other.active && isOurs(other, customer);
  };
  if (zd.externalId !== null) {
    const customer = await sg.getUser(zd.externalId);
    if (customer && !(await pointsElsewhereAlive(customer))) return { kind: 'linked', customer, via: 'external-id' };
  }
  if (zd.email === null) return { kind: 'none', reason: 'the Zendesk user has no email and no matching external id' };
  for (const customer of await sg.findUsersByEmail(zd.email)) {
    if (!(await pointsElsewhereAlive(customer))) return { kind: 'linked', customer, via: 'email' };
  }
  return { kind: 'none', reason: 'no Storeganise customer has this primary email' };
}

/**
 * The reads of a run, each in one activity: one workflow activation instead of one per call,
 * and a retry (after an outage or a new authorization) simply reads everything again.
 */
export function readActivities(services: SyncServices) {
  return {
    async readForZendeskSync(account: AccountRef, userId: string, fields: readonly SyncField[]): Promise<ZendeskSyncRead> {
      const result = await services.settings(account);
      if (!result.ok) return { kind: 'invalid-settings', problems: result.problems };
      const { settings } = result;
      const sg = services.storeganise(account);
      const customer = await sg.getUser(userId);
      if (customer === null) return { kind: 'gone' };
      const withStatus = settings.statusFieldKey !== null && (fields.includes('status') || fields.includes('disabled'));
      const status = withStatus ? customerStatus({ disabled: customer.disabled, rentalStates: (await sg.listRentalsOf(userId)).map((r) => r.state) }) : null;
      const lookup = await services.withZendesk(account, settings.zendeskInstance, (zendesk) => findZendeskCounterpart(zendesk, customer));
      return { kind: 'ready', settings, customer, status, lookup };
    },

    async readForStoreganiseSync(account: AccountRef, zendeskUserId: string, fields: readonly SyncField[]): Promise<StoreganiseSyncRead> {
      const result = await services.settings(account);
      if (!result.ok) return { kind: 'invalid-settings', problems: result.problems };
      const { settings } = result;
      return services.withZendesk(account, settings.zendeskInstance, async (zendesk): Promise<StoreganiseSyncRead> => {
        const user = await zendesk.getUser(zendeskUserId);
        if (user === null) return { kind: 'gone', reason: 'the Zendesk user no longer exists' };
        if (!user.active) return { kind: 'gone', reason: 'the Zendesk user is deleted: nothing to sync' };
        const withContacts = fields.includes('email') || fields.includes('phone');
        const contacts = withContacts ? contactsOf(await zendesk.listIdentities(zendeskUserId)) : null;
        const lookup = await findStoreganiseCounterpart(services.storeganise(account), zendesk, user);
        return { kind: 'ready', settings, user, contacts, lookup };
      });
    },
  };
}
