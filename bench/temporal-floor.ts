import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { CpuMeter, cpuOfPid } from './cpu';
import { FLOOR_TASK_QUEUE } from './floor/activities';
import type { EntityShape } from './floor/workflows';
import { inBatches } from './profile';

const { EventType } = temporal.api.enums.v1;

/**
 * How an event may reach the work, cheapest first. `per-event run` is one execution per event and
 * no serialisation; the entity shapes serialise a customer's events, the last two with an
 * execution per event as well.
 */
export const FLOOR_SHAPES = [
  'entity, work inline',
  'per-event run',
  'entity + run started by activity',
  'entity + child run',
] as const;
export type FloorShape = (typeof FLOOR_SHAPES)[number];

const ENTITY_SHAPE: Record<Exclude<FloorShape, 'per-event run'>, EntityShape> = {
  'entity, work inline': 'inline',
  'entity + run started by activity': 'started-by-activity',
  'entity + child run': 'child',
};

export interface FloorRow {
  shape: FloorShape;
  events: number;
  /** CPU milliseconds per event of the worker and of the Temporal server; null when unreadable. */
  workerMs: number | null;
  serverMs: number | null;
  workflowTasks: number;
  historyEvents: number;
  /** Milliseconds from an event's send until its work started, p50 and p95. */
  toWorkP50: number;
  toWorkP95: number;
}

export interface FloorOptions {
  address: string;
  namespace: string;
  /** The Temporal server's pid, to read its CPU; null leaves the server column empty. */
  serverPid: number | null;
  events: number;
  rate: number;
  /** Customers the entity shapes spread the events over. */
  customers: number;
  log: (line: string) => void;
}

function startWorker(address: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'floor', 'worker.ts'), address], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the floor worker exited with ${code}`)));
    child.stdout?.on('data', (data: Buffer) => {
      if (data.toString('utf8').includes('ready')) resolve(child);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Fires the events of one shape and returns, per event, how long from its send until its work started. */
async function fire(client: Client, shape: FloorShape, options: FloorOptions, tag: string): Promise<number[]> {
  const started = Date.now();
  const sentAt: number[] = [];
  const reached: Array<Promise<Record<number, number>>> = [];
  const perCustomer = (c: number): number =>
    Math.floor(options.events / options.customers) + (c < options.events % options.customers ? 1 : 0);
  for (let event = 0; event < options.events; event++) {
    const wait = started + (event * 1000) / options.rate - Date.now();
    if (wait > 0) await sleep(wait);
    sentAt[event] = Date.now();
    if (shape === 'per-event run') {
      const handle = await client.workflow.start('floorRun', {
        taskQueue: FLOOR_TASK_QUEUE,
        workflowId: `${tag}-event-${event}`,
        args: [event],
      });
      reached.push(handle.result().then((workStarted: number) => ({ [event]: workStarted })));
    } else {
      const customer = event % options.customers;
      const handle = await client.workflow.signalWithStart('floorEntity', {
        taskQueue: FLOOR_TASK_QUEUE,
        workflowId: `${tag}-customer-${customer}`,
        args: [ENTITY_SHAPE[shape], perCustomer(customer)],
        signal: 'floorEvent',
        signalArgs: [event],
      });
      if (event < options.customers) reached.push(handle.result() as Promise<Record<number, number>>);
    }
  }
  const workStarted = new Map<number, number>();
  for (const part of await Promise.all(reached))
    for (const [event, at] of Object.entries(part)) workStarted.set(Number(event), at);
  return sentAt.map((at, event) => (workStarted.get(event) ?? Number.NaN) - at);
}

/** Workflow tasks and history events of every execution whose id starts with `tag`. */
async function historyCost(client: Client, tag: string): Promise<{ workflowTasks: number; historyEvents: number }> {
  const executions: Array<{ workflowId: string; runId: string }> = [];
  for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH "${tag}-"` }))
    executions.push({ workflowId: w.workflowId, runId: w.runId });
  let workflowTasks = 0;
  let historyEvents = 0;
  await inBatches(executions, 8, async ({ workflowId, runId }) => {
    const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    historyEvents += events.length;
    workflowTasks += events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length;
  });
  return { workflowTasks, historyEvents };
}

/**
 * Fires `events` events through each shape of workflow doing no work, and measures what Temporal
 * costs per event: the floor under the sync's own CPU per edit (`npm run bench -- --temporal-floor`).
 */
export async function measureTemporalFloor(options: FloorOptions): Promise<FloorRow[]> {
  const connection = await Connection.connect({ address: options.address });
  const client = new Client({ connection, namespace: options.namespace });
  const worker = await startWorker(options.address);
  try {
    const workerCpu = cpuOfPid(worker.pid ?? null);
    const serverCpu = cpuOfPid(options.serverPid);
    const rows: FloorRow[] = [];
    const run = `floor${Date.now().toString(36)}`;
    await fire(client, 'per-event run', { ...options, events: Math.min(20, options.events) }, `${run}-warm`);
    for (const [i, shape] of FLOOR_SHAPES.entries()) {
      options.log(`${shape}: ${options.events} events at ${options.rate}/s ...`);
      const tag = `${run}-${i}`;
      const meter = new CpuMeter({ worker: workerCpu, server: serverCpu });
      meter.start();
      const toWork = (await fire(client, shape, options, tag)).sort((a, b) => a - b);
      if (toWork.some((ms) => Number.isNaN(ms))) throw new Error(`${shape}: an event's work never reported its start`);
      const quantile = (q: number): number => toWork[Math.min(toWork.length - 1, Math.floor(q * toWork.length))] ?? 0;
      // What a finished event still sets off (a completed child's task on its entity) lands within this.
      await sleep(1_000);
      const cpu = meter.stop();
      const perEvent = (seconds: number | null | undefined): number | null =>
        seconds === null || seconds === undefined ? null : (seconds * 1000) / options.events;
      const cost = await historyCost(client, tag);
      rows.push({
        shape,
        events: options.events,
        workerMs: perEvent(cpu.seconds.worker),
        serverMs: perEvent(cpu.seconds.server),
        workflowTasks: cost.workflowTasks / options.events,
        historyEvents: cost.historyEvents / options.events,
        toWorkP50: quantile(0.5),
        toWorkP95: quantile(0.95),
      });
    }
    return rows;
  } finally {
    worker.kill('SIGKILL');
    await connection.close();
  }
}

export function formatFloor(rows: readonly FloorRow[], options: Pick<FloorOptions, 'rate'>): string {
  const ms = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(1));
  const lines = [
    `Temporal's own cost per event, workflows doing no work, ${options.rate} events/s`,
    '(CPU ms per event; send to work started: from the start or signal-with-start call until the work began)',
    '',
    '| shape | worker CPU | Temporal server CPU | worker + server CPU | workflow tasks | history events | send to work started, p50 / p95 (ms) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.shape} | ${ms(r.workerMs)} | ${ms(r.serverMs)} | ${ms(r.workerMs === null || r.serverMs === null ? null : r.workerMs + r.serverMs)} | ${r.workflowTasks.toFixed(2)} | ${r.historyEvents.toFixed(1)} | ${r.toWorkP50} / ${r.toWorkP95} |`,
    ),
  ];
  return lines.join('\n');
}
