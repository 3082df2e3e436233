import { createHash, randomBytes } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { fillTemplate } from '../adapters/http';
import { ZendeskGrantRefused, ZendeskOAuth, ZendeskUnavailable } from '../adapters/zendesk';
import { sealGrant } from '../client/grants';
import type { AccountSettingsSource } from '../client/account-settings';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { accountQuery, accountWorkflowId, storeGrantUpdate } from '../workflows/definitions';
import type { AccountDirectory } from '../client/accounts';
import { page } from './pages';

/** How long an authorize link's round trip through Zendesk may take. */
const STATE_TTL_MS = 15 * 60_000;

const StateSchema = z.object({ account: z.string(), nonce: z.string(), expiresAt: z.number(), verifier: z.string() });
type OAuthState = z.infer<typeof StateSchema>;

/** `state` is sealed with ENCRYPTION_KEY: bound to the account, expiring, and carrying the PKCE verifier unseen. */
function issueState(config: Config, account: string, now = Date.now()): { state: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  const payload: OAuthState = {
    account,
    nonce: randomBytes(16).toString('base64url'),
    expiresAt: now + STATE_TTL_MS,
    verifier,
  };
  return {
    state: config.keyring.seal(JSON.stringify(payload)),
    challenge: createHash('sha256').update(verifier).digest('base64url'),
  };
}

function readState(config: Config, state: string): OAuthState | null {
  try {
    return StateSchema.parse(JSON.parse(config.keyring.unseal(state)));
  } catch {
    return null;
  }
}

export const callbackUrl = (config: Config): string => `${config.publicUrl}/oauth/zendesk/callback`;

/** The operator's one click: consent in Zendesk, then the grant is stored and paused work resumes. */
export function oauthRouter(deps: {
  client: Client;
  config: Config;
  directory: AccountDirectory;
  settings: AccountSettingsSource;
  logger: Logger;
}): Router {
  const { client, config, directory, settings, logger } = deps;
  const router = express.Router();
  const oauthFor = (instance: string) =>
    new ZendeskOAuth(
      fillTemplate(config.zendesk.urlTemplate, instance),
      config.zendesk.clientId,
      config.zendesk.clientSecret,
    );
  const fail = (res: Response, status: number, title: string, ...lines: string[]): void => {
    res
      .status(status)
      .type('html')
      .send(page(title, ...lines));
  };

  router.get('/oauth/zendesk/authorize', async (req: Request, res: Response) => {
    const subdomain = typeof req.query.account === 'string' ? req.query.account.toLowerCase() : '';
    if (subdomain === '')
      return fail(res, 400, 'Missing account', 'The link must name the Storeganise account: ?account=<subdomain>.');
    // Anyone can open this link: only what the directory holds, refreshed at most once a second in all.
    if (directory.peek(subdomain) === undefined) await directory.refreshAll();
    const view = directory.peek(subdomain) ?? null;
    if (view === null)
      return fail(res, 404, 'Unknown account', `No Storeganise account "${subdomain}" uses this add-on here.`);
    const result = await settings.get({ subdomain, apiUrl: view.apiUrl, addonId: view.addonId }, { fresh: true });
    if (!result.ok)
      return fail(
        res,
        400,
        'Fix the add-on settings first',
        'The Zendesk connection needs valid settings:',
        ...result.problems,
      );
    const { state, challenge } = issueState(config, subdomain);
    res.redirect(
      302,
      oauthFor(result.settings.zendeskInstance).authorizeUrl({
        redirectUri: callbackUrl(config),
        state,
        codeChallenge: challenge,
      }),
    );
  });

  router.get('/oauth/zendesk/callback', async (req: Request, res: Response) => {
    const rawState = typeof req.query.state === 'string' ? req.query.state : '';
    const state = rawState === '' ? null : readState(config, rawState);
    if (state === null)
      return fail(
        res,
        400,
        'Invalid authorization link',
        'This answer from Zendesk does not belong to a link issued here. Start again from the admin task.',
      );
    if (state.expiresAt < Date.now())
      return fail(res, 400, 'Authorization link expired', 'Start again from the admin task.');
    const view = await directory.get(state.account, { fresh: true });
    if (view === null)
      return fail(res, 400, 'Unknown account', `No Storeganise account "${state.account}" uses this add-on here.`);
    const { usedStateNonces } = await client.workflow.getHandle(accountWorkflowId(state.account)).query(accountQuery);
    if (usedStateNonces.includes(state.nonce))
      return fail(
        res,
        400,
        'Authorization link already used',
        'Start again from the admin task if you need to reconnect.',
      );
    if (typeof req.query.error === 'string') {
      return fail(
        res,
        400,
        'Zendesk access was not granted',
        `Zendesk answered: ${req.query.error}. Nothing changed; open the link in the admin task again to retry.`,
      );
    }
    const code = typeof req.query.code === 'string' ? req.query.code : '';
    if (code === '')
      return fail(
        res,
        400,
        'Missing authorization code',
        'Zendesk did not send a code. Start again from the admin task.',
      );

    const account = { subdomain: state.account, apiUrl: view.apiUrl, addonId: view.addonId };
    const result = await settings.get(account);
    if (!result.ok) return fail(res, 400, 'Fix the add-on settings first', ...result.problems);
    let tokens;
    const issuedAt = Date.now();
    try {
      tokens = await oauthFor(result.settings.zendeskInstance).exchangeCode(
        code,
        callbackUrl(config),
        state.verifier,
        issuedAt,
      );
    } catch (err) {
      if (err instanceof ZendeskGrantRefused)
        return fail(res, 400, 'Zendesk refused the authorization', err.message, 'Start again from the admin task.');
      if (err instanceof ZendeskUnavailable)
        return fail(res, 502, 'Zendesk could not be reached', 'Try the link again in a minute.');
      throw err;
    }
    try {
      await client.workflow.getHandle(accountWorkflowId(state.account)).executeUpdate(storeGrantUpdate, {
        args: [
          {
            stateNonce: state.nonce,
            stateExpiresAt: state.expiresAt,
            grant: sealGrant(config.keyring, tokens, issuedAt),
          },
        ],
      });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError)
        return fail(
          res,
          400,
          'Authorization link already used',
          'Start again from the admin task if you need to reconnect.',
        );
      throw err;
    }
    directory.invalidate(state.account);
    logger.info('zendesk authorized', { account: state.account });
    res
      .status(200)
      .type('html')
      .send(
        page(
          'Zendesk is connected',
          `Storeganise account "${state.account}" now syncs with Zendesk. Paused changes are being applied. You can close this page.`,
        ),
      );
  });

  return router;
}
