import { Router } from 'express';
import { z } from 'zod';
import type { UserEvent } from './events';
import {
  accountBaseUrl,
  accountOf,
  badRequest,
  cursorPage,
  idKey,
  invalidField,
  offsetPage,
  parseInput,
  recordNotFound,
} from './http';
import { IncludeSchema, sideloadedIdentities } from './incremental-export';
import {
  assertActive,
  assertExternalIdFree,
  assertIdentityValueFree,
  dropIdentity,
  insertIdentity,
  normalizeIdentityValue,
  promoteIdentity,
  userFromParam,
  userJson,
} from './records';
import type { SandboxContext, UserRecord, ZendeskAccount } from './state';
import { planFieldValues } from './user-fields';
import { FieldValueSchema, IdentityTypeSchema, RoleSchema } from './wire';

const ExternalIdSchema = z
  .union([z.string(), z.number()])
  .nullable()
  .transform((v) => (v === null ? null : String(v).trim() || null));

/** The writable user attributes, shared by the REST API and the control API. */
export const UserWriteSchema = z.object({
  name: z.string().optional(),
  email: z.string().nullable().optional(),
  phone: z.string().nullable().optional(),
  external_id: ExternalIdSchema.optional(),
  role: RoleSchema.optional(),
  notes: z.string().nullable().optional(),
  details: z.string().nullable().optional(),
  suspended: z.boolean().optional(),
  verified: z.boolean().optional(),
  user_fields: z.record(z.string(), FieldValueSchema).optional(),
  skip_verify_email: z.boolean().optional(),
  identities: z.array(z.object({ type: IdentityTypeSchema, value: z.string() })).optional(),
});
export type UserWrite = z.infer<typeof UserWriteSchema>;

/**
 * How `email` in an update is read. `api`: Zendesk's documented quirk, a *secondary* address is
 * added and the primary stays. `agent`: an agent editing the primary address in the UI.
 */
export type EmailUpdateMode = 'api' | 'agent';

export function createUser(ctx: SandboxContext, account: ZendeskAccount, input: UserWrite): UserRecord {
  const name = input.name?.trim() ?? '';
  if (name === '') throw invalidField('name', 'Name: cannot be blank', 'BlankValue');
  const email = input.email ? normalizeIdentityValue('email', input.email) : null;
  if (email !== null) assertIdentityValueFree(account, 'email', email, null, 'email');
  const extraIdentities = (input.identities ?? [])
    .map((i) => ({ type: i.type, value: normalizeIdentityValue(i.type, i.value) }))
    .filter((i) => !(i.type === 'email' && i.value === email));
  for (const i of extraIdentities)
    assertIdentityValueFree(account, i.type, i.value, null, i.type === 'email' ? 'email' : 'value');
  if (input.external_id) assertExternalIdFree(account, input.external_id, null);
  const userFields = planFieldValues(account, null, input.user_fields ?? {});

  const now = Date.now();
  const user: UserRecord = {
    id: ctx.state.nextId(),
    name,
    role: input.role ?? 'end-user',
    externalId: input.external_id ?? null,
    notes: input.notes ?? '',
    details: input.details ?? '',
    suspended: input.suspended ?? false,
    active: true,
    verified: input.verified ?? false,
    userFields,
    createdAtMs: now,
    updatedAtMs: now,
    changeSeq: 0,
  };
  account.users.set(user.id, user);
  const verified = input.verified === true;
  if (email !== null) insertIdentity(ctx.state, account, user, 'email', email, { primary: true, verified });
  const phone = input.phone?.trim();
  if (phone) insertIdentity(ctx.state, account, user, 'phone_number', phone, { primary: true });
  for (const i of extraIdentities) insertIdentity(ctx.state, account, user, i.type, i.value, { verified });
  ctx.events.userCreated(account, user);

  const primaryEmail = account.primaryIdentity(user.id, 'email');
  if (primaryEmail && !verified && input.skip_verify_email !== true) {
    account.sendVerificationEmail(primaryEmail, 'user_created');
  }
  return user;
}

export function updateUser(
  ctx: SandboxContext,
  account: ZendeskAccount,
  user: UserRecord,
  input: UserWrite,
  mode: EmailUpdateMode,
): UserRecord {
  assertActive(user);
  const name = input.name?.trim();
  if (name === '') throw invalidField('name', 'Name: cannot be blank', 'BlankValue');
  const email = input.email ? normalizeIdentityValue('email', input.email) : undefined;
  const ownEmail =
    email === undefined
      ? undefined
      : account.identitiesOf(user.id).find((i) => i.type === 'email' && i.value === email);
  if (email !== undefined && !ownEmail) assertIdentityValueFree(account, 'email', email, user.id, 'email');
  if (input.external_id) assertExternalIdFree(account, input.external_id, user.id);
  const userFields = input.user_fields ? planFieldValues(account, user.userFields, input.user_fields) : undefined;

  let addedEmail: ReturnType<typeof insertIdentity> | undefined;
  ctx.events.track(account, [user], () => {
    if (name !== undefined) user.name = name;
    if (input.role !== undefined) user.role = input.role;
    if (input.notes !== undefined) user.notes = input.notes ?? '';
    if (input.details !== undefined) user.details = input.details ?? '';
    if (input.suspended !== undefined) user.suspended = input.suspended;
    if (input.verified !== undefined) user.verified = input.verified;
    if (input.external_id !== undefined) user.externalId = input.external_id;
    if (userFields) user.userFields = userFields;
    if (input.phone !== undefined) setPrimaryPhone(ctx, account, user, input.phone?.trim() ?? '');
    if (email === undefined) return;
    if (mode === 'api') {
      if (!ownEmail) addedEmail = insertIdentity(ctx.state, account, user, 'email', email);
      return;
    }
    const primary = account.primaryIdentity(user.id, 'email');
    if (ownEmail) promoteIdentity(account, ownEmail);
    else if (primary) {
      primary.value = email;
      primary.updatedAtMs = Date.now();
    } else insertIdentity(ctx.state, account, user, 'email', email, { primary: true });
  });
  if (addedEmail && input.skip_verify_email !== true) {
    account.sendVerificationEmail(addedEmail, 'email_added_by_update');
  }
  return user;
}

/** `phone` on a user stands for its primary phone_number identity; blank removes that identity. */
function setPrimaryPhone(ctx: SandboxContext, account: ZendeskAccount, user: UserRecord, phone: string): void {
  const primary = account.primaryIdentity(user.id, 'phone_number');
  if (phone === '') {
    if (primary) dropIdentity(account, primary);
  } else if (!primary) {
    insertIdentity(ctx.state, account, user, 'phone_number', phone, { primary: true });
  } else if (primary.value !== phone) {
    primary.value = phone;
    primary.updatedAtMs = Date.now();
  }
}

/** Matches by email or external_id (case-insensitive); a match is updated, otherwise a user is created. */
export function createOrUpdateUser(
  ctx: SandboxContext,
  account: ZendeskAccount,
  input: UserWrite,
): { user: UserRecord; created: boolean } {
  const email = input.email ? normalizeIdentityValue('email', input.email) : null;
  const emailHolderId = email === null ? undefined : account.identityByEmail(email)?.userId;
  const byEmail = emailHolderId === undefined ? undefined : account.users.get(emailHolderId);
  const byExternalId = input.external_id ? account.userByExternalId(input.external_id) : undefined;
  if (byEmail && byExternalId && byEmail.id !== byExternalId.id) {
    throw invalidField('email', `Email: ${email ?? ''} is already being used by another user`, 'DuplicateValue');
  }
  const existing = byExternalId ?? byEmail;
  if (!existing) return { user: createUser(ctx, account, input), created: true };
  // Writing the external_id back as sent is what rewrites its case, as Zendesk does.
  return { user: updateUser(ctx, account, existing, input, 'api'), created: false };
}

/**
 * Soft delete. The user stays readable with `active: false`; its identities are removed and its
 * external_id cleared so the address and the id can be used by another user (the sandbox's
 * reading of "deleted users are not recoverable").
 */
export function deleteUser(ctx: SandboxContext, account: ZendeskAccount, user: UserRecord): UserRecord {
  if (!user.active) throw recordNotFound();
  ctx.events.track(account, [user], () => retire(account, user));
  return user;
}

/** Merges `source` into `target`: its email addresses move over as secondaries and `source` is deleted. */
export function mergeUsers(
  ctx: SandboxContext,
  account: ZendeskAccount,
  source: UserRecord,
  target: UserRecord,
): UserRecord {
  if (source.id === target.id) throw invalidField('user', 'A user cannot be merged into itself');
  assertActive(source);
  if (!target.active) throw invalidField('user', `User ${target.id} is deleted and cannot receive a merge`);
  if (source.role !== 'end-user') throw invalidField('user', 'Only end users can be merged into another user');
  const merged: UserEvent = { action: 'merged', event: { user: { id: String(target.id) } } };
  ctx.events.track(
    account,
    [source, target],
    () => {
      const targetHasEmail = account.primaryIdentity(target.id, 'email') !== undefined;
      for (const identity of account.identitiesOf(source.id).filter((i) => i.type === 'email')) {
        account.moveIdentity(identity, target.id);
        identity.primary = false;
        identity.updatedAtMs = Date.now();
      }
      const firstMoved = account.identitiesOf(target.id).find((i) => i.type === 'email');
      if (!targetHasEmail && firstMoved) promoteIdentity(account, firstMoved);
      retire(account, source);
    },
    new Map([[source.id, [merged]]]),
  );
  return target;
}

function retire(account: ZendeskAccount, user: UserRecord): void {
  for (const identity of account.identitiesOf(user.id)) account.deleteIdentity(identity);
  user.active = false;
  user.externalId = null;
}

/**
 * Zendesk's search is full text; the sandbox supports the forms a sync uses: `email:addr` (exact,
 * any identity), `external_id:x` (exact, case-insensitive) and plain words (substring of name,
 * identity values and notes). Only active users are found.
 */
export function searchUsers(account: ZendeskAccount, query: string): UserRecord[] {
  const terms = query
    .trim()
    .replace(/\btype:user\b/g, '')
    .trim();
  const email = /^email:"?([^"\s]+)"?$/.exec(terms)?.[1];
  if (email !== undefined) {
    const holder = account.identityByEmail(email)?.userId;
    const user = holder === undefined ? undefined : account.users.get(holder);
    return user?.active ? [user] : [];
  }
  const active = [...account.users.values()].filter((u) => u.active).sort((a, b) => a.id - b.id);
  const externalId = /^external_id:"?([^"]+?)"?$/.exec(terms)?.[1];
  if (externalId !== undefined) return active.filter((u) => u.externalId?.toLowerCase() === externalId.toLowerCase());
  const text = terms.replace(/^"(.*)"$/, '$1').toLowerCase();
  return active.filter((u) =>
    [u.name, u.notes, ...account.identitiesOf(u.id).map((i) => i.value)].some((v) => v.toLowerCase().includes(text)),
  );
}

const UserBodySchema = z.object({ user: UserWriteSchema });
const MergeBodySchema = z.object({ user: z.object({ id: z.coerce.number().int() }) });

const pageNumber = z.coerce.number().int().min(1);
const ListQuerySchema = z.object({
  page: pageNumber.default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(100),
  'page[size]': z.coerce.number().int().min(1).max(100).optional(),
  'page[after]': z.string().optional(),
  'page[before]': z.string().optional(),
  external_id: z.string().optional(),
  role: RoleSchema.optional(),
  'role[]': z.union([RoleSchema, z.array(RoleSchema)]).optional(),
});

const ShowManyQuerySchema = z.object({
  include: IncludeSchema,
  ids: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'ids must be a comma-separated list of user ids')
    .transform((s) => s.split(',').map(Number))
    .optional(),
  external_ids: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .optional(),
});

const SearchQuerySchema = z.object({
  query: z.string().optional(),
  external_id: z.string().optional(),
  page: pageNumber.default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(100),
});

/** Offset pagination stops at 10,000 records, as Zendesk's does. */
const OFFSET_RECORD_LIMIT = 10_000;

export function usersApi(ctx: SandboxContext): Router {
  const router = Router();

  router.get('/users', (req, res) => {
    const account = accountOf(ctx, req);
    const base = accountBaseUrl(req, account);
    const query = parseInput(ListQuerySchema, req.query);
    const roles = new Set([query.role ?? [], query['role[]'] ?? []].flat());
    const wantedExternalId = query.external_id?.toLowerCase();
    const users = [...account.users.values()]
      .filter((u) => u.active)
      .filter((u) => roles.size === 0 || roles.has(u.role))
      .filter((u) => wantedExternalId === undefined || u.externalId?.toLowerCase() === wantedExternalId)
      .sort((a, b) => a.id - b.id);
    const filters = wantedExternalId === undefined ? '' : `&external_id=${encodeURIComponent(query.external_id ?? '')}`;
    const size = query['page[size]'] ?? ((query['page[after]'] ?? query['page[before]']) ? 100 : undefined);
    if (size !== undefined) {
      const page = cursorPage(
        users,
        size,
        { after: query['page[after]'], before: query['page[before]'] },
        (u) => idKey(u.id),
        (params) => `${base}/api/v2/users.json?${params}${filters}`,
      );
      res.json({ users: page.items.map((u) => userJson(base, account, u)), meta: page.meta, links: page.links });
      return;
    }
    if (query.page * query.per_page > OFFSET_RECORD_LIMIT)
      throw badRequest('Offset pagination is limited to the first 10000 records; use cursor pagination');
    const page = offsetPage(
      users,
      query.page,
      query.per_page,
      (p) => `${base}/api/v2/users.json?page=${p}&per_page=${query.per_page}${filters}`,
    );
    res.json({
      users: page.items.map((u) => userJson(base, account, u)),
      next_page: page.next_page,
      previous_page: page.previous_page,
      count: page.count,
    });
  });

  router.get('/users/show_many', (req, res) => {
    const account = accountOf(ctx, req);
    const query = parseInput(ShowManyQuerySchema, req.query);
    const wanted = query.ids ?? query.external_ids;
    if (wanted === undefined) throw badRequest('Pass ids or external_ids');
    if (wanted.length > 100) throw badRequest('At most 100 ids or external_ids per request');
    const users = query.ids
      ? query.ids.flatMap((id) => account.users.get(id) ?? [])
      : (query.external_ids ?? []).flatMap((x) => account.userByExternalId(x) ?? []);
    const base = accountBaseUrl(req, account);
    const identities = query.include.has('identities')
      ? { identities: sideloadedIdentities(base, account, users) }
      : {};
    res.json({
      users: users.map((u) => userJson(base, account, u)),
      ...identities,
      next_page: null,
      previous_page: null,
      count: users.length,
    });
  });

  router.get('/users/search', (req, res) => {
    const account = accountOf(ctx, req);
    const base = accountBaseUrl(req, account);
    const query = parseInput(SearchQuerySchema, req.query);
    let found: UserRecord[];
    let params: string;
    if (query.external_id !== undefined) {
      const user = account.userByExternalId(query.external_id);
      found = user?.active ? [user] : [];
      params = `external_id=${encodeURIComponent(query.external_id)}`;
    } else if (query.query !== undefined) {
      found = searchUsers(account, query.query);
      params = `query=${encodeURIComponent(query.query)}`;
    } else {
      throw badRequest('Pass query or external_id');
    }
    if (query.page * query.per_page > OFFSET_RECORD_LIMIT) throw badRequest('Search returns at most 10000 records');
    const page = offsetPage(
      found,
      query.page,
      query.per_page,
      (p) => `${base}/api/v2/users/search.json?${params}&page=${p}&per_page=${query.per_page}`,
    );
    res.json({
      users: page.items.map((u) => userJson(base, account, u)),
      next_page: page.next_page,
      previous_page: page.previous_page,
      count: page.count,
    });
  });

  router.post('/users/create_or_update', (req, res) => {
    const account = accountOf(ctx, req);
    const { user: input } = parseInput(UserBodySchema, req.body);
    const { user, created } = createOrUpdateUser(ctx, account, input);
    res
      .status(created ? 201 : 200)
      .location(`/api/v2/users/${user.id}.json`)
      .json({ user: userJson(accountBaseUrl(req, account), account, user) });
  });

  router.get('/users/:userId', (req, res) => {
    const account = accountOf(ctx, req);
    res.json({ user: userJson(accountBaseUrl(req, account), account, userFromParam(account, req.params.userId)) });
  });

  router.post('/users', (req, res) => {
    const account = accountOf(ctx, req);
    const { user: input } = parseInput(UserBodySchema, req.body);
    const user = createUser(ctx, account, input);
    res
      .status(201)
      .location(`/api/v2/users/${user.id}.json`)
      .json({ user: userJson(accountBaseUrl(req, account), account, user) });
  });

  router.put('/users/:userId', (req, res) => {
    const account = accountOf(ctx, req);
    const user = userFromParam(account, req.params.userId);
    const { user: input } = parseInput(UserBodySchema, req.body);
    updateUser(ctx, account, user, input, 'api');
    res.json({ user: userJson(accountBaseUrl(req, account), account, user) });
  });

  router.delete('/users/:userId', (req, res) => {
    const account = accountOf(ctx, req);
    const user = deleteUser(ctx, account, userFromParam(account, req.params.userId));
    res.json({ user: userJson(accountBaseUrl(req, account), account, user) });
  });

  router.put('/users/:userId/merge', (req, res) => {
    const account = accountOf(ctx, req);
    const source = userFromParam(account, req.params.userId);
    const { user: into } = parseInput(MergeBodySchema, req.body);
    const target = mergeUsers(ctx, account, source, userFromParam(account, String(into.id)));
    res.json({ user: userJson(accountBaseUrl(req, account), account, target) });
  });

  return router;
}
