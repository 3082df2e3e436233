import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { accountActivities } from './account';
import { coordinationActivities } from './coordination';
import { readActivities } from './reads';
import { withFailureMapping } from './failures';
import { SyncServices } from './services';
import { storeganiseActivities } from './storeganise';
import { zendeskActivities } from './zendesk';

export function createActivities(deps: { config: Config; temporal: Client; logger: Logger }) {
  const services = new SyncServices(deps.config, deps.temporal, deps.logger);
  return withFailureMapping({
    ...accountActivities(services),
    ...coordinationActivities(services),
    ...readActivities(services),
    ...storeganiseActivities(services),
    ...zendeskActivities(services),
  });
}

export type SyncActivities = ReturnType<typeof createActivities>;
