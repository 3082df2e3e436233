import { isStoreganiseId } from '../adapters/storeganise';
import type { AccountRef, StoreganiseRentalEvent } from '../workflows/definitions';
import type { SyncServices } from './services';

export function rentalActivities(services: SyncServices) {
  return {
    /** The customers whose status a rental or job event may have changed. */
    async resolveRentalOwners(
      account: AccountRef,
      event: Pick<StoreganiseRentalEvent, 'unitRentalId' | 'jobId' | 'rentalIds'>,
    ): Promise<string[]> {
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
        if (!isStoreganiseId(id)) continue;
        const rental = await sg.getRental(id);
        if (rental?.ownerId) owners.add(rental.ownerId);
      }
      return [...owners].filter(isStoreganiseId);
    },
  };
}
