import { StoreganiseConflict } from '../adapters/storeganise';
import type { StoreganiseUserChanges } from '../domain/plan';
import type { AccountRef, StoreganiseRentalEvent } from '../workflows/definitions';
import type { SyncServices } from './services';

export type StoreganiseWrite =
  | { outcome: 'written' }
  | { outcome: 'email-conflict'; email: string; holder: { storeganiseUserId: string; zendeskUserId: string | null } | null };

export function storeganiseActivities(services: SyncServices) {
  return {
    /** One `PUT`; a taken email comes back as a conflict naming the holder instead of an error. */
    async writeStoreganiseCustomer(account: AccountRef, userId: string, changes: StoreganiseUserChanges): Promise<StoreganiseWrite> {
      const sg = services.storeganise(account);
      try {
        await sg.updateUser(userId, changes);
        return { outcome: 'written' };
      } catch (err) {
        if (!(err instanceof StoreganiseConflict) || changes.email === undefined) throw err;
        const holder = (await sg.findUsersByEmail(changes.email)).find((u) => u.id !== userId) ?? null;
        return {
          outcome: 'email-conflict',
          email: changes.email,
          holder: holder && { storeganiseUserId: holder.id, zendeskUserId: holder.zendeskUserId },
        };
      }
    },

    /** The customers whose status a rental or job event may have changed. */
    async resolveRentalOwners(account: AccountRef, event: Pick<StoreganiseRentalEvent, 'unitRentalId' | 'jobId' | 'rentalIds'>): Promise<string[]> {
      const sg = services.storeganise(account);
      const owners = new Set<string>();
      const rentalIds = new Set([...(event.unitRentalId ? [event.unitRentalId] : []), ...event.rentalIds]);
      if (event.jobId) {
        const job = await sg.getJob(event.jobId);
        if (job?.ownerId) owners.add(job.ownerId);
        for (const source of [job?.data, job?.result]) {
          for (const key of ['unitRentalId', 'oldRentalId', 'newRentalId']) {
            const value = source?.[key];
            if (typeof value === 'string') rentalIds.add(value);
          }
          const ownerId = source?.ownerId;
          if (typeof ownerId === 'string') owners.add(ownerId);
        }
      }
      for (const id of rentalIds) {
        const rental = await sg.getRental(id);
        if (rental?.ownerId) owners.add(rental.ownerId);
      }
      return [...owners];
    },
  };
}
