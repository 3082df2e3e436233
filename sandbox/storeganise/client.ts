import { z } from 'zod';
import { FaultSettingsSchema, type FaultSettings, type FaultSettingsInput } from '../common/faults';
import { fetchReadOnce } from '../common/http-server';
import { LoggedRequestSchema, type LoggedRequest, type RequestFilter } from '../common/request-log';
import {
  SandboxCustomFieldSchema,
  SandboxJobSchema,
  SandboxSgAccountSchema,
  SandboxSgEventSchema,
  SandboxSgFieldChangeSchema,
  SandboxSgUserSchema,
  SandboxUnitRentalSchema,
  type AddonState,
  type CustomFieldModel,
  type CustomFieldType,
  type CustomFieldValue,
  type RentalState,
  type SandboxCustomField,
  type SandboxJob,
  type SandboxSgAccount,
  type SandboxSgEvent,
  type SandboxSgFieldChange,
  type SandboxSgUser,
  type SandboxUnitRental,
} from './records';

export type {
  SandboxAddon,
  SandboxCustomField,
  SandboxJob,
  SandboxSgAccount,
  SandboxSgEvent,
  SandboxSgFieldChange,
  SandboxSgUser,
  SandboxSgWebhookBody,
  SandboxUnitRental,
} from './records';

export interface NewSandboxAccount {
  subdomain: string;
  addonId?: string;
  addonApiKey: string;
  adminApiKey?: string;
  addonState?: AddonState;
  webhookUrl?: string;
  webhookSecret: string;
  /** The add-on's custom fields (operator settings). */
  settings?: Record<string, unknown>;
  emitInstalled?: boolean;
}

export interface SandboxAccountPatch {
  addonApiKey?: string;
  adminApiKey?: string | null;
  addonState?: AddonState;
  webhookUrl?: string | null;
  webhookSecret?: string;
  settings?: Record<string, unknown>;
}

/** `null` clears a field; keys not given are kept. */
export type SandboxCustomFieldPatch = Record<string, CustomFieldValue | null>;

export interface NewSandboxSgUser {
  email: string;
  firstName: string;
  lastName: string;
  phone?: string;
  language?: string;
  customFields?: SandboxCustomFieldPatch;
}

export interface SandboxSgUserPatch {
  email?: string;
  firstName?: string;
  lastName?: string;
  phone?: string | null;
  language?: string;
  disabled?: boolean;
  customFields?: SandboxCustomFieldPatch;
}

export interface NewSandboxCustomField {
  model: CustomFieldModel;
  code: string;
  type: CustomFieldType;
  title: string | Record<string, string>;
  ownerAcl?: 'none' | 'read' | 'write';
}

export type SandboxSgLoggedRequest = LoggedRequest;

export interface SandboxSgChangeFilter {
  /** Only entries with a larger `seq`. */
  sinceSeq?: number;
  userId?: string;
}

const DeliverySchema = z.object({
  seq: z.number(),
  account: z.string(),
  url: z.string(),
  eventType: z.string(),
  eventId: z.string(),
  attempts: z.number(),
  status: z.number().nullable(),
  error: z.string().nullable(),
  sentAt: z.string(),
});
export type SandboxSgDelivery = z.infer<typeof DeliverySchema>;

const RentalChangeSchema = z.object({ job: SandboxJobSchema, unitRental: SandboxUnitRentalSchema });
export type SandboxRentalChange = z.infer<typeof RentalChangeSchema>;
const TransferResultSchema = z.object({
  job: SandboxJobSchema,
  oldRental: SandboxUnitRentalSchema,
  newRental: SandboxUnitRentalSchema,
});
export type SandboxTransferResult = z.infer<typeof TransferResultSchema>;

const ErrorBodySchema = z.object({ error: z.object({ message: z.string() }) });

/** A control API call the sandbox refused; `status` and `message` are what it answered. */
export class StoreganiseSandboxError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`Storeganise sandbox answered ${status}: ${message}`);
    this.name = 'StoreganiseSandboxError';
  }
}

type Query = Record<string, string | number | undefined>;

/** Typed client of the sandbox's control API (`/_sandbox`). */
export class StoreganiseSandboxClient {
  private readonly base: string;

  constructor(baseUrl: string) {
    this.base = `${baseUrl.replace(/\/+$/, '')}/_sandbox`;
  }

  reset(): Promise<void> {
    return this.send('POST', '/reset');
  }

  /** Resolves once every webhook has been delivered or given up on. */
  idle(): Promise<void> {
    return this.send('POST', '/idle');
  }

  requests(filter: RequestFilter = {}): Promise<SandboxSgLoggedRequest[]> {
    return this.call(z.array(LoggedRequestSchema), 'GET', '/requests', undefined, { ...filter });
  }

  listAccounts(): Promise<SandboxSgAccount[]> {
    return this.call(z.array(SandboxSgAccountSchema), 'GET', '/accounts');
  }

  createAccount(input: NewSandboxAccount): Promise<SandboxSgAccount> {
    return this.call(SandboxSgAccountSchema, 'POST', '/accounts', input);
  }

  getAccount(subdomain: string): Promise<SandboxSgAccount> {
    return this.call(SandboxSgAccountSchema, 'GET', this.account(subdomain));
  }

  updateAccount(subdomain: string, patch: SandboxAccountPatch): Promise<SandboxSgAccount> {
    return this.call(SandboxSgAccountSchema, 'PATCH', this.account(subdomain), patch);
  }

  /** Sends `addon.installed` again, as reinstalling the add-on would. */
  emitInstalled(subdomain: string): Promise<void> {
    return this.send('POST', `${this.account(subdomain)}/installed`);
  }

  listUsers(subdomain: string): Promise<SandboxSgUser[]> {
    return this.call(z.array(SandboxSgUserSchema), 'GET', `${this.account(subdomain)}/users`);
  }

  getUser(subdomain: string, userId: string): Promise<SandboxSgUser> {
    return this.call(SandboxSgUserSchema, 'GET', `${this.account(subdomain)}/users/${encodeURIComponent(userId)}`);
  }

  createUser(subdomain: string, input: NewSandboxSgUser): Promise<SandboxSgUser> {
    return this.call(SandboxSgUserSchema, 'POST', `${this.account(subdomain)}/users`, input);
  }

  updateUser(subdomain: string, userId: string, patch: SandboxSgUserPatch): Promise<SandboxSgUser> {
    return this.call(
      SandboxSgUserSchema,
      'PATCH',
      `${this.account(subdomain)}/users/${encodeURIComponent(userId)}`,
      patch,
    );
  }

  reserveUnit(subdomain: string, input: { userId: string; unitId?: string }): Promise<SandboxRentalChange> {
    return this.call(RentalChangeSchema, 'POST', `${this.account(subdomain)}/reservations`, input);
  }

  /** Occupies a new unit, or the reserved rental named by `unitRentalId`. */
  moveIn(
    subdomain: string,
    input: { userId: string; unitId?: string; unitRentalId?: string },
  ): Promise<SandboxRentalChange> {
    return this.call(RentalChangeSchema, 'POST', `${this.account(subdomain)}/move-ins`, input);
  }

  moveOut(subdomain: string, input: { unitRentalId: string }): Promise<SandboxRentalChange> {
    return this.call(RentalChangeSchema, 'POST', `${this.account(subdomain)}/move-outs`, input);
  }

  transfer(subdomain: string, input: { unitRentalId: string; newUnitId?: string }): Promise<SandboxTransferResult> {
    return this.call(TransferResultSchema, 'POST', `${this.account(subdomain)}/transfers`, input);
  }

  listUnitRentals(subdomain: string, filter: { ownerId?: string; state?: string } = {}): Promise<SandboxUnitRental[]> {
    return this.call(
      z.array(SandboxUnitRentalSchema),
      'GET',
      `${this.account(subdomain)}/unit-rentals`,
      undefined,
      filter,
    );
  }

  updateUnitRental(
    subdomain: string,
    unitRentalId: string,
    patch: { state?: RentalState; customFields?: SandboxCustomFieldPatch },
  ): Promise<SandboxUnitRental> {
    const path = `${this.account(subdomain)}/unit-rentals/${encodeURIComponent(unitRentalId)}`;
    return this.call(SandboxUnitRentalSchema, 'PATCH', path, patch);
  }

  /** Jobs of every kind, admin tasks included. */
  listJobs(subdomain: string, filter: { type?: string; state?: string; ownerId?: string } = {}): Promise<SandboxJob[]> {
    return this.call(z.array(SandboxJobSchema), 'GET', `${this.account(subdomain)}/jobs`, undefined, filter);
  }

  /** E.g. an operator closing an admin task: `{ state: 'completed' }`. */
  updateJob(subdomain: string, jobId: string, patch: { state: string }): Promise<SandboxJob> {
    return this.call(SandboxJobSchema, 'PATCH', `${this.account(subdomain)}/jobs/${encodeURIComponent(jobId)}`, patch);
  }

  listCustomFields(subdomain: string, filter: { model?: CustomFieldModel } = {}): Promise<SandboxCustomField[]> {
    return this.call(
      z.array(SandboxCustomFieldSchema),
      'GET',
      `${this.account(subdomain)}/custom-fields`,
      undefined,
      filter,
    );
  }

  createCustomField(subdomain: string, input: NewSandboxCustomField): Promise<SandboxCustomField> {
    return this.call(SandboxCustomFieldSchema, 'POST', `${this.account(subdomain)}/custom-fields`, input);
  }

  /** An admin deleting a definition in the settings: the values records held under the code go with it. */
  deleteCustomField(subdomain: string, code: string, model: CustomFieldModel = 'user'): Promise<void> {
    return this.send('DELETE', `${this.account(subdomain)}/custom-fields/${encodeURIComponent(code)}`, undefined, {
      model,
    });
  }

  /** Every event the account emitted, in order, whether or not it was sent. */
  events(subdomain: string): Promise<SandboxSgEvent[]> {
    return this.call(z.array(SandboxSgEventSchema), 'GET', `${this.account(subdomain)}/events`);
  }

  /** Every value a user field took, in order, with who set it (`api` or `control`). */
  changes(subdomain: string, filter: SandboxSgChangeFilter = {}): Promise<SandboxSgFieldChange[]> {
    return this.call(z.array(SandboxSgFieldChangeSchema), 'GET', `${this.account(subdomain)}/changes`, undefined, {
      ...filter,
    });
  }

  /** One record per delivery attempt chain: final status, attempts, error. */
  deliveries(subdomain: string): Promise<SandboxSgDelivery[]> {
    return this.call(z.array(DeliverySchema), 'GET', `${this.account(subdomain)}/deliveries`);
  }

  getFaults(subdomain: string): Promise<FaultSettings> {
    return this.call(FaultSettingsSchema, 'GET', `${this.account(subdomain)}/faults`);
  }

  setFaults(subdomain: string, settings: FaultSettingsInput): Promise<FaultSettings> {
    return this.call(FaultSettingsSchema, 'PUT', `${this.account(subdomain)}/faults`, settings);
  }

  private account(subdomain: string): string {
    return `/accounts/${encodeURIComponent(subdomain)}`;
  }

  private async send(method: string, path: string, body?: unknown, query?: Query): Promise<void> {
    await this.request(method, path, body, query);
  }

  private async call<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    body?: unknown,
    query?: Query,
  ): Promise<z.infer<S>> {
    const text = await this.request(method, path, body, query);
    return schema.parse(JSON.parse(text));
  }

  private async request(method: string, path: string, body?: unknown, query: Query = {}): Promise<string> {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const res = await fetchReadOnce(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      const parsed = ErrorBodySchema.safeParse(safeJson(text));
      throw new StoreganiseSandboxError(res.status, parsed.success ? parsed.data.error.message : text);
    }
    return text;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: the caller falls back to the raw text as the error message.
    return undefined;
  }
}
