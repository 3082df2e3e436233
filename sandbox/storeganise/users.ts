import { Router } from 'express';
import { z } from 'zod';
import type { ChangeOrigin, ChangeValue } from '../common/change-log';
import { requestAccount } from './auth';
import { CustomFieldPatchSchema, mergeCustomFields } from './custom-fields';
import { SgApiError, notFound, parseInput } from './errors';
import { IncludeSchema, InstantSchema, LimitSchema, OffsetSchema, page } from './paging';
import type { SandboxSgUser } from './records';
import { instantAfter, newObjectId, nowIso, type Account, type EventPublisher, type SgUser } from './state';

// Names must not be blank: this is why a one-word name needs a placeholder last name.
const PersonNameSchema = z.string().regex(/\S/, 'must not be blank');

export const NewUserSchema = z.strictObject({
  email: z.email(),
  firstName: PersonNameSchema,
  lastName: PersonNameSchema,
  phone: z.string().optional(),
  language: z.string().min(2).optional(),
  customFields: CustomFieldPatchSchema.optional(),
});
export type NewUser = z.infer<typeof NewUserSchema>;

export const UserPatchSchema = z.strictObject({
  email: z.email().optional(),
  firstName: PersonNameSchema.optional(),
  lastName: PersonNameSchema.optional(),
  /** `null` or an empty string removes the phone. */
  phone: z.string().nullable().optional(),
  language: z.string().min(2).optional(),
  disabled: z.boolean().optional(),
  customFields: CustomFieldPatchSchema.optional(),
});
export type UserPatch = z.infer<typeof UserPatchSchema>;

const ListUsersQuerySchema = z.object({
  search: z.string().optional(),
  updatedAfter: InstantSchema.optional(),
  limit: LimitSchema,
  offset: OffsetSchema,
  include: IncludeSchema,
});

const GetUserQuerySchema = z.object({ include: IncludeSchema });

const emailKey = (email: string): string => email.trim().toLowerCase();

function assertEmailFree(account: Account, email: string, exceptUserId?: string): void {
  const key = emailKey(email);
  for (const user of account.users.values()) {
    if (user.id !== exceptUserId && emailKey(user.email) === key) {
      throw new SgApiError(409, `A user with email ${email} already exists`);
    }
  }
}

/** By id, or by email as some integrations look users up. */
export function findUser(account: Account, idOrEmail: string): SgUser {
  const byId = account.users.get(idOrEmail);
  if (byId) return byId;
  if (idOrEmail.includes('@')) {
    const key = emailKey(idOrEmail);
    for (const user of account.users.values()) if (emailKey(user.email) === key) return user;
  }
  throw notFound('User', idOrEmail);
}

export const fullName = (user: SgUser): string => `${user.firstName} ${user.lastName}`.trim();

export function userView(account: Account, user: SgUser, withCustomFields: boolean): SandboxSgUser {
  const isActive = [...account.rentals.values()].some((r) => r.ownerId === user.id && r.state === 'occupied');
  return {
    id: user.id,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    name: fullName(user),
    ...(user.phone === undefined ? {} : { phone: user.phone }),
    language: user.language,
    isActive,
    ...(user.disabled ? { disabled: true as const } : {}),
    roles: [],
    ...(withCustomFields ? { customFields: { ...user.customFields } } : {}),
    created: user.created,
    updated: user.updated,
  };
}

// The user fields the change log follows, besides `customFields.<code>`; `language` is left out, as nothing syncs it.
const LOGGED_FIELDS: Readonly<Record<string, (user: SgUser) => ChangeValue>> = {
  email: (user) => user.email,
  firstName: (user) => user.firstName,
  lastName: (user) => user.lastName,
  phone: (user) => user.phone ?? null,
  disabled: (user) => user.disabled,
};

/** Records the current value of each named field (e.g. a `changedKeys` list) at the user's `updated`. */
function logChanges(account: Account, user: SgUser, fields: readonly string[], via: ChangeOrigin): void {
  const entries = fields.flatMap((field): Array<readonly [string, ChangeValue]> => {
    if (field.startsWith('customFields.'))
      return [[field, user.customFields[field.slice('customFields.'.length)] ?? null]];
    const read = LOGGED_FIELDS[field];
    return read ? [[field, read(user)]] : [];
  });
  account.changes.record(user.id, Date.parse(user.updated), via, entries);
}

/** `via` says who creates the user, for the change log: the admin API (`api`) or the admin UI (`control`). */
export function createUser(account: Account, events: EventPublisher, input: NewUser, via: ChangeOrigin): SgUser {
  assertEmailFree(account, input.email);
  const { values } = mergeCustomFields(account, 'user', {}, input.customFields ?? {});
  const created = nowIso();
  const user: SgUser = {
    id: newObjectId(),
    email: input.email,
    firstName: input.firstName,
    lastName: input.lastName,
    phone: input.phone === undefined || input.phone === '' ? undefined : input.phone,
    language: input.language ?? 'en',
    disabled: false,
    customFields: values,
    created,
    updated: created,
  };
  account.users.set(user.id, user);
  logChanges(
    account,
    user,
    [...Object.keys(LOGGED_FIELDS), ...Object.keys(values).map((code) => `customFields.${code}`)],
    via,
  );
  events.publish(account, 'user.created', { userId: user.id }, user.updated);
  return user;
}

/**
 * Applies a partial update. Only fields whose value really changes count: they are listed in the
 * `user.updated` event, and an update that changes nothing emits nothing.
 */
export function updateUser(
  account: Account,
  events: EventPublisher,
  idOrEmail: string,
  patch: UserPatch,
  via: ChangeOrigin,
): SgUser {
  const user = findUser(account, idOrEmail);
  if (patch.email !== undefined && emailKey(patch.email) !== emailKey(user.email)) {
    assertEmailFree(account, patch.email, user.id);
  }
  const merged = mergeCustomFields(account, 'user', user.customFields, patch.customFields ?? {});
  const phone =
    patch.phone === undefined ? user.phone : patch.phone === null || patch.phone === '' ? undefined : patch.phone;

  const changedKeys: string[] = [];
  if (patch.email !== undefined && patch.email !== user.email) changedKeys.push('email');
  if (patch.firstName !== undefined && patch.firstName !== user.firstName) changedKeys.push('firstName');
  if (patch.lastName !== undefined && patch.lastName !== user.lastName) changedKeys.push('lastName');
  if (phone !== user.phone) changedKeys.push('phone');
  if (patch.language !== undefined && patch.language !== user.language) changedKeys.push('language');
  if (patch.disabled !== undefined && patch.disabled !== user.disabled) changedKeys.push('disabled');
  changedKeys.push(...merged.changedKeys);
  if (changedKeys.length === 0) return user;

  user.email = patch.email ?? user.email;
  user.firstName = patch.firstName ?? user.firstName;
  user.lastName = patch.lastName ?? user.lastName;
  user.phone = phone;
  user.language = patch.language ?? user.language;
  user.disabled = patch.disabled ?? user.disabled;
  user.customFields = merged.values;
  user.updated = instantAfter(user.updated);
  logChanges(account, user, changedKeys, via);
  events.publish(account, 'user.updated', { userId: user.id, changedKeys }, user.updated);
  return user;
}

function matchesSearch(user: SgUser, term: string): boolean {
  const needle = term.trim().toLowerCase();
  if (needle === '') return true;
  return [user.email, user.firstName, user.lastName, fullName(user), user.phone ?? ''].some((text) =>
    text.toLowerCase().includes(needle),
  );
}

export function listUsers(
  account: Account,
  filter: { search?: string | undefined; updatedAfter?: number | undefined },
): SgUser[] {
  const { search, updatedAfter } = filter;
  return [...account.users.values()].filter(
    (user) =>
      (search === undefined || matchesSearch(user, search)) &&
      (updatedAfter === undefined || Date.parse(user.updated) > updatedAfter),
  );
}

export function usersRouter(events: EventPublisher): Router {
  const router = Router();
  router.get('/users', (req, res) => {
    const account = requestAccount(req);
    const query = parseInput(ListUsersQuerySchema, req.query, 'query');
    const users = page(listUsers(account, query), query);
    res.json(users.map((user) => userView(account, user, query.include.has('customFields'))));
  });
  router.get('/users/:id', (req, res) => {
    const account = requestAccount(req);
    const query = parseInput(GetUserQuerySchema, req.query, 'query');
    res.json(userView(account, findUser(account, req.params.id), query.include.has('customFields')));
  });
  router.post('/users', (req, res) => {
    const account = requestAccount(req);
    const user = createUser(account, events, parseInput(NewUserSchema, req.body, 'body'), 'api');
    res.status(201).json(userView(account, user, true));
  });
  router.put('/users/:id', (req, res) => {
    const account = requestAccount(req);
    const user = updateUser(account, events, req.params.id, parseInput(UserPatchSchema, req.body, 'body'), 'api');
    res.json(userView(account, user, true));
  });
  return router;
}
