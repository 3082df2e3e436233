import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { floorActivities, FLOOR_TASK_QUEUE } from './activities';

/** The floor benchmark's worker, in its own process so that its CPU is measured apart: `worker.ts <address>`. */
async function main(address: string): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const worker = await Worker.create({
    connection,
    taskQueue: FLOOR_TASK_QUEUE,
    workflowsPath: require.resolve('./workflows'),
    activities: floorActivities(client),
  });
  process.stdout.write('ready\n');
  await worker.run();
}

main(process.argv[2] ?? '').catch((err: unknown) => {
  process.stderr.write(`floor worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
