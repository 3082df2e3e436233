import { Router } from 'express';
import { z } from 'zod';
import {
  accountBaseUrl,
  accountOf,
  invalidField,
  issueDetails,
  offsetPage,
  parseInput,
  recordInvalid,
  recordNotFound,
} from './http';
import {
  isoSeconds,
  type SandboxContext,
  type SandboxState,
  type UserFieldRecord,
  type UserRecord,
  type ZendeskAccount,
} from './state';
import { UserFieldTypeSchema, type FieldValue, type UserFieldJson } from './wire';

export const UserFieldDefinitionSchema = z.object({
  key: z.string(),
  title: z.string().min(1),
  type: UserFieldTypeSchema.default('text'),
  description: z.string().default(''),
  active: z.boolean().default(true),
  position: z.number().int().min(0).optional(),
  regexp_for_validation: z.string().nullable().optional(),
  custom_field_options: z.array(z.object({ name: z.string().min(1), value: z.string().min(1) })).optional(),
});
export type UserFieldDefinition = z.input<typeof UserFieldDefinitionSchema>;

const KEY_PATTERN = /^(?![0-9]+$)[A-Za-z0-9_]+$/;

function parseDefinition(input: unknown): z.infer<typeof UserFieldDefinitionSchema> {
  return parseInput(UserFieldDefinitionSchema, input, (issues) => recordInvalid(issueDetails(issues)));
}

export function createUserField(state: SandboxState, account: ZendeskAccount, input: unknown): UserFieldRecord {
  const definition = parseDefinition(input);
  if (!KEY_PATTERN.test(definition.key)) {
    throw invalidField(
      'key',
      `Key: ${definition.key} may only hold letters, digits and underscores, and not only digits`,
      'InvalidFormat',
    );
  }
  if (definition.regexp_for_validation && !isValidPattern(definition.regexp_for_validation)) {
    throw invalidField('regexp_for_validation', 'Regular expression: not a valid pattern', 'InvalidFormat');
  }
  if (account.fieldByKey(definition.key)) {
    throw invalidField('key', `Key: ${definition.key} is already being used by another field`, 'DuplicateValue');
  }
  const choices = definition.type === 'dropdown' || definition.type === 'multiselect';
  const options = definition.custom_field_options ?? [];
  if (choices && options.length === 0) {
    throw invalidField('custom_field_options', 'Field options: a dropdown needs at least one option', 'BlankValue');
  }
  const now = Date.now();
  const field: UserFieldRecord = {
    id: state.nextId(),
    key: definition.key,
    type: definition.type,
    title: definition.title,
    description: definition.description,
    active: definition.active,
    position: definition.position ?? account.userFields.size,
    regexpForValidation: definition.regexp_for_validation ?? null,
    options: choices
      ? options.map((o, position) => ({ id: state.nextId(), name: o.name, value: o.value, position }))
      : [],
    createdAtMs: now,
    updatedAtMs: now,
  };
  account.userFields.set(field.id, field);
  return field;
}

function isValidPattern(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** Control-API seeding: an existing key gets the new title and options, a new key is created. */
export function upsertUserField(
  state: SandboxState,
  account: ZendeskAccount,
  input: UserFieldDefinition,
): UserFieldRecord {
  const existing = account.fieldByKey(input.key);
  if (!existing) return createUserField(state, account, input);
  const definition = parseDefinition(input);
  existing.title = definition.title;
  existing.description = definition.description;
  existing.active = definition.active;
  if (definition.custom_field_options) {
    existing.options = definition.custom_field_options.map((o, position) => ({
      id: existing.options.find((old) => old.value === o.value)?.id ?? state.nextId(),
      name: o.name,
      value: o.value,
      position,
    }));
  }
  existing.updatedAtMs = Date.now();
  return existing;
}

/**
 * Validates a `user_fields` write and returns the user's field values after it, or throws a 422.
 * Keys that name no field are silently dropped: Zendesk does not document this case and a sync
 * must not depend on either answer, so the sandbox takes the lenient one.
 */
export function planFieldValues(
  account: ZendeskAccount,
  current: UserRecord['userFields'] | null,
  input: Record<string, FieldValue>,
): Map<string, FieldValue> {
  const next = new Map(current ?? []);
  for (const [key, raw] of Object.entries(input)) {
    const field = account.fieldByKey(key);
    if (!field) continue;
    next.set(key, coerceFieldValue(field, raw));
  }
  return next;
}

function coerceFieldValue(field: UserFieldRecord, raw: FieldValue): FieldValue {
  if (raw === null || raw === '') return null;
  const reject = (): never => {
    throw recordInvalid({
      [field.key]: [
        {
          description: `${field.title}: ${JSON.stringify(raw)} is not a valid value for a ${field.type} field`,
          error: 'InvalidValue',
        },
      ],
    });
  };
  const optionValues = new Set(field.options.map((o) => o.value));
  switch (field.type) {
    case 'dropdown':
      return typeof raw === 'string' && optionValues.has(raw) ? raw : reject();
    case 'multiselect':
      return Array.isArray(raw) && raw.every((v) => optionValues.has(v)) ? raw : reject();
    case 'checkbox':
      return typeof raw === 'boolean' ? raw : reject();
    case 'integer': {
      const value = typeof raw === 'string' ? Number(raw) : raw;
      return typeof value === 'number' && Number.isInteger(value) ? value : reject();
    }
    case 'decimal': {
      const value = typeof raw === 'string' ? Number(raw) : raw;
      return typeof value === 'number' && Number.isFinite(value) ? value : reject();
    }
    case 'date':
      return typeof raw === 'string' && !Number.isNaN(Date.parse(raw)) ? raw : reject();
    case 'regexp': {
      const pattern = field.regexpForValidation;
      return typeof raw === 'string' && (pattern === null || new RegExp(pattern).test(raw)) ? raw : reject();
    }
    case 'text':
    case 'textarea':
      return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : reject();
  }
}

/** Every active field appears on every user, null when unset. */
export function userFieldValues(account: ZendeskAccount, user: UserRecord): Record<string, FieldValue> {
  return Object.fromEntries(account.activeFields().map((f) => [f.key, user.userFields.get(f.key) ?? null]));
}

export function userFieldJson(base: string, field: UserFieldRecord): UserFieldJson {
  const choices = field.type === 'dropdown' || field.type === 'multiselect';
  return {
    url: `${base}/api/v2/user_fields/${field.id}.json`,
    id: field.id,
    type: field.type,
    key: field.key,
    title: field.title,
    raw_title: field.title,
    description: field.description,
    raw_description: field.description,
    position: field.position,
    active: field.active,
    system: false,
    regexp_for_validation: field.regexpForValidation,
    ...(choices
      ? {
          custom_field_options: field.options.map((o) => ({
            id: o.id,
            name: o.name,
            raw_name: o.name,
            value: o.value,
            position: o.position,
          })),
        }
      : {}),
    created_at: isoSeconds(field.createdAtMs),
    updated_at: isoSeconds(field.updatedAtMs),
  };
}

const ListQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(100),
});

export function userFieldsApi(ctx: SandboxContext): Router {
  const router = Router();

  router.get('/user_fields', (req, res) => {
    const account = accountOf(ctx, req);
    const base = accountBaseUrl(req, account);
    const query = parseInput(ListQuerySchema, req.query);
    const all = [...account.userFields.values()].sort((a, b) => a.position - b.position || a.id - b.id);
    const page = offsetPage(
      all,
      query.page,
      query.per_page,
      (p) => `${base}/api/v2/user_fields.json?page=${p}&per_page=${query.per_page}`,
    );
    res.json({
      user_fields: page.items.map((f) => userFieldJson(base, f)),
      next_page: page.next_page,
      previous_page: page.previous_page,
      count: page.count,
    });
  });

  router.get('/user_fields/:idOrKey', (req, res) => {
    const account = accountOf(ctx, req);
    const { idOrKey } = req.params;
    const field = /^\d+$/.test(idOrKey)
      ? (account.userFields.get(Number(idOrKey)) ?? account.fieldByKey(idOrKey))
      : account.fieldByKey(idOrKey);
    if (!field) throw recordNotFound();
    res.json({ user_field: userFieldJson(accountBaseUrl(req, account), field) });
  });

  router.post('/user_fields', (req, res) => {
    const account = accountOf(ctx, req);
    const body = parseInput(z.object({ user_field: z.record(z.string(), z.unknown()) }), req.body);
    const field = createUserField(ctx.state, account, body.user_field);
    const base = accountBaseUrl(req, account);
    res
      .status(201)
      .location(`/api/v2/user_fields/${field.id}.json`)
      .json({ user_field: userFieldJson(base, field) });
  });

  return router;
}
