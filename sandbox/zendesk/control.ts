import { Router, type Request } from 'express';
import { z } from 'zod';
import { ChangesQuerySchema } from '../common/change-log';
import { FaultSettingsSchema } from '../common/faults';
import { addIdentity, makeIdentityPrimary } from './identities';
import { accountBaseUrl, HttpError, issueDetails, parseInput } from './http';
import { OAuthClientSchema, tokenResponse } from './oauth';
import { identityFromParam, identityJson, userFromParam, userJson } from './records';
import { applySettings, DEFAULT_ACCOUNT_SETTINGS, ZendeskAccount, type SandboxContext, type UserRecord } from './state';
import { UserFieldDefinitionSchema, upsertUserField, userFieldJson } from './user-fields';
import { createUser, deleteUser, mergeUsers, updateUser, UserWriteSchema } from './users';
import { registerWebhook, webhookJson } from './webhooks';
import {
  AccountSettingsPatchSchema,
  IdentityTypeSchema,
  type AccountInfo,
  type OAuthLog,
  type SandboxWebhook,
  type SandboxZendeskUser,
} from './wire';

const AccountInputSchema = AccountSettingsPatchSchema.extend({
  userFields: z.array(UserFieldDefinitionSchema).optional(),
});

export const CreateAccountSchema = AccountInputSchema.extend({
  subdomain: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'a subdomain holds letters, digits and dashes'),
  accountId: z.number().int().min(1).optional(),
});

const NewIdentitySchema = z.object({ type: IdentityTypeSchema, value: z.string(), verified: z.boolean().optional() });
const MergeSchema = z.object({ intoUserId: z.number().int() });
const IssueTokenSchema = z.object({ scopes: z.array(z.string()).optional(), clientId: z.string().optional() });
const RequestFilterSchema = z.object({
  account: z.string().optional(),
  method: z.string().optional(),
  path: z.string().optional(),
  sinceSeq: z.coerce.number().int().min(0).optional(),
});

function invalidControlInput(issues: readonly z.core.$ZodIssue[]): HttpError {
  return new HttpError(400, {
    error: 'InvalidRequest',
    description: 'Invalid control request',
    details: issueDetails(issues),
  });
}

function parseControl<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return parseInput(schema, value, invalidControlInput);
}

export function sandboxUserJson(base: string, account: ZendeskAccount, user: UserRecord): SandboxZendeskUser {
  return {
    ...userJson(base, account, user),
    identities: account.identitiesOf(user.id).map((i) => identityJson(base, i)),
  };
}

function accountInfo(base: string, account: ZendeskAccount): AccountInfo {
  return {
    subdomain: account.subdomain,
    accountId: account.accountId,
    settings: account.settings,
    userFields: [...account.userFields.values()].map((f) => userFieldJson(base, f)),
    userCount: account.users.size,
    webhookCount: account.webhooks.size,
  };
}

function sandboxWebhookJson(account: ZendeskAccount, id: string): SandboxWebhook {
  const webhook = account.webhooks.get(id);
  if (!webhook) throw new HttpError(404, { error: 'NotFound', description: `No webhook ${id}` });
  return { ...webhookJson(webhook), signingSecret: webhook.signingSecret };
}

/** The sandbox's own API: seed and inspect accounts, act as a Zendesk agent or admin, inject faults. */
export function controlRoutes(ctx: SandboxContext): Router {
  const router = Router();
  const accountFrom = (req: Request<{ sub: string }>): ZendeskAccount => {
    const account = ctx.state.accounts.get(req.params.sub);
    if (!account) throw new HttpError(404, { error: 'NotFound', description: `No sandbox account ${req.params.sub}` });
    return account;
  };

  router.post('/reset', (_req, res) => {
    ctx.state.reset();
    ctx.oauth.reset();
    ctx.faults.clear();
    ctx.requestLog.clear();
    ctx.outbox.clear();
    res.status(204).end();
  });

  router.post('/idle', async (_req, res) => {
    await ctx.outbox.idle();
    res.status(204).end();
  });

  router.post('/oauth-clients', (req, res) => {
    const client = parseControl(OAuthClientSchema, req.body);
    ctx.oauth.clients.set(client.clientId, client);
    res.status(201).json({ clientId: client.clientId, redirectUris: client.redirectUris, name: client.name ?? null });
  });

  router.get('/requests', (req, res) => {
    const filter = parseControl(RequestFilterSchema, req.query);
    res.json({ requests: ctx.requestLog.list(filter), lastSeq: ctx.requestLog.lastSeq });
  });

  router.post('/accounts', (req, res) => {
    const input = parseControl(CreateAccountSchema, req.body);
    if (ctx.state.accounts.has(input.subdomain)) {
      throw new HttpError(409, { error: 'Conflict', description: `Account ${input.subdomain} already exists` });
    }
    const { subdomain, accountId, userFields, ...settings } = input;
    const account = new ZendeskAccount(
      subdomain,
      accountId ?? ctx.state.nextAccountId(),
      ctx.state.nextId(),
      applySettings(DEFAULT_ACCOUNT_SETTINGS, settings),
    );
    for (const field of userFields ?? []) upsertUserField(ctx.state, account, field);
    ctx.state.accounts.set(subdomain, account);
    res.status(201).json(accountInfo(accountBaseUrl(req, account), account));
  });

  router.get('/accounts/:sub', (req, res) => {
    const account = accountFrom(req);
    res.json(accountInfo(accountBaseUrl(req, account), account));
  });

  router.patch('/accounts/:sub', (req, res) => {
    const account = accountFrom(req);
    const { userFields, ...settings } = parseControl(AccountInputSchema, req.body);
    for (const field of userFields ?? []) upsertUserField(ctx.state, account, field);
    account.settings = applySettings(account.settings, settings);
    res.json(accountInfo(accountBaseUrl(req, account), account));
  });

  router.get('/accounts/:sub/users', (req, res) => {
    const account = accountFrom(req);
    const base = accountBaseUrl(req, account);
    const users = [...account.users.values()].sort((a, b) => a.id - b.id);
    res.json({ users: users.map((u) => sandboxUserJson(base, account, u)) });
  });

  router.post('/accounts/:sub/users', (req, res) => {
    const account = accountFrom(req);
    const user = createUser(ctx, account, parseControl(UserWriteSchema, req.body));
    res.status(201).json(sandboxUserJson(accountBaseUrl(req, account), account, user));
  });

  router.get('/accounts/:sub/users/:id', (req, res) => {
    const account = accountFrom(req);
    res.json(sandboxUserJson(accountBaseUrl(req, account), account, userFromParam(account, req.params.id)));
  });

  // An agent editing a profile: `email` replaces the primary address instead of adding one.
  router.patch('/accounts/:sub/users/:id', (req, res) => {
    const account = accountFrom(req);
    const user = userFromParam(account, req.params.id);
    updateUser(ctx, account, user, parseControl(UserWriteSchema, req.body), 'agent');
    res.json(sandboxUserJson(accountBaseUrl(req, account), account, user));
  });

  router.delete('/accounts/:sub/users/:id', (req, res) => {
    const account = accountFrom(req);
    const user = deleteUser(ctx, account, userFromParam(account, req.params.id));
    res.json(sandboxUserJson(accountBaseUrl(req, account), account, user));
  });

  router.post('/accounts/:sub/users/:id/identities', (req, res) => {
    const account = accountFrom(req);
    const user = userFromParam(account, req.params.id);
    addIdentity(ctx, account, user, parseControl(NewIdentitySchema, req.body), false);
    res.status(201).json(sandboxUserJson(accountBaseUrl(req, account), account, user));
  });

  router.post('/accounts/:sub/users/:id/identities/:identityId/make-primary', (req, res) => {
    const account = accountFrom(req);
    const user = userFromParam(account, req.params.id);
    makeIdentityPrimary(ctx, account, user, identityFromParam(account, user, req.params.identityId));
    res.json(sandboxUserJson(accountBaseUrl(req, account), account, user));
  });

  router.post('/accounts/:sub/users/:id/merge', (req, res) => {
    const account = accountFrom(req);
    const source = userFromParam(account, req.params.id);
    const { intoUserId } = parseControl(MergeSchema, req.body);
    const target = mergeUsers(ctx, account, source, userFromParam(account, String(intoUserId)));
    const base = accountBaseUrl(req, account);
    res.json({ user: sandboxUserJson(base, account, source), into: sandboxUserJson(base, account, target) });
  });

  router.get('/accounts/:sub/faults', (req, res) => {
    res.json(ctx.faults.get(accountFrom(req).subdomain));
  });

  router.put('/accounts/:sub/faults', (req, res) => {
    const account = accountFrom(req);
    res.json(ctx.faults.set(account.subdomain, parseControl(FaultSettingsSchema, req.body)));
  });

  router.post('/accounts/:sub/oauth/revoke', (req, res) => {
    res.json({ revoked: ctx.oauth.revokeAccount(accountFrom(req).subdomain) });
  });

  router.post('/accounts/:sub/oauth/tokens', (req, res) => {
    const account = accountFrom(req);
    const input = parseControl(IssueTokenSchema, req.body ?? {});
    const scopes = input.scopes ?? ['users:read', 'users:write', 'webhooks:read', 'webhooks:write'];
    const grant = ctx.oauth.issue(account, input.clientId ?? null, scopes, 'control');
    res.status(201).json(tokenResponse(grant));
  });

  router.get('/accounts/:sub/oauth/log', (req, res) => {
    const account = accountFrom(req);
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    const log: OAuthLog = {
      grants: ctx.oauth.grantsOf(account.subdomain).map((g) => ({
        id: g.id,
        clientId: g.clientId,
        scopes: g.scopes,
        origin: g.origin,
        issuedAt: new Date(g.issuedAtMs).toISOString(),
        expiresAt: new Date(g.expiresAtMs).toISOString(),
        refreshExpiresAt: new Date(g.refreshExpiresAtMs).toISOString(),
        rotatedFromId: g.rotatedFromId,
        refreshedAt: iso(g.refreshedAtMs),
        used: g.refreshedAtMs !== null,
        revoked: g.revokedAtMs !== null,
        revokedAt: iso(g.revokedAtMs),
        lastUsedAt: iso(g.lastUsedAtMs),
      })),
      refreshAttempts: ctx.oauth
        .refreshAttemptsOf(account.subdomain)
        .map((a) => ({ at: new Date(a.atMs).toISOString(), grantId: a.grantId, outcome: a.outcome })),
    };
    res.json(log);
  });

  router.get('/accounts/:sub/webhooks', (req, res) => {
    const account = accountFrom(req);
    res.json({ webhooks: [...account.webhooks.keys()].map((id) => sandboxWebhookJson(account, id)) });
  });

  // An admin creating a webhook in Admin Center, e.g. the manually made one whose secret goes into the add-on settings.
  router.post('/accounts/:sub/webhooks', (req, res) => {
    const account = accountFrom(req);
    const webhook = registerWebhook(account, req.body);
    res.status(201).json(sandboxWebhookJson(account, webhook.id));
  });

  router.get('/accounts/:sub/deliveries', (req, res) => {
    res.json({ deliveries: ctx.outbox.deliveries(accountFrom(req).subdomain) });
  });

  router.get('/accounts/:sub/events', (req, res) => {
    res.json({ events: accountFrom(req).events });
  });

  router.get('/accounts/:sub/changes', (req, res) => {
    const account = accountFrom(req);
    res.json({ changes: account.changes.list(parseControl(ChangesQuerySchema, req.query)) });
  });

  router.get('/accounts/:sub/verification-emails', (req, res) => {
    res.json({ verificationEmails: accountFrom(req).verificationEmails });
  });

  router.use((_req, res) => {
    res.status(404).json({ error: 'NotFound', description: 'No such control endpoint' });
  });

  return router;
}
