import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { ensureSearchAttributes } from '../lib/temporal';
import { startDevServer, type DevServer } from '../scripts/dev-server';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { workflowBundleOptions } from '../worker/worker';
import { secretsInLogs } from './support/log-capture';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

export interface Harness {
  /** The real Temporal dev server every test of the run talks to. */
  server: DevServer;
  env: TestWorkflowEnvironment;
  /** Workflows bundled once per run; workers of every test share it. */
  workflowBundle: WorkflowBundle;
}

let harness: Harness | null = null;

export function testHarness(): Harness {
  if (harness === null)
    throw new Error('the root hooks did not start Temporal (run through `npm test` / .mocharc.json)');
  return harness;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(10 * 60_000);
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const cli = await resolveTemporalCli((line) => console.log(line));
    const server = await startDevServer({ cli, readyTimeoutSeconds: 120 });
    try {
      const env = await TestWorkflowEnvironment.createFromExistingServer({
        address: server.address,
        namespace: server.namespace,
      });
      await ensureSearchAttributes(env.connection, server.namespace, SEARCH_ATTRIBUTE_KEYS);
      const workflowBundle = await bundleWorkflowCode({
        ...workflowBundleOptions,
        logger: new DefaultLogger('ERROR'),
      });
      harness = { server, env, workflowBundle };
    } catch (err) {
      console.error(`Temporal dev server output:\n${server.output()}`);
      await server.stop();
      throw err;
    }
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    // Every line the API and the workers of the whole run logged, scanned for every secret they were configured with.
    const leaks = secretsInLogs();
    if (leaks.length > 0)
      throw new Error(
        `secrets appeared in the logs of this run:\n${leaks.map((l) => `  ${l.variable}: ${l.line}`).join('\n')}`,
      );
    const current = harness;
    harness = null;
    if (current === null) return;
    await current.env.teardown();
    await current.server.stop();
  },
};
