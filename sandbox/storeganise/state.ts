import { randomBytes } from 'node:crypto';
import { FieldChangeLog } from '../common/change-log';
import type {
  AddonState,
  CustomFieldModel,
  CustomFieldType,
  CustomFieldValues,
  RentalState,
  SandboxCustomField,
  SandboxSgEvent,
} from './records';
import { SgApiError, notFound } from './errors';

export interface SgUser {
  readonly id: string;
  email: string;
  firstName: string;
  lastName: string;
  phone: string | undefined;
  language: string;
  disabled: boolean;
  customFields: CustomFieldValues;
  readonly created: string;
  updated: string;
}

export interface UnitRental {
  readonly id: string;
  readonly unitId: string;
  readonly siteId: string;
  readonly ownerId: string;
  state: RentalState;
  startDate: string;
  endDate: string | undefined;
  moveInJobId: string | undefined;
  readonly price: number;
  readonly deposit: number;
  customFields: CustomFieldValues;
  readonly created: string;
  updated: string;
}

export interface JobStep {
  readonly id: string;
  readonly type: string;
  state: string;
  completedAt?: string;
  result?: Record<string, unknown>;
}

export interface Job {
  readonly id: string;
  readonly type: string;
  state: string;
  readonly ownerId: string | null;
  data: Record<string, unknown>;
  result: Record<string, unknown> | undefined;
  steps: JobStep[] | undefined;
  readonly created: string;
  updated: string;
}

export interface CustomFieldDefinition {
  readonly id: string;
  readonly model: CustomFieldModel;
  readonly code: string;
  readonly type: CustomFieldType;
  readonly title: SandboxCustomField['title'];
  readonly ownerAcl: SandboxCustomField['ownerAcl'];
  readonly created: string;
}

/** One Storeganise business with the Zendesk add-on installed. */
export interface Account {
  readonly subdomain: string;
  readonly addonId: string;
  addonApiKey: string;
  adminApiKey: string | null;
  addonState: AddonState;
  webhookUrl: string | null;
  webhookSecret: string;
  /** The add-on's custom fields: the operator's settings. */
  settings: Record<string, unknown>;
  readonly siteId: string;
  readonly created: string;
  settingsUpdated: string;
  readonly users: Map<string, SgUser>;
  readonly rentals: Map<string, UnitRental>;
  readonly jobs: Map<string, Job>;
  readonly customFields: CustomFieldDefinition[];
  readonly events: SandboxSgEvent[];
  readonly changes: FieldChangeLog<string>;
}

/** Where an account's changes go: recorded, then sent to the add-on's webhook URL. */
export interface EventPublisher {
  /** `created`: when the change that caused the event was made, e.g. the user's new `updated`. */
  publish(account: Account, type: string, data: Record<string, unknown>, created: string): void;
}

let idCounter = randomBytes(3).readUIntBE(0, 3);

/** A 24-hex id laid out like a MongoDB ObjectId (time, random, counter), as Storeganise ids are. */
export function newObjectId(): string {
  const seconds = Math.floor(Date.now() / 1000);
  idCounter = (idCounter + 1) % 0x1000000;
  return (
    seconds.toString(16).padStart(8, '0') + randomBytes(5).toString('hex') + idCounter.toString(16).padStart(6, '0')
  );
}

export const nowIso = (): string => new Date().toISOString();

/** Now, or 1 ms after `previous` if the clock has not passed it: a record's `updated` then names one change. */
export const instantAfter = (previous: string): string =>
  new Date(Math.max(Date.now(), Date.parse(previous) + 1)).toISOString();

/** Calendar date `YYYY-MM-DD` (UTC), the format of rental start and end dates. */
export const today = (): string => nowIso().slice(0, 10);

export interface NewAccount {
  subdomain: string;
  addonId?: string | undefined;
  addonApiKey: string;
  adminApiKey?: string | undefined;
  addonState?: AddonState | undefined;
  webhookUrl?: string | undefined;
  webhookSecret: string;
  settings?: Record<string, unknown> | undefined;
}

export class AccountRegistry implements EventPublisher {
  private readonly accounts = new Map<string, Account>();

  constructor(private readonly publisher: EventPublisher) {}

  create(input: NewAccount): Account {
    if (this.accounts.has(input.subdomain)) throw new SgApiError(409, `Account already exists: ${input.subdomain}`);
    const created = nowIso();
    const account: Account = {
      subdomain: input.subdomain,
      addonId: input.addonId ?? newObjectId(),
      addonApiKey: input.addonApiKey,
      adminApiKey: input.adminApiKey ?? null,
      addonState: input.addonState ?? 'enabled',
      webhookUrl: input.webhookUrl ?? null,
      webhookSecret: input.webhookSecret,
      settings: input.settings ?? {},
      siteId: newObjectId(),
      created,
      settingsUpdated: created,
      users: new Map(),
      rentals: new Map(),
      jobs: new Map(),
      customFields: [],
      events: [],
      changes: new FieldChangeLog(input.subdomain),
    };
    this.accounts.set(account.subdomain, account);
    return account;
  }

  /** Puts back an account read from the sandbox's state file. */
  restore(account: Account): void {
    this.accounts.set(account.subdomain, account);
  }

  find(subdomain: string): Account | undefined {
    return this.accounts.get(subdomain);
  }

  require(subdomain: string): Account {
    const account = this.accounts.get(subdomain);
    if (!account) throw notFound('Account', subdomain);
    return account;
  }

  list(): Account[] {
    return [...this.accounts.values()];
  }

  publish(account: Account, type: string, data: Record<string, unknown>, created: string): void {
    this.publisher.publish(account, type, data, created);
  }

  clear(): void {
    this.accounts.clear();
  }
}
