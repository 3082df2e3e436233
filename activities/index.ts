import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { accountActivities } from './account';
import { bulkActivities } from './bulk';
import { convergeActivities } from './converge';
import { coordinationActivities } from './coordination';
import { withFailureMapping } from './failures';
import { rentalActivities } from './rentals';
import { SyncServices } from './services';

export function createActivities(deps: { config: Config; temporal: Client; logger: Logger }) {
  const services = new SyncServices(deps.config, deps.temporal, deps.logger);
  return withFailureMapping(
    {
      ...accountActivities(services),
      ...bulkActivities(services),
      ...coordinationActivities(services),
      ...convergeActivities(services),
      ...rentalActivities(services),
      // A customer's run gives up on an unexpected error after a bound and raises a task (workflows/sync-customer.ts).
    },
    ['convergeCustomer'],
  );
}

export type SyncActivities = ReturnType<typeof createActivities>;
