import { mulberry32, type Random } from '../../sandbox/common/random';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  generateCase,
  hostileName,
  isSlowCase,
  type Expectation,
  type FuzzCase,
  type FuzzClass,
  type FuzzTarget,
} from './cases';
import type { FuzzSystem } from './system';
import { exchange, type WireAnswer } from './wire';

/** What one request of the run got. */
export interface SentRequest {
  n: number;
  fuzzClass: FuzzClass;
  label: string;
  expect: Expectation;
  status: number | null;
  outcome: WireAnswer['outcome'];
  ms: number;
  mayClose: boolean;
  /** A problem the case's own check found in the answer. */
  problem: string | null;
}

export interface PersonEdits {
  made: number;
  hostile: number;
  failed: number;
}

export interface Campaign {
  sent: SentRequest[];
  personEdits: PersonEdits;
  startedAtMs: number;
  seconds: number;
  /** The time cap stopped the run before every request was sent. */
  cappedByTime: boolean;
}

/** A name edited by a person through a sandbox every this many requests; one in four is hostile text. */
const PERSON_EDIT_EVERY = 150;

export const is2xx = (status: number | null): boolean => status !== null && status >= 200 && status < 300;

/** Whether a request may make the product start or signal a workflow: a webhook or operator action that may be accepted. */
const mayStartWork = (fuzzCase: FuzzCase): boolean =>
  fuzzCase.expect !== 'refuse' &&
  /\/(addon|operator)\//i.test(fuzzCase.request.target || fuzzCase.request.raw?.toString('latin1') || '');

/** Spaces calls `1000 / perSecond` ms apart, in the order they ask. */
function pacer(perSecond: number): () => Promise<void> {
  let next = 0;
  return async () => {
    const now = Date.now();
    const at = Math.max(now, next);
    next = at + 1_000 / perSecond;
    if (at > now) await sleep(at - now);
  };
}

/**
 * Sends the requests, `concurrency` at a time. Each case is generated when its turn comes, in
 * index order, from one seeded stream, so a seed always gives the same sequence of requests.
 */
export async function runCampaign(
  system: Pick<FuzzSystem, 'chaos' | 'target' | 'port'>,
  options: {
    seed: number;
    requests: number;
    minutes: number;
    concurrency: number;
    validEvery: number;
    acceptRate: number;
  },
  log: (line: string) => void,
): Promise<Campaign> {
  const random = mulberry32(options.seed);
  const editRandom = mulberry32(options.seed ^ 0x5eed);
  const startedAtMs = Date.now();
  const deadline = startedAtMs + options.minutes * 60_000;
  const sent: SentRequest[] = [];
  const personEdits: PersonEdits = { made: 0, hostile: 0, failed: 0 };
  let next = 0;
  let slow = 0;
  const paced = pacer(options.acceptRate);

  const lane = async (): Promise<void> => {
    while (next < options.requests && Date.now() < deadline) {
      const n = next++;
      const fuzzCase = generateCase(n, random, system.target, options.validEvery, slow);
      if (isSlowCase(fuzzCase)) slow++;
      if (n > 0 && n % PERSON_EDIT_EVERY === 0) await personEdit(system, system.target, editRandom, n, personEdits);
      if (n > 0 && n % 2_000 === 0) log(`  ${n} requests sent ...`);
      if (mayStartWork(fuzzCase)) await paced();
      const answer = await exchange(system.port, fuzzCase.request, fuzzCase.timeoutMs);
      sent[n] = {
        n,
        fuzzClass: fuzzCase.fuzzClass,
        label: fuzzCase.label,
        expect: fuzzCase.expect,
        status: answer.status,
        outcome: answer.outcome,
        ms: answer.ms,
        mayClose: fuzzCase.mayClose === true,
        problem: fuzzCase.check?.(answer) ?? null,
      };
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return {
    sent: sent.filter((s) => s !== undefined),
    personEdits,
    startedAtMs,
    seconds: (Date.now() - startedAtMs) / 1000,
    cappedByTime: next < options.requests,
  };
}

/** A person renames a linked customer on one side, sometimes with hostile text: the sandbox sends the genuine webhook. */
async function personEdit(
  system: Pick<FuzzSystem, 'chaos'>,
  target: FuzzTarget,
  r: Random,
  n: number,
  counts: PersonEdits,
): Promise<void> {
  const account = target.accounts[Math.floor(r() * target.accounts.length)];
  const customer = account?.customers[Math.floor(r() * account.customers.length)];
  if (account === undefined || customer === undefined) return;
  const hostile = r() < 0.25;
  const name = hostile ? hostileName(r) : `Fz${n}`;
  try {
    if (r() < 0.5)
      await system.chaos.storeganise.client.updateUser(account.subdomain, customer.sgId, { firstName: name });
    else
      await system.chaos.zendesk.client.updateUser(account.zendeskSubdomain, customer.zdId, { name: `${name} Edited` });
    counts.made++;
    if (hostile) counts.hostile++;
  } catch {
    // The sandbox refused the edit (it validates its control API): nothing was changed, nothing to sync.
    counts.failed++;
  }
}
