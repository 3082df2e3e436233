import { Router } from 'express';
import { requestAccount } from './auth';
import { notFound } from './errors';
import type { SandboxAddon } from './records';
import type { Account } from './state';

export const ADDON_NAME = 'Zendesk user sync';

export const addonView = (account: Account): SandboxAddon => ({
  id: account.addonId,
  name: ADDON_NAME,
  state: account.addonState,
  customFields: structuredClone(account.settings),
  created: account.created,
  updated: account.settingsUpdated,
});

export function addonsRouter(): Router {
  const router = Router();
  router.get('/addons/:addonId', (req, res) => {
    const account = requestAccount(req);
    // Each business has exactly one add-on installed here: any other id is unknown to it.
    if (req.params.addonId !== account.addonId) throw notFound('Add-on', req.params.addonId);
    res.json(addonView(account));
  });
  return router;
}
