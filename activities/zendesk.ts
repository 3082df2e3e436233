import { ZendeskDuplicateValue, type ZendeskClient } from '../adapters/zendesk';
import type { NewZendeskUser, ZendeskPlan } from '../domain/plan';
import { sameEmail, type ZendeskCustomer } from '../domain/records';
import type { AccountRef } from '../workflows/definitions';
import type { SyncServices } from './services';

export type ZendeskWrite =
  | { outcome: 'written'; userWritten: boolean; emailWritten: boolean; conflict: EmailConflict | null }
  | { outcome: 'rejected'; reason: string };

export interface EmailConflict {
  email: string;
  holder: { zendeskUserId: string; storeganiseUserId: string | null } | null;
}

/** The active user holding the address, preferring the one whose primary it is. */
export async function emailHolder(zendesk: ZendeskClient, email: string | null): Promise<ZendeskCustomer | null> {
  if (!email) return null;
  const holders = await zendesk.findUsersByEmail(email);
  return holders.find((u) => sameEmail(u.email, email)) ?? holders[0] ?? null;
}

export function zendeskActivities(services: SyncServices) {
  return {
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

  };
}
