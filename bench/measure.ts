import type { TappedWebhook } from './webhook-tap';
import type { BenchUser, Change, Side } from './workload';

/** A request as both sandboxes log it (`atMs`: arrival; `durationMs`: until answered). */
export interface ApiRequest {
  seq: number;
  atMs: number;
  durationMs: number;
  method: string;
  path: string;
  query: string;
  status: number;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const isWrite = (r: ApiRequest): boolean => WRITE_METHODS.has(r.method);
const ok = (r: ApiRequest): boolean => r.status >= 200 && r.status < 300;

/** Which user a request concerns, and what kind of request it is. */
interface Classified {
  request: ApiRequest;
  side: Side;
  user: BenchUser | null;
  /** e.g. `PUT /users/:id`, `GET /users/:id/identities`, `GET /addons/:id`. */
  endpoint: string;
}

const ZENDESK_PATH = /^\/zendesk\/[^/]+(\/.*)$/;
const STOREGANISE_PATH = /^\/[^/]+\/api\/v1\/admin(\/.*)$/;

function endpointOf(rest: string): string {
  return rest
    .replace(/\.json(?=\/|$)/g, '')
    .replace(/\/[0-9a-f]{24}(?=\/|$)/g, '/:id')
    .replace(/\/\d+(?=\/|$)/g, '/:id');
}

export function classify(side: Side, request: ApiRequest, users: readonly BenchUser[]): Classified {
  if (side === 'zendesk') {
    const rest = ZENDESK_PATH.exec(request.path)?.[1] ?? request.path;
    const id = /^\/api\/v2\/users\/(\d+)(?:\.json)?(?:\/|$)/.exec(rest)?.[1];
    const user = id === undefined ? null : (users.find((u) => String(u.zendeskId) === id) ?? null);
    return { request, side, user, endpoint: `${request.method} ${endpointOf(rest.replace(/^\/api\/v2/, ''))}` };
  }
  const rest = STOREGANISE_PATH.exec(request.path)?.[1] ?? request.path;
  const id =
    /^\/users\/([0-9a-f]{24})(?:\/|$)/.exec(rest)?.[1] ??
    new URLSearchParams(request.query).get('ownerId') ??
    undefined;
  const user = id === undefined ? null : (users.find((u) => u.storeganiseId === id) ?? null);
  return { request, side, user, endpoint: `${request.method} ${endpointOf(rest)}` };
}

/** Nearest-rank percentile of an unsorted list; null for an empty list. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

/** What happened to one edit: its webhook, the write that made it visible on the other side, the calls made for it. */
export interface ChangeOutcome {
  change: Change;
  webhook: TappedWebhook | null;
  /** The first successful write on the other side for this user after the edit. */
  write: ApiRequest | null;
  /** Webhook sent → write answered by the other side (ms). */
  endToEndMs: number | null;
  /** Edit made (control request sent) → write answered (ms). */
  fromEditMs: number | null;
  /** Zendesk calls for this user from the webhook to the forward write: what the change's own workflow made. */
  ownZendeskCalls: number;
  /** Every call for this user until its next edit, echo handling included. */
  zendeskCalls: number;
  storeganiseCalls: number;
  /** Writes attributed to this edit's user until its next edit (the oracle judges which are right). */
  writes: number;
}

export interface Measurement {
  outcomes: ChangeOutcome[];
  /** Webhooks the service answered during the measured phase (edits and echoes alike). */
  webhooks: TappedWebhook[];
  zendeskRequests: number;
  storeganiseRequests: number;
  /** Calls that name no user (settings reads, searches), by endpoint. */
  unattributed: Record<string, number>;
  /** Calls by endpoint, both sides, e.g. `zendesk GET /users/:id`. */
  byEndpoint: Record<string, number>;
  /** Writes that follow no edit of their user (should not happen) and writes naming no user (e.g. admin tasks). */
  strayWrites: ApiRequest[];
  phase: { startMs: number; endMs: number };
}

function webhookMatches(change: Change, w: TappedWebhook): boolean {
  if (w.source !== change.side) return false;
  if (change.side === 'storeganise')
    return (
      w.userId === change.user.storeganiseId &&
      w.type === 'user.updated' &&
      w.changedKeys.includes(change.storeganiseKey)
    );
  if (w.userId !== String(change.user.zendeskId)) return false;
  return change.field === 'name'
    ? w.type.endsWith('user.name_changed')
    : /user\.identity_(changed|created)$/.test(w.type);
}

/** The write that carries the edit to the other side: a Zendesk email goes through the identities, everything else is the user itself. */
function forwardWriteMatches(change: Change, c: Classified): boolean {
  if (c.user !== change.user || c.side === change.side || !isWrite(c.request) || !ok(c.request)) return false;
  if (c.side === 'storeganise') return c.endpoint === 'PUT /users/:id';
  return change.field === 'email'
    ? c.endpoint.startsWith('PUT /users/:id/identities') || c.endpoint.startsWith('POST /users/:id/identities')
    : c.endpoint === 'PUT /users/:id';
}

/**
 * Matches every edit to its webhook (by user, source and event type) and to the first write on
 * the other side for the same user and field afterwards, and attributes each API call naming a
 * user to that user's latest edit made before it. Edits of one user are `users / rate` seconds
 * apart, so while the sync keeps up a call made in between belongs to the edit before it (or to
 * that edit's echo). An echo write is a write to the side an edit was made on that no edit was
 * matched to.
 */
export function measure(input: {
  changes: readonly Change[];
  users: readonly BenchUser[];
  webhooks: readonly TappedWebhook[];
  zendesk: readonly ApiRequest[];
  storeganise: readonly ApiRequest[];
  phaseStartMs: number;
  phaseEndMs: number;
}): Measurement {
  const { changes, users } = input;
  const classified = [
    ...input.zendesk.map((r) => classify('zendesk', r, users)),
    ...input.storeganise.map((r) => classify('storeganise', r, users)),
  ].sort((a, b) => a.request.atMs - b.request.atMs);

  const byUser = new Map<BenchUser, Change[]>();
  for (const change of changes) byUser.set(change.user, [...(byUser.get(change.user) ?? []), change]);
  const outcomes = new Map<Change, ChangeOutcome>();
  for (const change of changes) {
    const webhook = input.webhooks.find((w) => w.sentAtMs >= change.madeAtMs && webhookMatches(change, w)) ?? null;
    const write =
      classified.find((c) => c.request.atMs >= change.madeAtMs && forwardWriteMatches(change, c))?.request ?? null;
    const visibleAt = write === null ? null : write.atMs + write.durationMs;
    outcomes.set(change, {
      change,
      webhook,
      write,
      endToEndMs: visibleAt === null || webhook === null ? null : visibleAt - webhook.sentAtMs,
      fromEditMs: visibleAt === null ? null : visibleAt - change.madeAtMs,
      ownZendeskCalls: 0,
      zendeskCalls: 0,
      storeganiseCalls: 0,
      writes: 0,
    });
  }

  const unattributed: Record<string, number> = {};
  const byEndpoint: Record<string, number> = {};
  const strayWrites: ApiRequest[] = [];
  for (const c of classified) {
    const key = `${c.side} ${c.endpoint}`;
    byEndpoint[key] = (byEndpoint[key] ?? 0) + 1;
    const owner =
      c.user === null ? undefined : (byUser.get(c.user) ?? []).filter((ch) => ch.madeAtMs <= c.request.atMs).at(-1);
    const outcome = owner === undefined ? undefined : outcomes.get(owner);
    if (outcome === undefined) {
      unattributed[key] = (unattributed[key] ?? 0) + 1;
      if (isWrite(c.request)) strayWrites.push(c.request);
      continue;
    }
    if (c.side === 'zendesk') {
      outcome.zendeskCalls++;
      const from = outcome.webhook?.sentAtMs ?? outcome.change.madeAtMs;
      if (outcome.write !== null && c.request.atMs >= from && c.request.atMs <= outcome.write.atMs)
        outcome.ownZendeskCalls++;
    } else outcome.storeganiseCalls++;
    if (isWrite(c.request)) outcome.writes++;
  }

  return {
    outcomes: changes.map((c) => outcomes.get(c)).filter((o): o is ChangeOutcome => o !== undefined),
    webhooks: input.webhooks.filter((w) => w.sentAtMs >= input.phaseStartMs),
    zendeskRequests: input.zendesk.length,
    storeganiseRequests: input.storeganise.length,
    unattributed,
    byEndpoint,
    strayWrites,
    phase: { startMs: input.phaseStartMs, endMs: input.phaseEndMs },
  };
}
