import assert from 'node:assert/strict';
import { FLOOR_SHAPES, formatFloor, measureTemporalFloor, type FloorShape } from '../bench/temporal-floor';
import { parseOptions, UsageError } from '../bench/options';
import { testHarness } from './hooks';

describe('the Temporal floor benchmark (npm run bench -- --temporal-floor)', () => {
  it('runs every event of every shape to its end and counts the workflow tasks each shape costs', async function () {
    this.timeout(120_000);
    const { server } = testHarness();
    const rows = await measureTemporalFloor({
      address: server.address,
      namespace: server.namespace,
      serverPid: null,
      events: 6,
      rate: 30,
      customers: 2,
      log: () => undefined,
    });
    assert.deepEqual(
      rows.map((r) => r.shape),
      [...FLOOR_SHAPES],
    );
    // The benchmark returns only once every event's executions have ended. A task that an event
    // starts may also carry the next event's signal, so the entity shapes cost at most their count.
    const tasks = (shape: FloorShape): number => rows.find((r) => r.shape === shape)?.workflowTasks ?? 0;
    const all = JSON.stringify(rows.map((r) => [r.shape, r.workflowTasks]));
    assert.equal(tasks('per-event run'), 1, all);
    assert.ok(tasks('entity, work inline') > 0.5 && tasks('entity, work inline') <= 1, all);
    assert.ok(tasks('entity + run started by activity') > 2 && tasks('entity + run started by activity') <= 3, all);
    assert.ok(tasks('entity + child run') > 3 && tasks('entity + child run') <= 4, all);
    for (const row of rows) {
      assert.ok(row.workerMs !== null && row.workerMs > 0, `${row.shape}: worker CPU read`);
      // Every event's work reported when it started, after it was sent.
      assert.ok(
        row.toWorkP50 > 0 && row.toWorkP95 >= row.toWorkP50,
        `${row.shape}: ${row.toWorkP50} / ${row.toWorkP95}`,
      );
    }
    assert.ok(rows.every((r) => r.serverMs === null));
    assert.match(
      formatFloor(rows, { rate: 30 }),
      /\| entity \+ child run \| [\d.]+ \| n\/a \| n\/a \| [34]\.\d\d \| [\d.]+ \| \d+ \/ \d+ \|/,
    );
  });

  it('measures 300 events at 10/s over 20 customers unless told otherwise, and is not combined with --backfill', () => {
    const floor = parseOptions(['--temporal-floor'], {});
    assert.deepEqual([floor.temporalFloor, floor.changes, floor.rate, floor.users], [true, 300, 10, 20]);
    const told = parseOptions(['--temporal-floor', '--rate', '5'], { BENCH_CHANGES: '50' });
    assert.deepEqual([told.changes, told.rate, told.users], [50, 5, 20]);
    assert.throws(() => parseOptions(['--temporal-floor', '--backfill'], {}), UsageError);
    // The positive control: without the flag the edit benchmark's own defaults stand.
    const edits = parseOptions([], {});
    assert.deepEqual([edits.temporalFloor, edits.changes, edits.rate, edits.users], [false, 1000, 20, 100]);
  });
});
