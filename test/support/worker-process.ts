import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { temporal as proto } from '@temporalio/proto';
import { testHarness } from '../hooks';
import { eventually } from './eventually';
import { captureTestLogs, writeTestLog } from './log-capture';
import type { TestSystem } from './system';

const projectRoot = path.resolve(__dirname, '..', '..');
let bundleFile: string | null = null;

/** The run's workflow bundle as a file, written once, for worker processes to load. */
function workflowBundleFile(): string {
  if (bundleFile === null) {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sg-zendesk-bundle-')), 'workflow-bundle.js');
    writeFileSync(file, testHarness().workflowBundle.code);
    bundleFile = file;
  }
  return bundleFile;
}

/**
 * A sync worker in a process of its own (test/support/worker-child.ts), configured like the test
 * system's own worker, so a test can SIGKILL it mid-way as an operator's host would lose it.
 */
export class WorkerProcess {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  private constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'support', 'worker-child.ts')], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', ...env, TEST_WORKFLOW_BUNDLE: workflowBundleFile() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Its lines join the run's log (scanned for secrets), not the terminal.
    const quiet = captureTestLogs({ quiet: true });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream === null) continue;
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.output.push(line);
        writeTestLog(`${line}\n`);
      });
    }
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        quiet.stop();
        resolve({ code, signal });
      }),
    );
  }

  /** Starts a worker process for the system's task queue and waits until it polls it. */
  static async start(system: TestSystem): Promise<WorkerProcess> {
    const worker = new WorkerProcess(system.env);
    const { workflowService } = testHarness().env.connection;
    await eventually(
      async () => {
        if (!worker.running) throw new Error(`the worker process exited:\n${worker.output.join('\n')}`);
        const { pollers } = await workflowService.describeTaskQueue({
          namespace: system.config.temporal.namespace,
          taskQueue: { name: system.config.temporal.taskQueue },
          taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        });
        if (!pollers.some((p) => (p.identity ?? '').startsWith(`${worker.pid}@`)))
          throw new Error(`worker ${worker.pid} does not poll yet`);
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    return worker;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL: the process ends at once, whatever it was doing; nothing of it shuts down cleanly. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}
