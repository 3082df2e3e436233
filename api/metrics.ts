import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** API metrics for Prometheus; the worker's Temporal metrics have their own port (WORKER_METRICS_PORT). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sg_zendesk_sync_api_' });
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
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
