import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Keyring } from '../../lib/crypto';
import { AccountView, uniqueEmail } from '../support/customers';
import { eventually } from '../support/eventually';
import { TestSystem } from '../support/system';

/**
 * Not a test: records the histories `test/replay.test.ts` replays. Run it on a version that ships
 * (`npx mocha test/tools/record-histories.ts`); it writes `test/fixtures/histories-<commit>.json`,
 * encrypted with a fresh test-only key kept beside them.
 */
describe('record workflow histories for the replay test', function () {
  this.timeout(300_000);

  it('records the histories of a sandbox account with edits on both sides', async () => {
    const encryptionKey = Keyring.generateSpec();
    const system = await TestSystem.start({ ENCRYPTION_KEY: encryptionKey });
    try {
      const acme = new AccountView(system, await system.addAccount());
      const sg = acme.account.subdomain;
      const zd = acme.account.zendeskSubdomain;
      const customer = await acme.createLinkedCustomer({
        firstName: 'Taro',
        lastName: 'Yamada',
        phone: '090-1234-5678',
      });
      await system.storeganise.client.updateUser(sg, customer.sgId, { firstName: 'Jiro' });
      await eventually(async () => assert.equal((await acme.zdUser(customer.zdId)).name, 'Jiro Yamada'));
      await system.zendesk.client.updateUser(zd, customer.zdId, { phone: '03 1234 5678' });
      await eventually(async () => assert.equal((await acme.sgUser(customer.sgId)).phone, '+81312345678'));
      await system.storeganise.client.updateUser(sg, customer.sgId, { email: uniqueEmail('jiro') });
      await system.settle(acme.account);

      // A Zendesk requester and a customer with the same email, queued while the worker is down.
      await system.stopWorker();
      const email = uniqueEmail('walk-in');
      const requester = await system.zendesk.client.createUser(zd, { name: 'Front Desk Requester', email });
      await system.zendesk.client.updateUser(zd, requester.id, { phone: '03 5555 0100' });
      await system.zendesk.client.idle();
      await system.storeganise.client.createUser(sg, { firstName: 'Walk', lastName: 'In', email });
      await system.storeganise.client.idle();
      await system.startWorker();
      await system.settle(acme.account);

      // Listing decodes memos (encrypted: the system's client has the key); a fetched history stays as stored.
      const histories: Array<{ workflowId: string; type: string; history: string }> = [];
      for await (const wf of system.client.workflow.list({ query: `SyncAccount = '${sg}'` })) {
        const history = await system.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        histories.push({
          workflowId: wf.workflowId,
          type: wf.type,
          history: Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('base64'),
        });
      }
      const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
      const out = path.join(__dirname, '..', 'fixtures', `histories-${commit}.json`);
      writeFileSync(out, JSON.stringify({ encryptionKey, histories }));
      console.log(`${histories.length} histories written to ${out}`);
    } finally {
      await system.close();
    }
  });
});
