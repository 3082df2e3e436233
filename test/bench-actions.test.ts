import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { actionsOf } from '../bench/actions';

const { EventType } = temporal.api.enums.v1;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

// fromObject turns plain numbers into the Longs the generated types ask for.
const ev = (
  eventType: temporal.api.enums.v1.EventType,
  seconds: number,
  more: Record<string, unknown> = {},
): HistoryEvent =>
  temporal.api.history.v1.HistoryEvent.fromObject({ eventType, eventTime: { seconds, nanos: 0 }, ...more });
const all = (): boolean => true;

describe('the benchmark’s Temporal Cloud action count (docs.temporal.io/cloud/actions)', () => {
  it('a signal-with-start that starts the workflow is one action; later signals one each', () => {
    const kinds = actionsOf(
      [
        ev(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 1),
        ev(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 1),
        ev(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 1),
        ev(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 2),
      ],
      all,
    );
    assert.deepEqual(kinds, { 'workflow started': 1, signal: 1 });
  });

  it('a child counts twice on its parent and not again as its own start; local activities once per workflow task', () => {
    const marker = (task: number): HistoryEvent =>
      ev(EventType.EVENT_TYPE_MARKER_RECORDED, 3, {
        markerRecordedEventAttributes: { markerName: 'core_local_activity', workflowTaskCompletedEventId: task },
      });
    const parent = actionsOf(
      [
        ev(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 1),
        ev(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, 2),
        marker(4),
        marker(4),
        marker(9),
        ev(EventType.EVENT_TYPE_MARKER_RECORDED, 3, {
          markerRecordedEventAttributes: { markerName: 'core_patch', workflowTaskCompletedEventId: 9 },
        }),
        ev(EventType.EVENT_TYPE_TIMER_STARTED, 3),
        ev(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, 3),
        ev(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, 4, { activityTaskStartedEventAttributes: { attempt: 3 } }),
      ],
      all,
    );
    assert.deepEqual(parent, {
      'workflow started': 1,
      'child workflow started': 2,
      'local activities (per workflow task)': 2,
      'timer started': 1,
      'search attributes upserted': 1,
      'activity attempt': 3,
    });
    const child = actionsOf(
      [
        ev(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 2, {
          workflowExecutionStartedEventAttributes: { parentWorkflowExecution: { workflowId: 'p' } },
        }),
      ],
      all,
    );
    assert.deepEqual(child, {});
  });

  it('counts only the events inside the window', () => {
    const events = [ev(EventType.EVENT_TYPE_TIMER_STARTED, 1), ev(EventType.EVENT_TYPE_TIMER_STARTED, 5)];
    assert.deepEqual(
      actionsOf(events, (e) => Number(e.eventTime?.seconds) >= 3),
      { 'timer started': 1 },
    );
  });
});
