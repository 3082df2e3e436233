import type { Client } from '@temporalio/client';
import { temporal, type google } from '@temporalio/proto';
import { storeganiseEventWorkflowId, zendeskEventWorkflowId } from '../workflows/definitions';
import { percentile, type ChangeOutcome } from './measure';

const { EventType } = temporal.api.enums.v1;

/** One stretch of an edit's way from its webhook to the write on the other side. */
interface Segment {
  label: string;
  ms: number;
}

export interface StepStats {
  label: string;
  /** In how many of the sampled edits the step occurred. */
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Mean of the step over the mean end-to-end time of the sample. */
  share: number;
}

export interface Profile {
  sampled: number;
  meanEndToEndMs: number;
  steps: StepStats[];
  /** Workflow tasks and activity tasks that waited for a worker slot, across the sample. */
  workflowTaskQueuedP95Ms: number | null;
  activityQueuedP95Ms: number | null;
  /** History events and workflow tasks of one edit's own event workflow (the lock's work not included). */
  historyEventsPerWorkflow: number;
  workflowTasksPerWorkflow: number;
}

export function toMs(ts: google.protobuf.ITimestamp | null | undefined): number {
  if (!ts) return NaN;
  const seconds = ts.seconds;
  const whole = typeof seconds === 'number' ? seconds : seconds ? Number(seconds.toString()) : 0;
  return whole * 1000 + (ts.nanos ?? 0) / 1e6;
}

/**
 * The edit's timeline from its run's event history and its customer entity's: ingress until the
 * event is queued on the entity, the entity until the run starts, the run's first workflow task in
 * the task queue, then the task with its local activity (or, for activities, the task that
 * scheduled each, its wait in the task queue and its run); cut at the moment the write became
 * visible on the other side.
 */
interface Timeline {
  segments: Segment[];
  wftQueued: number[];
  activityQueued: number[];
  events: number;
  workflowTasks: number;
}

/**
 * When the edit's event reached its customer entity (the signal) and when the entity started the
 * run for it, from the entity's history; null when the run was not started by an entity.
 */
function entitySteps(
  runWorkflowId: string,
  sentAtMs: number,
  entity: temporal.api.history.v1.IHistory,
): { queuedAt: number; runStartedAt: number } | null {
  const events = entity.events ?? [];
  const initiated = events.findIndex(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED &&
      e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId === runWorkflowId,
  );
  if (initiated < 0) return null;
  const signal = events
    .slice(0, initiated)
    .find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && toMs(e.eventTime) >= sentAtMs);
  const started = events
    .slice(initiated)
    .find((e) => e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  if (signal === undefined || started === undefined) return null;
  return { queuedAt: toMs(signal.eventTime), runStartedAt: toMs(started.eventTime) };
}

function timeline(
  outcome: ChangeOutcome,
  history: temporal.api.history.v1.IHistory,
  entity: temporal.api.history.v1.IHistory | null,
): Timeline {
  const segments: Segment[] = [];
  const wftQueued: number[] = [];
  const activityQueued: number[] = [];
  const webhook = outcome.webhook;
  const write = outcome.write;
  const events = history.events?.length ?? 0;
  const workflowTasks = (history.events ?? []).filter(
    (e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  ).length;
  if (webhook === null || write === null) return { segments, wftQueued, activityQueued, events, workflowTasks };
  const visibleAt = write.atMs + write.durationMs;
  const scheduled = new Map<string, { name: string; at: number }>();
  const started = new Map<string, number>();
  const wftScheduled = new Map<string, number>();
  let cursor = webhook.sentAtMs;
  let done = false;
  let firstTask = true;
  const add = (label: string, until: number): void => {
    if (done) return;
    const end = Math.min(until, visibleAt);
    segments.push({ label, ms: Math.max(0, end - cursor) });
    cursor = end;
    if (until >= visibleAt) done = true;
  };
  const [first] = history.events ?? [];
  const runWorkflowId = first?.workflowExecutionStartedEventAttributes?.workflowId ?? null;
  const steps = entity === null || runWorkflowId === null ? null : entitySteps(runWorkflowId, cursor, entity);
  if (steps !== null) {
    add('ingress: webhook sent → queued on the customer entity', steps.queuedAt);
    add('entity: its workflow task (and any run before) → run started', steps.runStartedAt);
  }
  for (const event of history.events ?? []) {
    const at = toMs(event.eventTime);
    const id = String(event.eventId ?? '');
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        if (steps === null) add('ingress: webhook sent → execution started', at);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        wftScheduled.set(id, at);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
        const from = wftScheduled.get(String(event.workflowTaskStartedEventAttributes?.scheduledEventId ?? ''));
        if (from !== undefined) wftQueued.push(at - from);
        if (firstTask) add('run: its first workflow task waits for a worker', at);
        firstTask = false;
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const name = event.activityTaskScheduledEventAttributes?.activityType?.name ?? 'activity';
        scheduled.set(id, { name, at });
        add(`workflow task → schedule ${name}`, at);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const of = scheduled.get(String(event.activityTaskStartedEventAttributes?.scheduledEventId ?? ''));
        if (of === undefined) break;
        activityQueued.push(at - of.at);
        started.set(String(event.activityTaskStartedEventAttributes?.scheduledEventId ?? ''), at);
        add(`${of.name}: queued for a worker`, at);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
        const scheduledId = String(
          event.activityTaskCompletedEventAttributes?.scheduledEventId ??
            event.activityTaskFailedEventAttributes?.scheduledEventId ??
            event.activityTaskTimedOutEventAttributes?.scheduledEventId ??
            '',
        );
        const of = scheduled.get(scheduledId);
        if (of !== undefined) add(`${of.name}: runs`, at);
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
        const name = event.workflowExecutionSignaledEventAttributes?.signalName ?? 'signal';
        add(`waiting for signal ${name}`, at);
        break;
      }
      default:
        break;
    }
  }
  // A run's read-decide-write is a local activity inside its workflow task: no event until it is done.
  if (!done) add('run: workflow task and local activity until the write is answered', visibleAt);
  return { segments, wftQueued, activityQueued, events, workflowTasks };
}

export async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i] as T);
      }
    }),
  );
  return results;
}

/** Reads the histories of a sample of the edits (the slowest ones and an even spread of the rest) and breaks their time down by step. */
export async function profileEdits(
  client: Client,
  subdomain: string,
  outcomes: readonly ChangeOutcome[],
  sampleSize = 300,
): Promise<Profile> {
  const landed = outcomes.filter((o) => o.endToEndMs !== null && o.webhook !== null);
  const slowest = [...landed].sort((a, b) => (b.endToEndMs ?? 0) - (a.endToEndMs ?? 0)).slice(0, 20);
  const step = Math.max(1, Math.ceil(landed.length / sampleSize));
  const sample = [...new Set([...slowest, ...landed.filter((_, i) => i % step === 0)])];
  // Sampled edits of one customer share its entity's history: read it once.
  const entities = new Map<string, Promise<temporal.api.history.v1.IHistory | null>>();
  const entityHistory = (workflowId: string): Promise<temporal.api.history.v1.IHistory | null> => {
    let history = entities.get(workflowId);
    if (history === undefined) {
      history = client.workflow
        .getHandle(workflowId)
        .fetchHistory()
        .catch(() => null);
      entities.set(workflowId, history);
    }
    return history;
  };
  const timelines = await inBatches(sample, 10, async (outcome) => {
    const eventId = outcome.webhook?.eventId ?? '';
    const workflowId =
      outcome.change.side === 'storeganise'
        ? storeganiseEventWorkflowId(subdomain, eventId)
        : zendeskEventWorkflowId(subdomain, eventId);
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const parent =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.parentWorkflowExecution?.workflowId ?? null;
    return timeline(outcome, history, parent === null ? null : await entityHistory(parent));
  });
  const byLabel = new Map<string, number[]>();
  for (const { segments } of timelines) {
    const perEdit = new Map<string, number>();
    for (const s of segments) perEdit.set(s.label, (perEdit.get(s.label) ?? 0) + s.ms);
    for (const [label, ms] of perEdit) byLabel.set(label, [...(byLabel.get(label) ?? []), ms]);
  }
  const meanEndToEndMs = sample.reduce((sum, o) => sum + (o.endToEndMs ?? 0), 0) / Math.max(1, sample.length);
  const steps: StepStats[] = [...byLabel].map(([label, values]) => {
    const total = values.reduce((a, b) => a + b, 0);
    return {
      label,
      count: values.length,
      meanMs: total / values.length,
      p50Ms: percentile(values, 50) ?? 0,
      p95Ms: percentile(values, 95) ?? 0,
      maxMs: Math.max(...values),
      share: total / sample.length / Math.max(1, meanEndToEndMs),
    };
  });
  return {
    sampled: sample.length,
    meanEndToEndMs,
    steps,
    workflowTaskQueuedP95Ms: percentile(
      timelines.flatMap((t) => t.wftQueued),
      95,
    ),
    activityQueuedP95Ms: percentile(
      timelines.flatMap((t) => t.activityQueued),
      95,
    ),
    historyEventsPerWorkflow: timelines.reduce((sum, t) => sum + t.events, 0) / Math.max(1, timelines.length),
    workflowTasksPerWorkflow: timelines.reduce((sum, t) => sum + t.workflowTasks, 0) / Math.max(1, timelines.length),
  };
}
