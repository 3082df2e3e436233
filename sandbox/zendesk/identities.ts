import { Router } from 'express';
import { z } from 'zod';
import { accountBaseUrl, accountOf, invalidField, parseInput } from './http';
import {
  assertActive,
  assertIdentityValueFree,
  dropIdentity,
  identityFromParam,
  identityJson,
  insertIdentity,
  normalizeIdentityValue,
  promoteIdentity,
  userFromParam,
} from './records';
import type { IdentityRecord, SandboxContext, UserRecord, ZendeskAccount } from './state';
import { IdentityTypeSchema, type IdentityType } from './wire';

export interface NewIdentity {
  type: IdentityType;
  value: string;
  primary?: boolean | undefined;
  verified?: boolean | undefined;
}

/** Adds an identity to a user; `verificationEmail` says whether Zendesk would mail the address. */
export function addIdentity(
  ctx: SandboxContext,
  account: ZendeskAccount,
  user: UserRecord,
  input: NewIdentity,
  verificationEmail: boolean,
): IdentityRecord {
  assertActive(user);
  const value = normalizeIdentityValue(input.type, input.value);
  assertIdentityValueFree(account, input.type, value, null, 'value');
  const identity = ctx.events.track(account, [user], () =>
    insertIdentity(ctx.state, account, user, input.type, value, { primary: input.primary, verified: input.verified }),
  );
  if (verificationEmail && identity.type === 'email' && !identity.verified) {
    account.sendVerificationEmail(identity, 'identity_created');
  }
  return identity;
}

export function changeIdentityValue(
  ctx: SandboxContext,
  account: ZendeskAccount,
  user: UserRecord,
  identity: IdentityRecord,
  rawValue: string,
): void {
  assertActive(user);
  const value = normalizeIdentityValue(identity.type, rawValue);
  if (value === identity.value) return;
  assertIdentityValueFree(account, identity.type, value, user.id, 'value');
  ctx.events.track(account, [user], () => {
    identity.value = value;
    identity.updatedAtMs = Date.now();
  });
}

export function makeIdentityPrimary(
  ctx: SandboxContext,
  account: ZendeskAccount,
  user: UserRecord,
  identity: IdentityRecord,
): void {
  assertActive(user);
  ctx.events.track(account, [user], () => promoteIdentity(account, identity));
}

/** The primary of a type may only go when it is the last of that type, so a user never loses it silently. */
export function deleteIdentity(
  ctx: SandboxContext,
  account: ZendeskAccount,
  user: UserRecord,
  identity: IdentityRecord,
): void {
  assertActive(user);
  const sameType = account.identitiesOf(user.id).filter((i) => i.type === identity.type);
  if (identity.primary && sameType.length > 1) {
    throw invalidField(
      'identity',
      `Identity ${identity.id} is the primary ${identity.type}; make another ${identity.type} identity primary before deleting it`,
    );
  }
  ctx.events.track(account, [user], () => dropIdentity(account, identity));
}

const CreateIdentityBodySchema = z.object({
  identity: z.object({
    type: IdentityTypeSchema,
    value: z.string(),
    primary: z.boolean().optional(),
    verified: z.boolean().optional(),
    skip_verify_email: z.boolean().optional(),
  }),
  skip_verify_email: z.boolean().optional(),
});

// `primary` is accepted and ignored: Zendesk only changes it through make_primary.
const UpdateIdentityBodySchema = z.object({
  identity: z.object({
    value: z.string().optional(),
    verified: z.boolean().optional(),
    primary: z.unknown().optional(),
  }),
});

const ListQuerySchema = z.object({
  'type[]': z.union([IdentityTypeSchema, z.array(IdentityTypeSchema)]).optional(),
  type: IdentityTypeSchema.optional(),
});

export function identitiesApi(ctx: SandboxContext): Router {
  const router = Router();

  router.get('/users/:userId/identities', (req, res) => {
    const account = accountOf(ctx, req);
    const user = userFromParam(account, req.params.userId);
    const query = parseInput(ListQuerySchema, req.query);
    const types = new Set([query['type[]'] ?? [], query.type ?? []].flat());
    const identities = account.identitiesOf(user.id).filter((i) => types.size === 0 || types.has(i.type));
    const base = accountBaseUrl(req, account);
    res.json({
      identities: identities.map((i) => identityJson(base, i)),
      next_page: null,
      previous_page: null,
      count: identities.length,
    });
  });

  router.get('/users/:userId/identities/:identityId', (req, res) => {
    const account = accountOf(ctx, req);
    const user = userFromParam(account, req.params.userId);
    const identity = identityFromParam(account, user, req.params.identityId);
    res.json({ identity: identityJson(accountBaseUrl(req, account), identity) });
  });

  router.post('/users/:userId/identities', (req, res) => {
    const account = accountOf(ctx, req);
    const user = userFromParam(account, req.params.userId);
    const body = parseInput(CreateIdentityBodySchema, req.body);
    const skipVerify = body.skip_verify_email === true || body.identity.skip_verify_email === true;
    const identity = addIdentity(ctx, account, user, body.identity, !skipVerify);
    res
      .status(201)
      .location(`/api/v2/users/${user.id}/identities/${identity.id}.json`)
      .json({ identity: identityJson(accountBaseUrl(req, account), identity) });
  });

  router.put('/users/:userId/identities/:identityId/make_primary', (req, res) => {
    const account = accountOf(ctx, req);
    const user = userFromParam(account, req.params.userId);
    const identity = identityFromParam(account, user, req.params.identityId);
    makeIdentityPrimary(ctx, account, user, identity);
    const base = accountBaseUrl(req, account);
    res.json({ identities: account.identitiesOf(user.id).map((i) => identityJson(base, i)) });
  });

  router.put('/users/:userId/identities/:identityId', (req, res) => {
    const account = accountOf(ctx, req);
    const user = userFromParam(account, req.params.userId);
    const identity = identityFromParam(account, user, req.params.identityId);
    const { identity: changes } = parseInput(UpdateIdentityBodySchema, req.body);
    assertActive(user);
    if (changes.value !== undefined) changeIdentityValue(ctx, account, user, identity, changes.value);
    if (changes.verified !== undefined) identity.verified = changes.verified;
    res.json({ identity: identityJson(accountBaseUrl(req, account), identity) });
  });

  router.delete('/users/:userId/identities/:identityId', (req, res) => {
    const account = accountOf(ctx, req);
    const user = userFromParam(account, req.params.userId);
    deleteIdentity(ctx, account, user, identityFromParam(account, user, req.params.identityId));
    res.status(204).end();
  });

  return router;
}
