/** Totals of the worker's Prometheus counters and histogram counts, summed over their labels. */
export type MetricTotals = Record<string, number>;

/** Reads the worker's Temporal metrics (WORKER_METRICS_PORT); null when they cannot be read. */
export async function readWorkerMetrics(url: string): Promise<MetricTotals | null> {
  try {
    const res = await fetch(url);
    if (!res.ok) return null;
    const totals: MetricTotals = {};
    for (const line of (await res.text()).split('\n')) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line.trim());
      if (!match) continue;
      const [, name = '', value = ''] = match;
      if (
        !name.endsWith('_count') &&
        !name.endsWith('_total') &&
        !/^temporal_(workflow|activity|local_activity)_[a-z_]+$/.test(name)
      )
        continue;
      totals[name] = (totals[name] ?? 0) + Number(value);
    }
    return totals;
  } catch {
    return null;
  }
}

/** What the worker did between two readings, per edit: workflow tasks, activities, local activities. */
export function workerWorkPerEdit(
  before: MetricTotals | null,
  after: MetricTotals | null,
  edits: number,
): Record<string, number> | null {
  if (before === null || after === null) return null;
  const delta = (name: string): number | null =>
    after[name] === undefined ? null : (after[name] ?? 0) - (before[name] ?? 0);
  const per = (name: string): number | null => {
    const d = delta(name);
    return d === null ? null : Number((d / edits).toFixed(2));
  };
  const picked: Record<string, number | null> = {
    workflowTasks: per('temporal_workflow_task_execution_latency_count'),
    activities: per('temporal_activity_execution_latency_count'),
    localActivities: per('temporal_local_activity_execution_latency_count'),
    workflowsCompleted: per('temporal_workflow_completed'),
    stickyCacheMisses: per('temporal_sticky_cache_miss'),
  };
  return Object.fromEntries(Object.entries(picked).filter((e): e is [string, number] => e[1] !== null));
}
