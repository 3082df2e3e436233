import { ZendeskDuplicateValue, contactsOf, type ZendeskClient } from '../adapters/zendesk';
import type { NewZendeskUser, ZendeskPlan } from '../domain/plan';
import { sameEmail, type StoreganiseCustomer, type ZendeskContacts, type ZendeskCustomer } from '../domain/records';
import type { AccountRef } from '../workflows/definitions';
import type { SyncServices } from './services';

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

export type ZendeskWrite =
  | { outcome: 'written'; userWritten: boolean; emailWritten: boolean; conflict: EmailConflict | null }
  | { outcome: 'rejected'; reason: string };

export interface EmailConflict {
  email: string;
  holder: { zendeskUserId: string; storeganiseUserId: string | null } | null;
}

const isOurs = (user: ZendeskCustomer, sg: StoreganiseCustomer): boolean =>
  user.externalId !== null ? user.externalId.toLowerCase() === sg.id.toLowerCase() : sg.email !== null && sameEmail(user.email, sg.email);

async function emailHolder(zendesk: ZendeskClient, email: string | null): Promise<ZendeskCustomer | null> {
  if (!email) return null;
  const holders = await zendesk.findUsersByEmail(email);
  return holders.find((u) => sameEmail(u.email, email)) ?? holders[0] ?? null;
}

export function zendeskActivities(services: SyncServices) {
  return {
    /** The user and, when asked, its other emails and phones (one more call, to the identities). */
    async readZendeskCustomer(
      account: AccountRef,
      instance: string,
      zendeskUserId: string,
      options: { withContacts: boolean },
    ): Promise<{ user: ZendeskCustomer | null; contacts: ZendeskContacts | null }> {
      return services.withZendesk(account, instance, async (zendesk) => {
        const user = await zendesk.getUser(zendeskUserId);
        if (user === null || !user.active || !options.withContacts) return { user, contacts: null };
        return { user, contacts: contactsOf(await zendesk.listIdentities(zendeskUserId)) };
      });
    },

    /** Stored pointer first (one call); then the external id and the email, as product spec §4.4 orders. */
    async findZendeskCounterpart(account: AccountRef, instance: string, sg: StoreganiseCustomer): Promise<ZendeskLookup> {
      return services.withZendesk(account, instance, async (zendesk) => {
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
      });
    },

    /** Creates the user in one request; a retry after a lost answer finds the user by external id instead of creating twice. */
    async createZendeskCustomer(
      account: AccountRef,
      instance: string,
      user: NewZendeskUser,
    ): Promise<{ outcome: 'created' | 'existed'; user: ZendeskCustomer } | { outcome: 'email-taken'; conflict: EmailConflict }> {
      return services.withZendesk(account, instance, async (zendesk) => {
        try {
          return { outcome: 'created', user: await zendesk.createUser(user) };
        } catch (err) {
          if (!(err instanceof ZendeskDuplicateValue)) throw err;
          const existing = await zendesk.findUserByExternalId(user.externalId);
          if (existing) return { outcome: 'existed', user: existing };
          const holder = await emailHolder(zendesk, user.email);
          return {
            outcome: 'email-taken',
            conflict: { email: user.email ?? '', holder: holder && { zendeskUserId: holder.id, storeganiseUserId: holder.externalId } },
          };
        }
      });
    },

    /** The planned user update (one PUT), then a primary-email change through the identities API when needed. */
    async updateZendeskCustomer(account: AccountRef, instance: string, zendeskUserId: string, plan: Pick<ZendeskPlan, 'user' | 'primaryEmail'>): Promise<ZendeskWrite> {
      return services.withZendesk(account, instance, async (zendesk) => {
        let userWritten = false;
        if (Object.keys(plan.user).length > 0) {
          try {
            await zendesk.updateUser(zendeskUserId, plan.user);
            userWritten = true;
          } catch (err) {
            if (err instanceof ZendeskDuplicateValue) return { outcome: 'rejected', reason: `Zendesk refused the update: ${err.message}` };
            throw err;
          }
        }
        if (plan.primaryEmail === null) return { outcome: 'written', userWritten, emailWritten: false, conflict: null };
        try {
          await zendesk.changePrimaryEmail(zendeskUserId, plan.primaryEmail, await zendesk.listIdentities(zendeskUserId));
          return { outcome: 'written', userWritten, emailWritten: true, conflict: null };
        } catch (err) {
          if (!(err instanceof ZendeskDuplicateValue)) throw err;
          const holder = (await zendesk.findUsersByEmail(plan.primaryEmail)).find((u) => u.id !== zendeskUserId) ?? null;
          return {
            outcome: 'written',
            userWritten,
            emailWritten: false,
            conflict: { email: plan.primaryEmail, holder: holder && { zendeskUserId: holder.id, storeganiseUserId: holder.externalId } },
          };
        }
      });
    },

    /**
     * The Storeganise counterpart of a Zendesk user: by external id, then by primary email. A
     * Storeganise customer already linked to another live Zendesk user is never taken over.
     */
    async findStoreganiseCounterpart(account: AccountRef, instance: string, zd: ZendeskCustomer): Promise<StoreganiseLookup> {
      const sg = services.storeganise(account);
      const pointsElsewhereAlive = async (customer: StoreganiseCustomer): Promise<boolean> => {
        if (customer.zendeskUserId === null || customer.zendeskUserId === zd.id) return false;
        const other = await services.withZendesk(account, instance, (zendesk) => zendesk.getUser(customer.zendeskUserId ?? ''));
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
    },
  };
}
