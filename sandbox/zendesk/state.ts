import { FieldChangeLog } from '../common/change-log';
import type { Faults } from '../common/faults';
import type { RequestLog } from '../common/request-log';
import type { WebhookOutbox } from '../common/webhook-outbox';
import type { EventPublisher } from './events';
import type { OAuthStore } from './oauth';
import type {
  AccountSettings,
  AccountSettingsPatch,
  FieldValue,
  IdentityType,
  Role,
  UserEventEnvelope,
  UserFieldType,
  WebhookAuthentication,
  WebhookJson,
} from './wire';

export const DEFAULT_ACCOUNT_SETTINGS: AccountSettings = {
  name: null,
  rateLimitPerMinute: 700,
  rateLimitWindowSeconds: 60,
  accessTokenTtlSeconds: 7200,
  autoApprove: false,
  exportMinAgeSeconds: 60,
  exportRateLimitPerMinute: 10,
};

export function applySettings(current: AccountSettings, patch: AccountSettingsPatch): AccountSettings {
  const defined = Object.entries(patch).filter(([, value]) => value !== undefined);
  return { ...current, ...Object.fromEntries(defined) };
}

export interface UserRecord {
  readonly id: number;
  name: string;
  role: Role;
  externalId: string | null;
  notes: string;
  details: string;
  suspended: boolean;
  active: boolean;
  verified: boolean;
  /** Only keys that were ever set; the JSON view adds every other active field as null. */
  userFields: Map<string, FieldValue>;
  readonly createdAtMs: number;
  updatedAtMs: number;
  /** Global, strictly increasing; orders the incremental export without ties. */
  changeSeq: number;
}

export interface IdentityRecord {
  readonly id: number;
  /** Changes only through `ZendeskAccount.moveIdentity` (a merge), which keeps the index right. */
  userId: number;
  readonly type: IdentityType;
  value: string;
  primary: boolean;
  verified: boolean;
  readonly createdAtMs: number;
  updatedAtMs: number;
}

export interface UserFieldOption {
  readonly id: number;
  name: string;
  value: string;
  position: number;
}

export interface UserFieldRecord {
  readonly id: number;
  readonly key: string;
  readonly type: UserFieldType;
  title: string;
  description: string;
  active: boolean;
  position: number;
  regexpForValidation: string | null;
  options: UserFieldOption[];
  readonly createdAtMs: number;
  updatedAtMs: number;
}

export interface WebhookRecord {
  readonly id: string;
  name: string;
  description: string;
  status: WebhookJson['status'];
  endpoint: string;
  httpMethod: WebhookJson['http_method'];
  requestFormat: WebhookJson['request_format'];
  subscriptions: string[];
  authentication: WebhookAuthentication | null;
  customHeaders: Record<string, string>;
  signingSecret: string;
  readonly createdAtMs: number;
  updatedAtMs: number;
  readonly createdBy: string;
  updatedBy: string;
}

export interface VerificationEmail {
  readonly at: string;
  readonly userId: number;
  readonly identityId: number;
  readonly address: string;
  readonly reason: 'user_created' | 'identity_created' | 'email_added_by_update';
}

export interface EmittedEvent {
  readonly envelope: UserEventEnvelope;
  /** Webhooks the event was meant for (active and subscribed at emission time). */
  readonly webhookIds: string[];
  /** Those of `webhookIds` the `webhooks.dropRate` fault chose: the event never reached them. */
  readonly droppedWebhookIds: string[];
}

export class ZendeskAccount {
  readonly users = new Map<number, UserRecord>();
  private readonly identityById = new Map<number, IdentityRecord>();
  private readonly identityIdsByUser = new Map<number, Set<number>>();
  readonly userFields = new Map<number, UserFieldRecord>();
  readonly webhooks = new Map<string, WebhookRecord>();
  readonly verificationEmails: VerificationEmail[] = [];
  readonly events: EmittedEvent[] = [];
  readonly changes: FieldChangeLog<number>;
  readonly budget = { windowStartMs: 0, used: 0 };
  /** The incremental export's own limit (10 calls a minute on Zendesk), a fixed window like the budget. */
  readonly exportBudget = { windowStartMs: 0, used: 0 };

  constructor(
    readonly subdomain: string,
    readonly accountId: number,
    /** The admin every OAuth grant acts as; not a user record. */
    readonly adminUserId: number,
    public settings: AccountSettings,
  ) {
    this.changes = new FieldChangeLog(subdomain);
  }

  get displayName(): string {
    return this.settings.name ?? this.subdomain;
  }

  get identities(): ReadonlyMap<number, IdentityRecord> {
    return this.identityById;
  }

  putIdentity(identity: IdentityRecord): void {
    this.identityById.set(identity.id, identity);
    this.indexOf(identity.userId).add(identity.id);
  }

  deleteIdentity(identity: IdentityRecord): void {
    this.identityById.delete(identity.id);
    this.indexOf(identity.userId).delete(identity.id);
  }

  moveIdentity(identity: IdentityRecord, userId: number): void {
    this.indexOf(identity.userId).delete(identity.id);
    identity.userId = userId;
    this.indexOf(userId).add(identity.id);
  }

  identitiesOf(userId: number): IdentityRecord[] {
    return [...this.indexOf(userId)].flatMap((id) => this.identityById.get(id) ?? []).sort((a, b) => a.id - b.id);
  }

  /** Records the verification email Zendesk would send for an unverified email identity. */
  sendVerificationEmail(identity: IdentityRecord, reason: VerificationEmail['reason']): void {
    this.verificationEmails.push({
      at: new Date().toISOString(),
      userId: identity.userId,
      identityId: identity.id,
      address: identity.value,
      reason,
    });
  }

  primaryIdentity(userId: number, type: IdentityType): IdentityRecord | undefined {
    return this.identitiesOf(userId).find((i) => i.type === type && i.primary);
  }

  /** Emails are unique across the account; deleted users hold none (their identities are removed). */
  identityByEmail(email: string): IdentityRecord | undefined {
    const wanted = email.trim().toLowerCase();
    return [...this.identities.values()].find((i) => i.type === 'email' && i.value === wanted);
  }

  userByExternalId(externalId: string): UserRecord | undefined {
    const wanted = externalId.toLowerCase();
    return [...this.users.values()].find((u) => u.externalId !== null && u.externalId.toLowerCase() === wanted);
  }

  private indexOf(userId: number): Set<number> {
    let ids = this.identityIdsByUser.get(userId);
    if (!ids) this.identityIdsByUser.set(userId, (ids = new Set()));
    return ids;
  }

  activeFields(): UserFieldRecord[] {
    return [...this.userFields.values()].filter((f) => f.active).sort((a, b) => a.position - b.position || a.id - b.id);
  }

  fieldByKey(key: string): UserFieldRecord | undefined {
    return [...this.userFields.values()].find((f) => f.key === key);
  }
}

export interface SandboxCounters {
  lastId: number;
  lastChangeSeq: number;
  lastAccountId: number;
}

export class SandboxState {
  readonly accounts = new Map<string, ZendeskAccount>();
  // Ids keep growing across resets so a stale id from before a reset never points at a new record.
  private lastId = 10_000_000_000_000;
  private lastChangeSeq = 0;
  private lastAccountId = 12_500_000;

  /** Integer ids above 2^32 and below 2^53, as Zendesk's 13-14 digit ids are. */
  nextId(): number {
    this.lastId += 1 + Math.floor(Math.random() * 7);
    return this.lastId;
  }

  nextChangeSeq(): number {
    return ++this.lastChangeSeq;
  }

  nextAccountId(): number {
    return ++this.lastAccountId;
  }

  /** The id sequences, kept with the records so a restarted sandbox never hands out an id twice. */
  counters(): SandboxCounters {
    return { lastId: this.lastId, lastChangeSeq: this.lastChangeSeq, lastAccountId: this.lastAccountId };
  }

  restoreCounters(counters: SandboxCounters): void {
    this.lastId = Math.max(this.lastId, counters.lastId);
    this.lastChangeSeq = Math.max(this.lastChangeSeq, counters.lastChangeSeq);
    this.lastAccountId = Math.max(this.lastAccountId, counters.lastAccountId);
  }

  reset(): void {
    this.accounts.clear();
  }
}

export interface SandboxContext {
  readonly state: SandboxState;
  readonly events: EventPublisher;
  readonly oauth: OAuthStore;
  readonly faults: Faults;
  readonly requestLog: RequestLog;
  readonly outbox: WebhookOutbox;
}

/** Zendesk prints timestamps as ISO-8601 UTC without milliseconds. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
