import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { inBatches, toMs } from './profile';

const { EventType } = temporal.api.enums.v1;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** What a phase cost in Temporal: history events written, and Temporal Cloud's billable actions among them. */
export interface TemporalCost {
  workflows: number;
  historyEvents: number;
  actions: number;
  /** Actions by kind, the way Temporal Cloud names them. */
  actionsByKind: Record<string, number>;
}

/**
 * Temporal Cloud's billable actions in one history, counted as docs.temporal.io/cloud/actions
 * describes them: a workflow start (a child's counts twice, on its parent), a signal (one for a
 * signal-with-start, whether or not it started the workflow), a timer, a search-attribute upsert,
 * an activity attempt, the local activities of one workflow task together, an accepted update.
 * Queries and heartbeats leave no history event and are not counted.
 */
export function actionsOf(
  events: readonly HistoryEvent[],
  inWindow: (e: HistoryEvent) => boolean,
): Record<string, number> {
  const kinds: Record<string, number> = {};
  const add = (kind: string, n = 1): void => {
    kinds[kind] = (kinds[kind] ?? 0) + n;
  };
  const localActivityTasks = new Set<string>();
  events.forEach((event, i) => {
    if (!inWindow(event)) return;
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        if (!event.workflowExecutionStartedEventAttributes?.parentWorkflowExecution) add('workflow started');
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
        // A signal-with-start that started the workflow is one action with its start.
        const startedBySignal = i === 1 && events[0]?.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED;
        if (!startedBySignal) add('signal');
        break;
      }
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        add('child workflow started', 2);
        break;
      case EventType.EVENT_TYPE_TIMER_STARTED:
        add('timer started');
        break;
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        add('search attributes upserted');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        add('activity attempt', Math.max(1, event.activityTaskStartedEventAttributes?.attempt ?? 1));
        break;
      case EventType.EVENT_TYPE_MARKER_RECORDED: {
        const attrs = event.markerRecordedEventAttributes;
        if (attrs?.markerName === 'core_local_activity')
          localActivityTasks.add(String(attrs.workflowTaskCompletedEventId ?? ''));
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        add('update');
        break;
      default:
        break;
    }
  });
  if (localActivityTasks.size > 0) add('local activities (per workflow task)', localActivityTasks.size);
  return kinds;
}

/**
 * The history events and billable actions every workflow of the namespace wrote between two
 * moments: the runs an edit caused and its share of the long-lived entity and account workflows.
 */
export async function temporalCostBetween(client: Client, fromMs: number, untilMs: number): Promise<TemporalCost> {
  const since = new Date(fromMs).toISOString();
  const executions: Array<{ workflowId: string; runId: string }> = [];
  for await (const w of client.workflow.list({ query: `CloseTime >= "${since}" OR ExecutionStatus = "Running"` }))
    executions.push({ workflowId: w.workflowId, runId: w.runId });
  const inWindow = (e: HistoryEvent): boolean => {
    const at = toMs(e.eventTime);
    return at >= fromMs && at <= untilMs;
  };
  const cost: TemporalCost = { workflows: 0, historyEvents: 0, actions: 0, actionsByKind: {} };
  await inBatches(executions, 8, async ({ workflowId, runId }) => {
    const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const counted = events.filter(inWindow).length;
    if (counted === 0) return;
    cost.workflows++;
    cost.historyEvents += counted;
    for (const [kind, n] of Object.entries(actionsOf(events, inWindow))) {
      cost.actionsByKind[kind] = (cost.actionsByKind[kind] ?? 0) + n;
      cost.actions += n;
    }
  });
  return cost;
}
