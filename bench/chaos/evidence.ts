import { setTimeout as sleep } from 'node:timers/promises';
import type { LoggedRequest } from '../../sandbox/common/request-log';
import type { SandboxInstallation } from '../../sandbox/installation';
import type { SandboxSgDelivery, SandboxSgUser } from '../../sandbox/storeganise';
import type { SandboxDelivery, SandboxZendeskUser } from '../../sandbox/zendesk/client';
import {
  differingPairs,
  type FieldChange,
  type LinkedPair,
  type SideStates,
  type StoreganiseUserState,
  type ZendeskUserState,
} from '../oracle';
import { DEFAULT_CALLING_CODE, NAME_FORMAT, type ChaosSystem } from './system';
import type { TimedDelivery } from './webhook-timer';

// What the sandboxes recorded, read back after the run, and the figures the table shows.

export interface SideNumbers {
  storeganise: number;
  zendesk: number;
}

/** Where the chaos phase starts in every log, and both sides as they were then. */
export interface Baseline {
  atMs: number;
  /** Null when a sandbox keeps no change log. */
  changeSeq: SideNumbers | null;
  requestSeq: SideNumbers;
  deliverySeq: SideNumbers;
  states: SideStates;
}

export interface Evidence {
  final: SideStates;
  changes: { storeganise: FieldChange[]; zendesk: FieldChange[] } | null;
  requests: { storeganise: LoggedRequest[]; zendesk: LoggedRequest[] };
  deliveries: { storeganise: SandboxSgDelivery[]; zendesk: SandboxDelivery[] };
}

const storeganiseState = (u: SandboxSgUser): StoreganiseUserState => ({
  id: u.id,
  firstName: u.firstName,
  lastName: u.lastName,
  email: u.email,
  phone: u.phone ?? null,
});

const zendeskState = (u: SandboxZendeskUser): ZendeskUserState => ({
  id: u.id,
  name: u.name,
  email: u.email,
  phone: u.phone,
  externalId: u.external_id,
  active: u.active,
  role: u.role,
});

export async function readStates(system: ChaosSystem, account: SandboxInstallation): Promise<SideStates> {
  const [sg, zd] = await Promise.all([
    system.storeganise.client.listUsers(account.subdomain),
    system.zendesk.client.listUsers(account.zendeskSubdomain),
  ]);
  return { storeganise: sg.map(storeganiseState), zendesk: zd.map(zendeskState) };
}

const lastSeq = (entries: ReadonlyArray<{ seq: number }>): number =>
  entries.reduce((max, e) => Math.max(max, e.seq), 0);

async function readChanges(
  system: ChaosSystem,
  account: SandboxInstallation,
  since: SideNumbers | null,
): Promise<NonNullable<Evidence['changes']>> {
  const [storeganise, zendesk] = await Promise.all([
    system.storeganise.client.changes(account.subdomain, since === null ? {} : { sinceSeq: since.storeganise }),
    system.zendesk.client.changes(account.zendeskSubdomain, since === null ? {} : { sinceSeq: since.zendesk }),
  ]);
  return { storeganise, zendesk };
}

/** Log positions first, then the states: a write in between is then replayed onto a state that has it already, which is harmless. */
export async function takeBaseline(
  system: ChaosSystem,
  account: SandboxInstallation,
  note: (line: string) => void,
): Promise<Baseline> {
  let changeSeq: SideNumbers | null = null;
  try {
    const changes = await readChanges(system, account, null);
    changeSeq = { storeganise: lastSeq(changes.storeganise), zendesk: lastSeq(changes.zendesk) };
  } catch (err) {
    note(
      `the sandboxes keep no field-level change log (${err instanceof Error ? err.message : String(err)}): lost edits, stale overwrites and writes back cannot be measured`,
    );
  }
  const [zdRequests, sgRequests, zdDeliveries, sgDeliveries] = await Promise.all([
    system.zendesk.client.requests({ account: account.zendeskSubdomain }),
    system.storeganise.client.requests({ account: account.subdomain }),
    system.zendesk.client.deliveries(account.zendeskSubdomain),
    system.storeganise.client.deliveries(account.subdomain),
  ]);
  return {
    atMs: Date.now(),
    changeSeq,
    requestSeq: { zendesk: zdRequests.lastSeq, storeganise: lastSeq(sgRequests) },
    deliverySeq: { zendesk: lastSeq(zdDeliveries), storeganise: lastSeq(sgDeliveries) },
    states: await readStates(system, account),
  };
}

export async function collectEvidence(
  system: ChaosSystem,
  account: SandboxInstallation,
  baseline: Baseline,
): Promise<Evidence> {
  const [final, changes, zdRequests, sgRequests, zdDeliveries, sgDeliveries] = await Promise.all([
    readStates(system, account),
    baseline.changeSeq === null ? Promise.resolve(null) : readChanges(system, account, baseline.changeSeq),
    system.zendesk.client.requests({ account: account.zendeskSubdomain, sinceSeq: baseline.requestSeq.zendesk }),
    system.storeganise.client.requests({ account: account.subdomain, sinceSeq: baseline.requestSeq.storeganise }),
    system.zendesk.client.deliveries(account.zendeskSubdomain),
    system.storeganise.client.deliveries(account.subdomain),
  ]);
  return {
    final,
    changes,
    requests: { zendesk: zdRequests.requests, storeganise: sgRequests },
    deliveries: {
      zendesk: zdDeliveries.filter((d) => d.seq > baseline.deliverySeq.zendesk),
      storeganise: sgDeliveries.filter((d) => d.seq > baseline.deliverySeq.storeganise),
    },
  };
}

export interface Settling {
  settled: boolean;
  seconds: number;
  /** Why it did not settle, when it did not. */
  reason: string | null;
}

/** Nothing answered by either sandbox API for this long, and no webhook on its way, counts as quiet. */
const QUIET_MS = 5_000;
/**
 * Quiet this long with pairs still different: nothing is left to run. Longer than anything the
 * sync waits for on purpose (a missing event is given 30 s), shorter than the settle budget.
 */
const GIVE_UP_QUIET_MS = 60_000;

/**
 * Waits until both sides are quiet (no webhook on its way, no call to either API for a few
 * seconds) and equal for every pair, or until `timeoutMs`.
 */
export async function waitUntilSettled(
  system: ChaosSystem,
  account: SandboxInstallation,
  pairs: readonly LinkedPair[],
  timeoutMs: number,
): Promise<Settling> {
  const began = Date.now();
  const seen = { zendesk: 0, storeganise: 0 };
  let lastActivity = Date.now();
  let differing = pairs.length;
  for (;;) {
    const outboxesIdle = await Promise.race([
      Promise.all([system.zendesk.idle(), system.storeganise.idle()]).then(() => true),
      sleep(500).then(() => false),
    ]);
    const [zd, sg] = await Promise.all([
      system.zendesk.client.requests({ account: account.zendeskSubdomain, sinceSeq: seen.zendesk }),
      system.storeganise.client.requests({ account: account.subdomain, sinceSeq: seen.storeganise }),
    ]);
    if (zd.requests.length > 0 || sg.length > 0 || !outboxesIdle) lastActivity = Date.now();
    seen.zendesk = Math.max(seen.zendesk, zd.lastSeq);
    seen.storeganise = Math.max(seen.storeganise, lastSeq(sg));
    if (Date.now() - lastActivity >= QUIET_MS) {
      const states = await readStates(system, account);
      differing = differingPairs({
        pairs,
        states,
        nameFormat: NAME_FORMAT,
        defaultCallingCode: DEFAULT_CALLING_CODE,
      }).length;
      if (differing === 0) return { settled: true, seconds: (Date.now() - began) / 1000, reason: null };
    }
    const quietMs = Date.now() - lastActivity;
    if (quietMs >= GIVE_UP_QUIET_MS)
      return {
        settled: false,
        seconds: (Date.now() - began) / 1000,
        reason: `quiet for ${Math.round(quietMs / 1000)} s with ${differing} pairs still different: nothing left to run`,
      };
    if (Date.now() - began > timeoutMs) {
      const quietFor = Math.round((Date.now() - lastActivity) / 1000);
      const reason =
        quietFor * 1000 >= QUIET_MS
          ? `quiet for ${quietFor} s but ${differing} pairs still differ`
          : 'the sync was still calling the APIs or webhooks were still on their way';
      return { settled: false, seconds: (Date.now() - began) / 1000, reason };
    }
    await sleep(1_000);
  }
}

// --- figures ------------------------------------------------------------------------------------

export interface AcceptedEvents {
  /** Distinct events with at least one delivery answered 2xx. */
  events: number;
  deliveries2xx: number;
  /** Events whose every delivery failed: the sender gave up on them. */
  neverAccepted: number;
}

export function acceptedEvents(deliveries: ReadonlyArray<{ eventId: string; status: number | null }>): AcceptedEvents {
  const ok = (status: number | null): boolean => status !== null && status >= 200 && status < 300;
  const accepted = new Set(deliveries.filter((d) => ok(d.status)).map((d) => d.eventId));
  const all = new Set(deliveries.map((d) => d.eventId));
  return {
    events: accepted.size,
    deliveries2xx: deliveries.filter((d) => ok(d.status)).length,
    neverAccepted: [...all].filter((id) => !accepted.has(id)).length,
  };
}

export interface WebhookAnswers {
  attempts: number;
  /** Answered after more than 10 s, or not answered before the sender's timeout. */
  over10s: number;
  status5xx: number;
  status500: number;
  /** Refused or dropped connections (the api was down). */
  networkFailures: number;
  slowest: Array<{ source: string; eventId: string; elapsedMs: number; status: number | null }>;
}

export function webhookAnswers(deliveries: readonly TimedDelivery[]): WebhookAnswers {
  const slow = deliveries.filter((d) => d.elapsedMs > 10_000 || d.failure === 'timeout');
  return {
    attempts: deliveries.length,
    over10s: slow.length,
    status5xx: deliveries.filter((d) => d.status !== null && d.status >= 500).length,
    status500: deliveries.filter((d) => d.status === 500).length,
    networkFailures: deliveries.filter((d) => d.failure === 'network').length,
    slowest: [...slow]
      .sort((a, b) => b.elapsedMs - a.elapsedMs)
      .slice(0, 5)
      .map((d) => ({ source: d.source, eventId: d.eventId, elapsedMs: Math.round(d.elapsedMs), status: d.status })),
  };
}

export interface RetryAfterViolations {
  count: number;
  examples: string[];
}

/**
 * A call arriving this soon after a 429 left the sandbox was most likely on its way already: the
 * caller could not have read the answer yet (another process, on a loaded host).
 */
export const IN_FLIGHT_GRACE_MS = 250;

/**
 * Calls to the Zendesk account that arrived after a 429 was answered and before its `Retry-After`
 * had elapsed. The limit is per account, so any call counts, from any workflow.
 */
export function callsBeforeRetryAfter(requests: readonly LoggedRequest[]): RetryAfterViolations {
  const limits = requests
    .filter((r) => r.status === 429 && r.retryAfterSeconds !== null && !r.lost)
    .map((r) => ({ answeredAtMs: r.finishedAtMs, untilMs: r.finishedAtMs + (r.retryAfterSeconds ?? 0) * 1000 }))
    .sort((a, b) => a.answeredAtMs - b.answeredAtMs);
  const byArrival = [...requests].sort((a, b) => a.atMs - b.atMs);
  const examples: string[] = [];
  let count = 0;
  let next = 0;
  let blockedUntil = 0;
  for (const request of byArrival) {
    while (next < limits.length && (limits[next]?.answeredAtMs ?? Infinity) + IN_FLIGHT_GRACE_MS <= request.atMs) {
      blockedUntil = Math.max(blockedUntil, limits[next]?.untilMs ?? 0);
      next++;
    }
    if (request.atMs >= blockedUntil) continue;
    count++;
    if (examples.length < 5)
      examples.push(
        `${request.at} ${request.method} ${request.path.replace(/^\/zendesk\/[^/]+/, '')}: ${((blockedUntil - request.atMs) / 1000).toFixed(1)} s before Retry-After elapsed`,
      );
  }
  return { count, examples };
}

export interface InjectedFaults {
  /** Every call the sync made to the API since the chaos began, and those made while the faults were on. */
  calls: number;
  callsUnderFaults: number;
  /** Writes made while the faults were on: the requests a lost answer can hit. */
  writesUnderFaults: number;
  errors5xx: number;
  lostResponses: number;
  answered429: number;
}

export function injectedFaults(
  requests: readonly LoggedRequest[],
  faultWindow: { fromMs: number; toMs: number },
): InjectedFaults {
  const underFaults = requests.filter((r) => r.atMs >= faultWindow.fromMs && r.atMs < faultWindow.toMs);
  return {
    calls: requests.length,
    callsUnderFaults: underFaults.length,
    writesUnderFaults: underFaults.filter((r) => r.method !== 'GET').length,
    errors5xx: requests.filter((r) => r.status >= 500 && !r.lost).length,
    lostResponses: requests.filter((r) => r.lost).length,
    answered429: requests.filter((r) => r.status === 429).length,
  };
}
