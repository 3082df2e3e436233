import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { SECRET_VARIABLES } from '../../lib/logger';
import { runningEventWorkflows } from '../../sandbox/installation';
import { customerStatusQuery } from '../../workflows/definitions';
import { eventually } from '../chaos/system';
import { is2xx, type SentRequest } from './campaign';
import { FUZZ_CLASSES, tagsIn, type FuzzAccount, type FuzzClass } from './cases';
import type { FuzzSystem } from './system';

// What the run left behind, read back once the requests stop: workflows refused requests started,
// whether the product still syncs and polls, and what its logs hold.

/** Every workflow id in the namespace (the dev server is this run's own). */
export async function workflowIds(client: Client): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const execution of client.workflow.list()) ids.add(execution.workflowId);
  return ids;
}

/** Waits until no event workflow of the accounts runs, several looks in a row; false when `timeoutMs` passes first. */
export async function settle(
  system: Pick<FuzzSystem, 'chaos' | 'client'>,
  accounts: readonly FuzzAccount[],
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 3) {
    if (Date.now() > deadline) return false;
    await Promise.all([system.chaos.zendesk.idle(), system.chaos.storeganise.idle()]);
    const running = await Promise.all(accounts.map((a) => runningEventWorkflows(system.client, a.subdomain)));
    quiet = running.every((count) => count === 0) ? quiet + 1 : 0;
    await sleep(1_000);
  }
  return true;
}

const isRefusal = (status: number | null): boolean => status !== null && status >= 400 && status < 500;

export interface StartedByRefused {
  byClass: Record<FuzzClass, number>;
  /** The first few, as `workflow id ← request`. */
  examples: string[];
  /** Account workflows of subdomains the run never installed. */
  strangerAccounts: string[];
  /** Customers that did not answer the status query (their outcomes could not be read). */
  unqueried: string[];
  /** Accepted requests traced the same way: shows the tracing sees what requests start. */
  tracedAccepted: number;
}

/**
 * Workflows (and customer events) traced to a refused request (answered 4xx): a new workflow whose
 * id carries its tag, or its event recorded by a customer. A 5xx or no answer promises nothing
 * either way (the sender retries and the event id makes the retry a duplicate): those count as such.
 */
export async function startedByRefused(
  client: Client,
  before: ReadonlySet<string>,
  sent: readonly SentRequest[],
  accounts: readonly FuzzAccount[],
): Promise<StartedByRefused> {
  const byIndex = new Map(sent.map((s) => [s.n, s]));
  const byClass = Object.fromEntries(FUZZ_CLASSES.map((c) => [c, 0])) as Record<FuzzClass, number>;
  const examples: string[] = [];
  const counted = new Set<number>();
  const traced = new Set<number>();
  const blame = (where: string, text: string): void => {
    for (const n of tagsIn(text)) {
      const request = byIndex.get(n);
      if (request !== undefined && is2xx(request.status)) traced.add(n);
      if (request === undefined || !isRefusal(request.status) || counted.has(n)) continue;
      counted.add(n);
      byClass[request.fuzzClass]++;
      if (examples.length < 10)
        examples.push(`${where} ← #${n} ${request.fuzzClass}: ${request.label} (${request.status ?? request.outcome})`);
    }
  };
  const known = new Set(accounts.map((a) => `account:${a.subdomain}`));
  const strangerAccounts: string[] = [];
  const after = await workflowIds(client);
  for (const id of after) {
    if (before.has(id)) continue;
    blame(id, id);
    if (id.startsWith('account:') && !known.has(id)) strangerAccounts.push(id);
  }
  // An event signalled to a customer that already ran leaves no new workflow when it is taken for an echo: ask the customers.
  const unqueried: string[] = [];
  for await (const customer of client.workflow.list({
    query: `WorkflowType = 'customerWorkflow' AND ExecutionStatus = 'Running'`,
  })) {
    if (tagsIn(customer.workflowId).length > 0) continue;
    try {
      const status = await client.workflow.getHandle(customer.workflowId).query(customerStatusQuery);
      for (const outcome of status.outcomes)
        blame(`${customer.workflowId} recorded ${outcome.eventId}`, outcome.eventId);
    } catch (err) {
      unqueried.push(`${customer.workflowId}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { byClass, examples, strangerAccounts, unqueried, tracedAccepted: traced.size };
}

export interface FreshEdit {
  side: 'storeganise' | 'zendesk';
  synced: boolean;
  seconds: number;
}

/** A person's edit made after the run, on each side, reaches the other side. */
export async function freshEditsSync(
  system: Pick<FuzzSystem, 'chaos'>,
  account: FuzzAccount,
  timeoutMs: number,
): Promise<FreshEdit[]> {
  const [first, second] = account.customers;
  if (first === undefined || second === undefined) throw new Error('two customers are needed');
  const { storeganise, zendesk } = system.chaos;
  const results: FreshEdit[] = [];
  const tag = Date.now().toString(36);

  let started = Date.now();
  await storeganise.client.updateUser(account.subdomain, first.sgId, { firstName: 'After', lastName: `Fuzz${tag}` });
  const toZendesk = await eventually(
    'the Storeganise edit to reach Zendesk',
    async () =>
      (await zendesk.client.getUser(account.zendeskSubdomain, first.zdId)).name === `After Fuzz${tag}` ? true : null,
    timeoutMs,
  ).catch(() => false);
  results.push({ side: 'storeganise', synced: toZendesk, seconds: (Date.now() - started) / 1000 });

  started = Date.now();
  await zendesk.client.updateUser(account.zendeskSubdomain, second.zdId, { name: `Later Zfuzz${tag}` });
  const toStoreganise = await eventually(
    'the Zendesk edit to reach Storeganise',
    async () => {
      const user = await storeganise.client.getUser(account.subdomain, second.sgId);
      return user.firstName === 'Later' && user.lastName === `Zfuzz${tag}` ? true : null;
    },
    timeoutMs,
  ).catch(() => false);
  results.push({ side: 'zendesk', synced: toStoreganise, seconds: (Date.now() - started) / 1000 });
  return results;
}

export interface SecretInLog {
  secret: string;
  file: string;
  lines: number;
}

/** Every configured secret (and the accounts' Zendesk webhook secrets), also percent-encoded or JSON-escaped, in the api and worker logs. */
export function secretsInLogs(
  dir: string,
  env: Readonly<Record<string, string>>,
  accounts: readonly FuzzAccount[],
): { scannedLines: number; found: SecretInLog[] } {
  const secrets: Array<[string, string]> = [];
  for (const variable of SECRET_VARIABLES) {
    const value = env[variable] ?? '';
    const parts = variable === 'ENCRYPTION_KEY' ? value.split(',') : [value];
    for (const part of parts) if (part.trim() !== '') secrets.push([variable, part.trim()]);
  }
  for (const account of accounts)
    secrets.push([`zendesk webhook secret of ${account.subdomain}`, account.zendeskSecret]);
  let scannedLines = 0;
  const found: SecretInLog[] = [];
  for (const file of ['api.log', 'worker.log']) {
    let lines: string[];
    try {
      lines = readFileSync(path.join(dir, file), 'utf8').split('\n');
    } catch (err) {
      throw new Error(
        `cannot read ${file} to scan it for secrets: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    scannedLines += lines.length;
    for (const [name, secret] of secrets) {
      const spellings = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
      const hits = lines.filter((line) => spellings.some((s) => line.includes(s))).length;
      if (hits > 0) found.push({ secret: name, file, lines: hits });
    }
  }
  return { scannedLines, found };
}

export interface Liveness {
  workerPolls: boolean;
  workerCrashes: number;
  apiCrashes: number;
  healthz: number | null;
}

/** The worker process of the run still polls its task queue, nothing crashed, and the api answers. */
export async function liveness(system: Pick<FuzzSystem, 'chaos'>): Promise<Liveness> {
  const workerPolls = await system.chaos.workerReady(60_000).then(
    () => true,
    () => false,
  );
  const healthz = await fetch(`${system.chaos.publicUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
    (res) => res.status,
    () => null,
  );
  return { workerPolls, workerCrashes: system.chaos.worker.crashes, apiCrashes: system.chaos.api.crashes, healthz };
}
