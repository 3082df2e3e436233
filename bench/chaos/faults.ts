import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultSettingsInput } from '../../sandbox/common/faults';
import { mulberry32, randomBetween, type Random } from '../../sandbox/common/random';
import type { SandboxInstallation } from '../../sandbox/installation';
import type { ChaosSystem } from './system';

/** The share of API requests both sandboxes answer with a 5xx during the chaos phase. */
export const ERROR_RATE = 0.3;
/** The share of API writes applied whose answer is dropped. */
export const LOST_RESPONSE_RATE = 0.05;

/** A period with one set of sandbox faults; webhook faults and the 5xx status change between periods. */
interface FaultPeriod {
  kind: 'faults';
  atMs: number;
  seed: number;
  errorStatus: number;
  duplicate: number;
  reorderWindowMs: number;
  delayMaxMs: number;
}

interface RateLimitBurst {
  kind: '429-burst';
  atMs: number;
  count: number;
  retryAfterSeconds: number;
}

interface ProcessAction {
  kind: 'kill-worker' | 'kill-api' | 'restart-temporal';
  atMs: number;
  /** How long a killed process stays down before it is started again. */
  downMs: number;
}

export type ChaosAction = FaultPeriod | RateLimitBurst | ProcessAction;

/** Offsets (ms from the phase start) spread over the phase, one per slot, jittered within the slot's middle half. */
function spread(count: number, durationMs: number, phase: number, random: Random): number[] {
  const slot = durationMs / count;
  return Array.from({ length: count }, (_, i) => Math.floor(slot * (i + phase) + slot * 0.25 * (random() - 0.5)));
}

/**
 * The whole chaos schedule of a phase, drawn from the seed: fault periods of 45–75 s, 429 bursts on
 * Zendesk, SIGKILLs of the worker and of the api (about one of each every 2.5 minutes, at least
 * two), and one Temporal restart half-way.
 */
export function planChaos(durationMs: number, seed: number): ChaosAction[] {
  const random = mulberry32(seed ^ 0xc4a05);
  const actions: ChaosAction[] = [];
  for (let atMs = 0, i = 0; atMs < durationMs; atMs += randomBetween(random, 45_000, 75_000), i++) {
    actions.push({
      kind: 'faults',
      atMs,
      seed: seed * 1_000 + i,
      errorStatus: [500, 502, 503, 504][randomBetween(random, 0, 3)] ?? 503,
      duplicate: random() < 0.5 ? 1 : 0,
      reorderWindowMs: random() < 0.5 ? 2_000 : 0,
      delayMaxMs: [0, 2_000, 5_000][randomBetween(random, 0, 2)] ?? 0,
    });
  }
  const processKills = Math.max(2, Math.round(durationMs / 150_000));
  for (const atMs of spread(Math.max(2, Math.round(durationMs / 90_000)), durationMs, 0.4, random)) {
    actions.push({
      kind: '429-burst',
      atMs,
      count: randomBetween(random, 3, 10),
      retryAfterSeconds: randomBetween(random, 2, 8),
    });
  }
  for (const atMs of spread(processKills, durationMs, 0.3, random))
    actions.push({ kind: 'kill-worker', atMs, downMs: randomBetween(random, 2_000, 8_000) });
  for (const atMs of spread(processKills, durationMs, 0.7, random))
    actions.push({ kind: 'kill-api', atMs, downMs: randomBetween(random, 1_000, 4_000) });
  actions.push({ kind: 'restart-temporal', atMs: Math.floor(durationMs * 0.5), downMs: 0 });
  return actions.sort((a, b) => a.atMs - b.atMs);
}

export interface ChaosCounts {
  workerKills: number;
  apiKills: number;
  temporalRestarts: number;
  rateLimitBursts: number;
  faultPeriods: number;
  /** Periods whose webhook faults duplicated, reordered or delayed deliveries. */
  duplicatingPeriods: number;
  reorderingPeriods: number;
  delayingPeriods: number;
  /** Actions not carried out because the phase ended while earlier ones were still running. */
  skipped: number;
}

/**
 * Carries out a chaos plan against a running system, one action at a time in plan order: an
 * action that takes long (a worker bundling its workflows again) delays the next.
 */
export class ChaosAgent {
  readonly counts: ChaosCounts = {
    workerKills: 0,
    apiKills: 0,
    temporalRestarts: 0,
    rateLimitBursts: 0,
    faultPeriods: 0,
    duplicatingPeriods: 0,
    reorderingPeriods: 0,
    delayingPeriods: 0,
    skipped: 0,
  };
  /** Processes that did not come back in time after an action; the run goes on without waiting further. */
  readonly problems: string[] = [];
  private period: FaultPeriod | null = null;

  constructor(
    private readonly system: ChaosSystem,
    private readonly account: SandboxInstallation,
    private readonly note: (line: string) => void,
  ) {}

  async run(plan: readonly ChaosAction[], startMs: number, endMs: number): Promise<void> {
    for (const action of plan) {
      const due = startMs + action.atMs;
      if (due >= endMs || Date.now() >= endMs) {
        this.counts.skipped++;
        continue;
      }
      await sleep(Math.max(0, due - Date.now()));
      await this.perform(action);
    }
  }

  /** Both sandboxes back to no faults, so the sync can settle. */
  async stopFaults(): Promise<void> {
    await Promise.all([
      this.system.zendesk.client.setFaults(this.account.zendeskSubdomain, {}),
      this.system.storeganise.client.setFaults(this.account.subdomain, {}),
    ]);
  }

  private async perform(action: ChaosAction): Promise<void> {
    switch (action.kind) {
      case 'faults':
        return this.applyPeriod(action);
      case '429-burst':
        return this.burst(action);
      case 'kill-worker':
        return this.killWorker(action.downMs);
      case 'kill-api':
        return this.killApi(action.downMs);
      case 'restart-temporal':
        return this.restartTemporal();
    }
  }

  private settingsOf(period: FaultPeriod, seed: number): FaultSettingsInput {
    return {
      errorRate: ERROR_RATE,
      errorStatus: period.errorStatus,
      lostResponseRate: LOST_RESPONSE_RATE,
      seed,
      webhooks: {
        duplicate: period.duplicate,
        reorderWindowMs: period.reorderWindowMs,
        delayMs: { min: 0, max: period.delayMaxMs },
      },
    };
  }

  private async applyPeriod(period: FaultPeriod): Promise<void> {
    this.period = period;
    this.counts.faultPeriods++;
    if (period.duplicate > 0) this.counts.duplicatingPeriods++;
    if (period.reorderWindowMs > 0) this.counts.reorderingPeriods++;
    if (period.delayMaxMs > 0) this.counts.delayingPeriods++;
    const settings = this.settingsOf(period, period.seed);
    await Promise.all([
      this.system.zendesk.client.setFaults(this.account.zendeskSubdomain, settings),
      this.system.storeganise.client.setFaults(this.account.subdomain, { ...settings, seed: period.seed + 500 }),
    ]);
    this.note(
      `faults: ${Math.round(ERROR_RATE * 100)} % ${period.errorStatus}, ${Math.round(LOST_RESPONSE_RATE * 100)} % lost answers, webhooks duplicated ×${period.duplicate + 1}, reorder window ${period.reorderWindowMs} ms, delay up to ${period.delayMaxMs} ms`,
    );
  }

  /** Zendesk answers the next `count` calls with 429 and a `Retry-After`; the current period's other faults stay. */
  private async burst(burst: RateLimitBurst): Promise<void> {
    if (this.period === null) return;
    this.counts.rateLimitBursts++;
    const settings = this.settingsOf(this.period, this.period.seed + 100 + this.counts.rateLimitBursts);
    await this.system.zendesk.client.setFaults(this.account.zendeskSubdomain, {
      ...settings,
      force: { status: 429, count: burst.count, retryAfterSeconds: burst.retryAfterSeconds },
    });
    this.note(`Zendesk: the next ${burst.count} calls answer 429 with Retry-After ${burst.retryAfterSeconds} s`);
  }

  private async killWorker(downMs: number): Promise<void> {
    this.counts.workerKills++;
    this.note(`SIGKILL worker (down ${(downMs / 1000).toFixed(1)} s, then it bundles again)`);
    await this.system.worker.kill();
    await sleep(downMs);
    this.system.worker.start();
    await this.awaitReady('worker', () => this.system.workerReady(300_000));
  }

  private async killApi(downMs: number): Promise<void> {
    this.counts.apiKills++;
    this.note(`SIGKILL api (down ${(downMs / 1000).toFixed(1)} s)`);
    await this.system.api.kill();
    await sleep(downMs);
    this.system.api.start();
    await this.awaitReady('api', () => this.system.apiReady(60_000));
  }

  private async restartTemporal(): Promise<void> {
    this.counts.temporalRestarts++;
    this.note('restarting the Temporal dev server on the same port and database ...');
    const began = Date.now();
    await this.system.temporal.restart();
    this.note(`Temporal is back after ${((Date.now() - began) / 1000).toFixed(1)} s`);
    await Promise.all([
      this.awaitReady('api', () => this.system.apiReady(60_000)),
      this.awaitReady('worker', () => this.system.workerReady(300_000)),
    ]);
  }

  private async awaitReady(what: string, ready: () => Promise<void>): Promise<void> {
    const began = Date.now();
    try {
      await ready();
      this.note(`${what} ready after ${((Date.now() - began) / 1000).toFixed(1)} s`);
    } catch (err) {
      const problem = `${what} not ready: ${err instanceof Error ? err.message : String(err)}`;
      this.problems.push(problem);
      this.note(problem);
    }
  }
}
