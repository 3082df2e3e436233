import { createHmac, randomInt, randomUUID } from 'node:crypto';
import type { ChangeOrigin, ChangeValue } from '../common/change-log';
import type { RetryRule, WebhookOutbox } from '../common/webhook-outbox';
import { isoSeconds, type SandboxState, type UserRecord, type WebhookRecord, type ZendeskAccount } from './state';
import type { FieldValue, UserEventEnvelope } from './wire';

export type UserAction =
  | 'created'
  | 'name_changed'
  | 'external_id_changed'
  | 'notes_changed'
  | 'role_changed'
  | 'active_changed'
  | 'suspended_changed'
  | 'identity_created'
  | 'identity_deleted'
  | 'identity_changed'
  | 'custom_field_changed'
  | 'merged';

export interface UserEvent {
  readonly action: UserAction;
  readonly event: Record<string, unknown>;
}

// Zendesk's own event table prints these three with a slash; the sandbox sends them as printed.
const SLASH_SPELLED = new Set<UserAction>(['identity_changed', 'identity_created', 'merged']);

export function eventTypeOf(action: UserAction): string {
  return SLASH_SPELLED.has(action) ? `zen:event-type/user.${action}` : `zen:event-type:user.${action}`;
}

/** Subscriptions match events whichever delimiter either side uses. */
export function normalizeEventType(type: string): string {
  return type.replace(/^zen:event-type\//, 'zen:event-type:');
}

export const EVENT_TYPE_PATTERN = /^zen:event-type[:/][a-z_]+\.[a-z_]+$/;

interface EventIdentity {
  id: string;
  primary: boolean;
  type: string;
  value: string;
}

export interface UserSnapshot {
  readonly name: string;
  readonly role: string;
  readonly externalId: string | null;
  readonly notes: string;
  readonly active: boolean;
  readonly suspended: boolean;
  readonly email: string | null;
  readonly createdAtMs: number;
  readonly identities: ReadonlyMap<number, EventIdentity>;
  readonly fields: ReadonlyMap<string, FieldValue>;
}

export function snapshotUser(account: ZendeskAccount, user: UserRecord): UserSnapshot {
  const identities = account.identitiesOf(user.id);
  return {
    name: user.name,
    role: user.role,
    externalId: user.externalId,
    notes: user.notes,
    active: user.active,
    suspended: user.suspended,
    email: identities.find((i) => i.type === 'email' && i.primary)?.value ?? null,
    createdAtMs: user.createdAtMs,
    identities: new Map(
      identities.map((i) => [i.id, { id: String(i.id), primary: i.primary, type: i.type, value: i.value }]),
    ),
    fields: new Map(account.activeFields().map((f) => [f.key, user.userFields.get(f.key) ?? null])),
  };
}

/** The events Zendesk would emit for the difference between two states of one user. */
export function diffUser(account: ZendeskAccount, before: UserSnapshot, after: UserSnapshot): UserEvent[] {
  // A deletion (or a merge away) is reported as the user leaving, not as every side effect of leaving.
  if (before.active && !after.active) return [{ action: 'active_changed', event: { current: false, previous: true } }];
  const events: UserEvent[] = [];
  const changed = (action: UserAction, previous: unknown, current: unknown): void => {
    if (previous !== current) events.push({ action, event: { current, previous } });
  };
  changed('name_changed', before.name, after.name);
  changed('external_id_changed', before.externalId ?? '', after.externalId ?? '');
  changed('role_changed', before.role, after.role);
  changed('notes_changed', before.notes, after.notes);
  changed('suspended_changed', before.suspended, after.suspended);
  for (const [id, identity] of after.identities) {
    const previous = before.identities.get(id);
    if (!previous) events.push({ action: 'identity_created', event: { identity } });
    else if (previous.value !== identity.value || previous.primary !== identity.primary)
      events.push({ action: 'identity_changed', event: { current: identity, previous } });
  }
  for (const [id, identity] of before.identities) {
    if (!after.identities.has(id)) events.push({ action: 'identity_deleted', event: { identity } });
  }
  for (const [key, current] of after.fields) {
    const previous = before.fields.get(key) ?? null;
    const field = account.fieldByKey(key);
    if (field && JSON.stringify(previous) !== JSON.stringify(current)) {
      events.push({
        action: 'custom_field_changed',
        event: { current, previous, custom_field: { id: String(field.id), title: field.title, type: field.type } },
      });
    }
  }
  changed('active_changed', before.active, after.active);
  return events;
}

/** The fields the change log follows, as stored; `user_fields.<key>` only for keys the user ever had set. */
function loggedFields(account: ZendeskAccount, user: UserRecord): Map<string, ChangeValue> {
  const fields = new Map<string, ChangeValue>([
    ['name', user.name],
    ['email', account.primaryIdentity(user.id, 'email')?.value ?? null],
    ['phone', account.primaryIdentity(user.id, 'phone_number')?.value ?? null],
    ['external_id', user.externalId],
    ['suspended', user.suspended],
    ['notes', user.notes],
    ['active', user.active],
  ]);
  for (const [key, value] of user.userFields) fields.set(`user_fields.${key}`, value);
  return fields;
}

function changedFields(
  before: ReadonlyMap<string, ChangeValue>,
  after: ReadonlyMap<string, ChangeValue>,
): Array<[string, ChangeValue]> {
  const changed: Array<[string, ChangeValue]> = [];
  for (const field of new Set([...before.keys(), ...after.keys()])) {
    const value = after.get(field) ?? null;
    if (JSON.stringify(before.get(field) ?? null) !== JSON.stringify(value)) changed.push([field, value]);
  }
  return changed;
}

export function signWebhookBody(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret)
    .update(timestamp + body)
    .digest('base64');
}

/** Zendesk's documented rule: timeouts ×5, 409 ×3, 429/503 only with a Retry-After under a minute. */
export const zendeskRetryRule: RetryRule = ({ status, retryAfterSeconds }, attempt) => {
  const backoffMs = 200 * 2 ** (attempt - 1);
  if (status === null) return attempt <= 5 ? backoffMs : null;
  if (status === 409) return attempt <= 3 ? backoffMs : null;
  const waitable =
    retryAfterSeconds !== null &&
    Number.isFinite(retryAfterSeconds) &&
    retryAfterSeconds >= 0 &&
    retryAfterSeconds < 60;
  // The cap of 5 is the sandbox's: Zendesk documents no limit, and a sandbox must not loop forever.
  if ((status === 429 || status === 503) && waitable && attempt <= 5) return retryAfterSeconds * 1000;
  return null;
};

/**
 * Publishes user events and writes the field-level change log. `via` is who the changes are
 * recorded as made by: one publisher serves the REST API (`api`), another the control API (`control`).
 */
export class EventPublisher {
  constructor(
    private readonly state: SandboxState,
    private readonly outbox: WebhookOutbox,
    private readonly via: ChangeOrigin,
  ) {}

  /** The same publisher, recording its changes as made through `via`. */
  madeVia(via: ChangeOrigin): EventPublisher {
    return new EventPublisher(this.state, this.outbox, via);
  }

  userCreated(account: ZendeskAccount, user: UserRecord): void {
    user.changeSeq = this.state.nextChangeSeq();
    // A field that never had a value starts the timeline as null without an entry.
    const initial = [...loggedFields(account, user)].filter(
      ([field, value]) => !(field.startsWith('user_fields.') && value === null),
    );
    account.changes.record(user.id, user.updatedAtMs, this.via, initial);
    this.publish(account, user, snapshotUser(account, user), [{ action: 'created', event: {} }]);
  }

  /**
   * Runs `change`, then bumps `updated_at` of every listed user it changed and publishes the events.
   * `extra` events (e.g. `merged`) come first, before those derived from the difference.
   */
  track<T>(
    account: ZendeskAccount,
    users: readonly UserRecord[],
    change: () => T,
    extra: ReadonlyMap<number, UserEvent[]> = new Map(),
  ): T {
    const before = users.map((user) => ({
      user,
      snapshot: snapshotUser(account, user),
      fields: loggedFields(account, user),
    }));
    const result = change();
    for (const { user, snapshot, fields } of before) {
      const after = snapshotUser(account, user);
      const events = [...(extra.get(user.id) ?? []), ...diffUser(account, snapshot, after)];
      // A value of an inactive user field changes without an event, yet it is a change.
      const changed = changedFields(fields, loggedFields(account, user));
      if (events.length === 0 && changed.length === 0) continue;
      // Strictly later than the previous change, so one user's change-log entries with one time are one write.
      user.updatedAtMs = Math.max(Date.now(), user.updatedAtMs + 1);
      user.changeSeq = this.state.nextChangeSeq();
      account.changes.record(user.id, user.updatedAtMs, this.via, changed);
      // A user who just left is described as they were, so receivers still see the address and external id.
      if (events.length > 0) this.publish(account, user, after.active ? after : snapshot, events);
    }
    return result;
  }

  private publish(account: ZendeskAccount, user: UserRecord, view: UserSnapshot, events: UserEvent[]): void {
    const time = isoSeconds(Date.now());
    for (const { action, event } of events) {
      const type = eventTypeOf(action);
      const envelope: UserEventEnvelope = {
        type,
        account_id: account.accountId,
        id: randomUUID(),
        time,
        zendesk_event_version: '2022-06-20',
        subject: `zen:user:${user.id}`,
        detail: {
          created_at: isoSeconds(view.createdAtMs),
          email: view.email ?? '',
          external_id: view.externalId ?? '',
          default_group_id: '0',
          id: String(user.id),
          organization_id: '0',
          role: view.role,
          updated_at: isoSeconds(user.updatedAtMs),
        },
        event,
      };
      const targets = [...account.webhooks.values()].filter((w) => subscribes(w, type));
      const body = JSON.stringify(envelope);
      const droppedWebhookIds: string[] = [];
      for (const webhook of targets) {
        const outcome = this.outbox.enqueue({
          account: account.subdomain,
          url: webhook.endpoint,
          eventType: type,
          eventId: envelope.id,
          headers: deliveryHeaders(account, webhook, body),
          body,
        });
        if (outcome === 'dropped') droppedWebhookIds.push(webhook.id);
      }
      account.events.push({ envelope, webhookIds: targets.map((w) => w.id), droppedWebhookIds });
    }
  }
}

function subscribes(webhook: WebhookRecord, type: string): boolean {
  const wanted = normalizeEventType(type);
  return webhook.status === 'active' && webhook.subscriptions.some((s) => normalizeEventType(s) === wanted);
}

function deliveryHeaders(account: ZendeskAccount, webhook: WebhookRecord, body: string): Record<string, string> {
  const timestamp = isoSeconds(Date.now());
  return {
    ...lowerCaseKeys(webhook.customHeaders),
    ...authenticationHeader(webhook),
    'content-type': 'application/json',
    'x-zendesk-account-id': String(account.accountId),
    'x-zendesk-webhook-id': webhook.id,
    'x-zendesk-webhook-invocation-id': String(randomInt(1_000_000_000, 9_999_999_999)),
    'x-zendesk-webhook-signature-timestamp': timestamp,
    'x-zendesk-webhook-signature': signWebhookBody(webhook.signingSecret, timestamp, body),
  };
}

function authenticationHeader(webhook: WebhookRecord): Record<string, string> {
  const auth = webhook.authentication;
  if (!auth) return {};
  switch (auth.type) {
    case 'api_key':
      return { [auth.data.name.toLowerCase()]: auth.data.value };
    case 'basic_auth':
      return {
        authorization: `Basic ${Buffer.from(`${auth.data.username}:${auth.data.password}`).toString('base64')}`,
      };
    case 'bearer_token':
      return { authorization: `Bearer ${auth.data.token}` };
  }
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
