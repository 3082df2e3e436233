import express, { Router } from 'express';
import type { Faults } from '../common/faults';
import type { RequestLog } from '../common/request-log';
import { addonsRouter } from './addons';
import { authenticate, subdomainOfPath } from './auth';
import { customFieldsRouter } from './custom-fields';
import { routeNotFound } from './errors';
import { jobsRouter } from './jobs';
import { rentalsRouter } from './rentals';
import type { AccountRegistry } from './state';
import { usersRouter } from './users';

/** Everything mounted under `/:subdomain/api`: logging and faults first, as a real outage would be. */
export function adminApi(deps: { registry: AccountRegistry; requestLog: RequestLog; faults: Faults }): Router {
  const api = Router();
  api.use(deps.requestLog.middleware(subdomainOfPath));
  api.use(deps.faults.middleware(subdomainOfPath));
  api.use(express.json({ limit: '1mb' }));
  api.use(
    '/v1/admin',
    authenticate(deps.registry),
    usersRouter(deps.registry),
    rentalsRouter(deps.registry),
    jobsRouter(),
    customFieldsRouter(),
    addonsRouter(),
  );
  api.use(routeNotFound);
  return api;
}
