import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { z } from 'zod';
import { Keyring } from '../lib/crypto';
import { dataConverterFor } from '../lib/data-converter';
import { testHarness } from './hooks';

/**
 * Histories recorded by earlier versions of the workflow code (`test/tools/record-histories.ts`:
 * a sandbox account with edits on both sides, an email change, and a Zendesk requester queued while
 * the worker was down), their payloads encrypted with the test-only key stored beside them. A
 * workflow change that would break executions already in flight fails here unless it is versioned
 * with `patched`.
 */
const Fixture = z.object({
  encryptionKey: z.string(),
  histories: z.array(z.object({ workflowId: z.string(), type: z.string(), history: z.string() })),
});

describe('workflow versioning', function () {
  this.timeout(120_000);

  const fixtures = path.join(__dirname, 'fixtures');
  const recorded = readdirSync(fixtures).filter((name) => /^histories-\w+\.json$/.test(name));

  it('there are recorded histories to replay', () => assert.ok(recorded.length > 0));

  for (const name of recorded) {
    it(`${name}: every history replays on the current workflow code without a nondeterminism error`, async () => {
      const fixture = Fixture.parse(JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')));
      const types = new Set(fixture.histories.map((h) => h.type));
      // Each fixture holds the account and the event layer of its version: the legacy one, or the entity and its runs.
      const layers = [
        ['customerLock', 'syncStoreganiseUserEvent', 'syncZendeskUserEvent'],
        ['customerWorkflow', 'syncCustomer'],
      ];
      assert.ok(types.has('accountWorkflow'), 'the fixture holds an accountWorkflow history');
      assert.ok(
        layers.some((layer) => layer.every((type) => types.has(type))),
        `the fixture holds a whole event layer: ${[...types].join(', ')}`,
      );

      const histories = fixture.histories.map(({ workflowId, history }) => ({
        workflowId,
        history: temporal.api.history.v1.History.decode(Buffer.from(history, 'base64')),
      }));
      const failures: string[] = [];
      for await (const result of Worker.runReplayHistories(
        {
          workflowBundle: testHarness().workflowBundle,
          dataConverter: dataConverterFor(Keyring.fromSpec(fixture.encryptionKey)),
        },
        histories,
      )) {
        if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
      }
      assert.deepEqual(failures, []);
    });
  }
});
