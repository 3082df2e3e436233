import { z } from 'zod';
import type { StoreganiseUserChanges } from '../domain/pair-plan';
import type { StoreganiseCustomer } from '../domain/records';
import type { AdminTask } from '../domain/tasks';
import { parseJson, pathSegment, requestLine, send, type HttpResponse } from './http';

/*
 * Assumptions about the Storeganise admin API that public documentation does not confirm
 * (contract.md). They live here, and only here, so they can be corrected against the live API:
 * - a disabled user carries `disabled: true` (absent = enabled);
 * - users are found by email with `GET /v1/admin/users?search={email}` plus exact filtering;
 * - a user's rentals: `GET /v1/admin/unit-rentals?ownerId={id}`; states reserved/occupied/ended;
 * - custom fields: `GET /v1/admin/custom-fields?model=user`, created with
 *   `POST /v1/admin/custom-fields { model, code, type, title, ownerAcl: 'read' }`;
 * - a user write whose email another user holds answers 409 or 422 (both mean conflict);
 * - `GET /v1/admin/users` and `/v1/admin/unit-rentals` page with `limit` (up to 1000) and `offset`
 *   in a stable order (records are never deleted, new ones come last), and take `updatedAfter`
 *   (ISO UTC) for the records changed after that moment (S5 names it for users; seen for rentals);
 * - job events carry `unitRentalId` (starter template) or only `jobId` (seen in production code);
 * - an admin task (job of type `task`) is closed by completing its open step with
 *   `PUT /v1/admin/jobs/{id}/steps/{stepId} { state: 'completed' }`, the call seen for other jobs;
 *   the job's `state` then reads `completed`.
 */

export const ZENDESK_USER_ID_FIELD = 'zendesk_userId';
export const OTHER_EMAILS_FIELD = 'zendesk_otherEmails';
export const OTHER_PHONES_FIELD = 'zendesk_otherPhones';

export const USER_CUSTOM_FIELDS = [
  { code: ZENDESK_USER_ID_FIELD, type: 'string', title: 'Zendesk user ID' },
  { code: OTHER_EMAILS_FIELD, type: 'array', title: 'Zendesk other emails' },
  { code: OTHER_PHONES_FIELD, type: 'array', title: 'Zendesk other phone numbers' },
] as const;

/**
 * A failed Storeganise call. The message names the request and the status only; Storeganise's own
 * words (which may quote personal data) stay in `detail`, for admin tasks, never for logs.
 */
export class StoreganiseApiError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
    readonly detail: string | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** 409/422 on a user write: the email belongs to another user. */
export class StoreganiseConflict extends StoreganiseApiError {}
/** 401/403: the add-on key is wrong or the add-on is disabled. */
export class StoreganiseUnauthorized extends StoreganiseApiError {}
/** Another 4xx a person must look at. */
export class StoreganiseRejected extends StoreganiseApiError {}
/** 5xx, 429, timeouts, network: worth retrying. */
export class StoreganiseUnavailable extends StoreganiseApiError {}

const stringList = z.preprocess(
  (v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []),
  z.array(z.string()),
);

const UserSchema = z.looseObject({
  id: z.string(),
  email: z.string().nullish(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  phone: z.string().nullish(),
  disabled: z.boolean().nullish(),
  customFields: z.record(z.string(), z.unknown()).nullish(),
  updated: z.string().nullish(),
});
const RentalSchema = z.looseObject({ id: z.string(), ownerId: z.string().nullish(), state: z.string() });
const JobSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  ownerId: z.string().nullish(),
  data: z.record(z.string(), z.unknown()).nullish(),
  result: z.record(z.string(), z.unknown()).nullish(),
});
const CustomFieldSchema = z.looseObject({ code: z.string(), model: z.string().optional() });
const AddonSchema = z.looseObject({ id: z.string(), customFields: z.record(z.string(), z.unknown()).nullish() });

export type StoreganiseRental = z.infer<typeof RentalSchema>;
export type StoreganiseJob = z.infer<typeof JobSchema>;

/** Parses an answer; zod's message would quote the values, so only the paths are kept. */
function parseWith<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new StoreganiseUnavailable(
      null,
      `unexpected Storeganise ${what} at ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return parsed.data;
}

const parseUser = (raw: unknown): z.infer<typeof UserSchema> => parseWith(UserSchema, raw, 'user');

/** Zendesk user ids are integers; the pointer field is text an admin can edit. */
const ZENDESK_USER_ID = /^\d{1,20}$/;

/**
 * The Zendesk user a customer points to. A value that cannot be a Zendesk id (an admin typed it)
 * points to nobody, like an unset one, so the counterpart is found again and the pointer repaired:
 * such text must never reach a Zendesk URL, nor leave the customer's runs failing for good.
 */
function zendeskPointer(value: unknown): string | null {
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
  return ZENDESK_USER_ID.test(text) ? text : null;
}

function toCustomer(user: z.infer<typeof UserSchema>): StoreganiseCustomer {
  const fields = user.customFields ?? {};
  return {
    id: user.id,
    email: user.email ?? null,
    firstName: user.firstName ?? null,
    lastName: user.lastName ?? null,
    phone: user.phone ?? null,
    disabled: user.disabled === true,
    zendeskUserId: zendeskPointer(fields[ZENDESK_USER_ID_FIELD]),
    otherEmails: stringList.parse(fields[OTHER_EMAILS_FIELD]),
    otherPhones: stringList.parse(fields[OTHER_PHONES_FIELD]),
    updatedAt: user.updated ?? null,
  };
}

const ErrorBodySchema = z.looseObject({
  error: z.union([z.string(), z.looseObject({ message: z.string().optional() })]).optional(),
  message: z.string().optional(),
});

function errorDetail(res: HttpResponse): string | null {
  const body = ErrorBodySchema.safeParse(parseJson(res.text));
  if (!body.success) return null;
  const message =
    typeof body.data.error === 'string' ? body.data.error : (body.data.error?.message ?? body.data.message);
  return message === undefined || message === '' ? null : message.slice(0, 500);
}

// Storeganise ids are ObjectId-like; anything else never reaches a URL.
const STOREGANISE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const storeganiseId = (id: string, kind: string): string => pathSegment(id, `Storeganise ${kind}`, STOREGANISE_ID);

/** Whether text (e.g. a Zendesk external id an agent typed) can be a Storeganise id at all. */
export const isStoreganiseId = (id: string): boolean => STOREGANISE_ID.test(id);

export class StoreganiseClient {
  constructor(
    /** The account's API root, e.g. `https://acme.storeganise.com/api`. */
    private readonly apiUrl: string,
    private readonly addonId: string,
    private readonly apiKey: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: HttpResponse;
    try {
      res = await send(`${this.apiUrl}/v1/admin${path}`, {
        method,
        headers: {
          authorization: `Addon ${this.addonId}|${this.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (err) {
      throw new StoreganiseUnavailable(null, err instanceof Error ? err.message : String(err));
    }
    if (res.status >= 200 && res.status < 300) return res.text === '' ? null : parseJson(res.text);
    if (res.status === 404) return undefined;
    const what = `${requestLine(method, `/v1/admin${path}`)} → ${res.status}`;
    if (res.status === 401 || res.status === 403) throw new StoreganiseUnauthorized(res.status, what);
    if (res.status === 409 || res.status === 422) throw new StoreganiseConflict(res.status, what, errorDetail(res));
    if (res.status >= 500 || res.status === 429 || res.status === 408)
      throw new StoreganiseUnavailable(res.status, what);
    throw new StoreganiseRejected(res.status, what, errorDetail(res));
  }

  private async expect<T>(schema: z.ZodType<T>, method: string, path: string, body?: unknown): Promise<T> {
    const raw = await this.call(method, path, body);
    if (raw === undefined) throw new StoreganiseRejected(404, `${requestLine(method, `/v1/admin${path}`)} → 404`);
    const parsed = schema.safeParse(raw);
    // zod's message quotes the offending values; only the paths are kept.
    if (!parsed.success) {
      throw new StoreganiseUnavailable(
        null,
        `unexpected Storeganise answer to ${requestLine(method, `/v1/admin${path}`)} at ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      );
    }
    return parsed.data;
  }

  async getUser(id: string): Promise<StoreganiseCustomer | null> {
    const raw = await this.call('GET', `/users/${storeganiseId(id, 'user')}?include=customFields`);
    return raw === undefined ? null : toCustomer(parseUser(raw));
  }

  async findUsersByEmail(email: string): Promise<StoreganiseCustomer[]> {
    const wanted = email.trim().toLowerCase();
    const users = await this.expect(
      z.array(UserSchema),
      'GET',
      `/users?search=${encodeURIComponent(email.trim())}&include=customFields&limit=100`,
    );
    return users.filter((u) => (u.email ?? '').trim().toLowerCase() === wanted).map(toCustomer);
  }

  /** One `PUT`: custom fields merge on the Storeganise side, so only the given codes change. Answers the user as written. */
  async updateUser(id: string, changes: StoreganiseUserChanges): Promise<StoreganiseCustomer> {
    return toCustomer(await this.expect(UserSchema, 'PUT', `/users/${storeganiseId(id, 'user')}`, changes));
  }

  async getRental(id: string): Promise<StoreganiseRental | null> {
    const raw = await this.call('GET', `/unit-rentals/${storeganiseId(id, 'rental')}`);
    return raw === undefined ? null : parseWith(RentalSchema, raw, 'rental');
  }

  async listRentalsOf(ownerId: string): Promise<StoreganiseRental[]> {
    const rentals: StoreganiseRental[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await this.expect(
        z.array(RentalSchema),
        'GET',
        `/unit-rentals?ownerId=${storeganiseId(ownerId, 'user')}&limit=100&offset=${offset}`,
      );
      rentals.push(...page);
      if (page.length < 100) return rentals;
    }
  }

  async getJob(id: string): Promise<StoreganiseJob | null> {
    const raw = await this.call('GET', `/jobs/${storeganiseId(id, 'job')}`);
    return raw === undefined ? null : parseWith(JobSchema, raw, 'job');
  }

  async createTask(task: AdminTask): Promise<string> {
    const job = await this.expect(z.looseObject({ id: z.string() }), 'POST', '/jobs', {
      type: 'task',
      ownerId: null,
      data: task,
    });
    return job.id;
  }

  async listUserCustomFieldCodes(): Promise<string[]> {
    const fields = await this.expect(z.array(CustomFieldSchema), 'GET', '/custom-fields?model=user');
    return fields.filter((f) => f.model === undefined || f.model === 'user').map((f) => f.code);
  }

  async createUserCustomField(field: (typeof USER_CUSTOM_FIELDS)[number]): Promise<void> {
    await this.expect(z.unknown(), 'POST', '/custom-fields', {
      model: 'user',
      code: field.code,
      type: field.type,
      title: { en: field.title },
      ownerAcl: 'read',
    });
  }

  /** The add-on's settings (its `customFields`); null when the add-on does not exist for this key. */
  async getAddonSettings(): Promise<Record<string, unknown> | null> {
    const raw = await this.call('GET', `/addons/${storeganiseId(this.addonId, 'add-on')}`);
    return raw === undefined ? null : (parseWith(AddonSchema, raw, 'add-on').customFields ?? {});
  }

  /**
   * Marks an admin task done by completing its open step (see the assumptions above). Answers what
   * it found: `completed`, `already-closed` (completed or cancelled by a person, or no open step),
   * or `gone` (deleted).
   */
  async completeTask(jobId: string): Promise<'completed' | 'already-closed' | 'gone'> {
    const id = storeganiseId(jobId, 'job');
    const raw = await this.call('GET', `/jobs/${id}`);
    if (raw === undefined) return 'gone';
    const TaskJob = z.looseObject({
      state: z.string().nullish(),
      steps: z.array(z.looseObject({ id: z.string(), state: z.string().nullish() })).nullish(),
    });
    const job = parseWith(TaskJob, raw, 'job');
    const open = (job.steps ?? []).find((step) => step.state !== 'completed' && step.state !== 'cancelled');
    if (job.state === 'completed' || job.state === 'cancelled' || open === undefined) return 'already-closed';
    const answer = await this.call('PUT', `/jobs/${id}/steps/${storeganiseId(open.id, 'job step')}`, {
      state: 'completed',
    });
    return answer === undefined ? 'gone' : 'completed';
  }

  /**
   * One page of the account's users with their custom fields, in the order Storeganise lists them
   * (assumed stable: users are never deleted, new ones come last); `updatedAfter` keeps the users
   * changed after that moment. A page shorter than `limit` is the last.
   */
  async listUsersPage(page: { offset: number; limit: number; updatedAfter?: string }): Promise<StoreganiseCustomer[]> {
    const since = page.updatedAfter === undefined ? '' : `&updatedAfter=${encodeURIComponent(page.updatedAfter)}`;
    const users = await this.expect(
      z.array(UserSchema),
      'GET',
      `/users?include=customFields&limit=${page.limit}&offset=${page.offset}${since}`,
    );
    return users.map(toCustomer);
  }

  /** How many users a page of ids-only listing holds: what counting the customers costs. */
  async countUsersPage(page: { offset: number; limit: number }): Promise<number> {
    const users = await this.expect(
      z.array(z.looseObject({ id: z.string() })),
      'GET',
      `/users?limit=${page.limit}&offset=${page.offset}`,
    );
    return users.length;
  }

  /** One page of the account's unit rentals with when each last changed; `updatedAfter` keeps the rentals changed after that moment. */
  async listRentalsPage(page: {
    offset: number;
    limit: number;
    updatedAfter?: string;
  }): Promise<Array<StoreganiseRental & { updated?: string | null | undefined }>> {
    const since = page.updatedAfter === undefined ? '' : `&updatedAfter=${encodeURIComponent(page.updatedAfter)}`;
    return this.expect(
      z.array(RentalSchema.extend({ updated: z.string().nullish() })),
      'GET',
      `/unit-rentals?limit=${page.limit}&offset=${page.offset}${since}`,
    );
  }
}
