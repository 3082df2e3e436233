import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { accountActivities } from './account';
import { convergeActivities } from './converge';
import { coordinationActivities } from './coordination';
import { withFailureMapping } from './failures';
import { rentalActivities } from './rentals';
import { SyncServices } from './services';

export function createActivities(deps: { config: Config; temporal: Client; logger: Logger }) {
  const services = new SyncServices(deps.config, deps.temporal, deps.logger);
  return withFailureMapping({
    ...accountActivities(services),
    ...coordinationActivities(services),
    ...convergeActivities(services),
    ...rentalActivities(services),
  });
}

export type SyncActivities = ReturnType<typeof createActivities>;
