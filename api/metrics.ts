import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SyncLogTail } from '../client/sync-log';

/** Where the sync-log metrics come from; attached by the status router (api/status.ts), which owns the log's reader. */
export interface SyncLogMetricsSource {
  tail: SyncLogTail;
  /** Each account's full-sync progress, or null when this version serves no full sync. */
  fullSyncProgress(): Promise<Array<{ account: string; running: boolean; counts: Record<string, number> }> | null>;
}

// A scrape reads the log once, however many of its metrics ask.
const REFRESH_AT_MOST_EVERY_MS = 1_000;

/**
 * API metrics for Prometheus; the worker's Temporal metrics have their own port (WORKER_METRICS_PORT).
 * The event-outcome counters follow the sync log (client/sync-log.ts) from the API's start: each
 * API counts every outcome of the installation once, so scrape one API, or take `max` across them.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sg_zendesk_sync_api_' });
  let source: SyncLogMetricsSource | null = null;
  let refreshing: Promise<void> | null = null;
  let refreshedAt = 0;

  const refresh = (): Promise<void> => {
    if (source === null || Date.now() - refreshedAt < REFRESH_AT_MOST_EVERY_MS) return refreshing ?? Promise.resolve();
    if (refreshing) return refreshing;
    const { tail } = source;
    refreshing = (async () => {
      for (const seen of await tail.advance()) {
        eventOutcomes.inc({
          account: seen.account,
          source: seen.source,
          direction: seen.direction,
          outcome: seen.outcome,
        });
        if (seen.conflictResolved) conflictsResolved.inc({ account: seen.account });
        if (seen.outcome === 'repaired') repairs.inc({ account: seen.account });
      }
    })()
      .catch(() => {
        // Temporal unreachable: the counters keep their values, and the next scrape reads on from where this one stopped.
        logReadFailures.inc();
      })
      .finally(() => {
        refreshedAt = Date.now();
        refreshing = null;
      });
    return refreshing;
  };

  const eventOutcomes: Counter<'account' | 'source' | 'direction' | 'outcome'> = new Counter({
    name: 'sg_zendesk_sync_event_outcomes_total',
    help: "Accepted events by account, source (storeganise and zendesk: webhooks; rental; operator: a resync, the import or a full sync; reconcile: the sync's own rechecks and repairs), direction (storeganise-to-zendesk, zendesk-to-storeganise, both-ways, none) and outcome (synced, unchanged, echo, coalesced, conflict, rejected, deleted, repaired, failed, …), since this API started",
    labelNames: ['account', 'source', 'direction', 'outcome'] as const,
    registers: [registry],
    collect: refresh,
  });
  const conflictsResolved: Counter<'account'> = new Counter({
    name: 'sg_zendesk_sync_conflicts_resolved_total',
    help: 'Runs that decided a same-field conflict by the conflict model (later edit wins), by account, since this API started',
    labelNames: ['account'] as const,
    registers: [registry],
    collect: refresh,
  });
  const repairs: Counter<'account'> = new Counter({
    name: 'sg_zendesk_sync_reconciliation_repairs_total',
    help: 'Differences reconciliation found that no webhook explained, and wrote, by account, since this API started',
    labelNames: ['account'] as const,
    registers: [registry],
    collect: refresh,
  });
  const logReadFailures = new Counter({
    name: 'sg_zendesk_sync_log_read_failures_total',
    help: 'Scrapes that could not read the sync log from Temporal',
    registers: [registry],
  });
  const fullSyncProgress = new Gauge({
    name: 'sg_zendesk_sync_full_sync_progress',
    help: "The account's latest full sync: running (1 or 0), done, total, linked, created, repaired, conflicts, errors",
    labelNames: ['account', 'count'] as const,
    registers: [registry],
    async collect() {
      const accounts = source === null ? null : await source.fullSyncProgress();
      this.reset();
      for (const account of accounts ?? []) {
        this.set({ account: account.account, count: 'running' }, account.running ? 1 : 0);
        for (const [count, value] of Object.entries(account.counts))
          this.set({ account: account.account, count }, value);
      }
    },
  });

  return {
    registry,
    webhooks: new Counter({
      name: 'sg_zendesk_sync_webhooks_total',
      help: 'Webhooks answered, by source and outcome (accepted, duplicate, ignored, registered, rejected)',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
    webhookSeconds: new Histogram({
      name: 'sg_zendesk_sync_webhook_duration_seconds',
      help: 'Time to answer a webhook, by source',
      labelNames: ['source', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    eventOutcomes,
    conflictsResolved,
    repairs,
    fullSyncProgress,
    /** Connects the sync-log metrics to their source (once, by the status router). */
    attachSyncLog(next: SyncLogMetricsSource): void {
      source = next;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
