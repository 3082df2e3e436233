import assert from 'node:assert/strict';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Keyring } from '../lib/crypto';
import { EncryptionCodec } from '../lib/payload-codec';
import { accountWorkflowId, type SyncRunResult } from '../workflows/definitions';
import { AccountView, uniqueEmail } from './support/customers';
import { eventually } from './support/eventually';
import { testHarness } from './hooks';
import { TestSystem } from './support/system';

type History = temporal.api.history.v1.IHistory;
interface WirePayload {
  metadata: Record<string, string>;
  data: string;
}

const b64 = (text: string | Uint8Array): string => Buffer.from(text).toString('base64');
const utf8 = (base64: string): string => Buffer.from(base64, 'base64').toString('utf8');
const isPayload = (value: unknown): value is Payload =>
  typeof value === 'object' &&
  value !== null &&
  'data' in value &&
  'metadata' in value &&
  (value as Payload).data instanceof Uint8Array;

/** Every payload of a history, with whether it sits in search attributes (which Temporal indexes in clear). */
/**
 * Every payload of a history. Search attributes are clear by design; so is the bookkeeping Temporal's
 * core records beside a local activity's result (`markerRecordedEventAttributes.details.data`: sequence
 * number, attempt, activity type, times), which never holds arguments or results.
 */
function payloadsOf(
  node: unknown,
  clearByDesign = false,
  found: Array<{ payload: Payload; clearByDesign: boolean }> = [],
  path: string[] = [],
) {
  if (isPayload(node)) {
    found.push({ payload: node, clearByDesign });
    return found;
  }
  if (typeof node !== 'object' || node === null || node instanceof Uint8Array) return found;
  for (const [key, value] of Object.entries(node)) {
    const localActivityBookkeeping =
      key === 'data' && path.at(-1) === 'details' && path.at(-2) === 'markerRecordedEventAttributes';
    // Written by the SDK core, never through the codec: the patch id of a versioned workflow change.
    const patchMarker =
      key === 'markerRecordedEventAttributes' && (value as { markerName?: string } | null)?.markerName === 'core_patch';
    payloadsOf(value, clearByDesign || key === 'searchAttributes' || localActivityBookkeeping || patchMarker, found, [
      ...path,
      key,
    ]);
  }
  return found;
}

const rawBytes = (history: History): Buffer => Buffer.from(temporal.api.history.v1.History.encode(history).finish());

describe('Encrypted Temporal payloads', function () {
  this.timeout(90_000);
  const oldKey = Keyring.generateSpec();
  const newKey = Keyring.generateSpec();
  let system: TestSystem;
  let rawClient: Client;

  before(async function () {
    this.timeout(180_000);
    // Rotated keys: new payloads are encrypted with the first, the older one still decrypts.
    system = await TestSystem.start({ ENCRYPTION_KEY: `${newKey},${oldKey}` });
    rawClient = new Client({ connection: testHarness().env.connection, namespace: system.config.temporal.namespace });
  });
  after(async () => system?.close());

  const codecCall = async (
    op: 'encode' | 'decode',
    payloads: WirePayload[],
    options: { token?: string | null; path?: string } = {},
  ) => {
    const token = options.token === undefined ? system.env.OPERATOR_TOKEN : options.token;
    const res = await fetch(`${system.apiUrl}${options.path ?? '/codec'}/${op}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'x-namespace': system.config.temporal.namespace,
      },
      body: JSON.stringify({ payloads }),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      payloads: res.ok ? (JSON.parse(text) as { payloads: WirePayload[] }).payloads : [],
    };
  };
  const toWire = (p: Payload): WirePayload => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v ?? new Uint8Array())])),
    data: b64(p.data ?? new Uint8Array()),
  });

  describe('workflow histories', () => {
    let account: AccountView;
    const person = {
      firstName: 'Zebediah',
      lastName: 'Quillfeather',
      email: uniqueEmail('zebediah.quillfeather'),
      phone: '090-5555-0199',
    };
    const zendeskSide = { otherEmail: uniqueEmail('zq.secondary'), otherPhone: '+442079460958' };
    let sgId: string;
    let histories: Array<{
      workflowId: string;
      type: string;
      raw: Buffer;
      payloads: Array<{ payload: Payload; clearByDesign: boolean }>;
    }>;
    /** Every payload of every history, decrypted with the service's key. */
    let decodedText: string;

    async function readHistories(subdomain: string) {
      const codec = new EncryptionCodec(system.config.keyring);
      const found = [];
      // Listing decodes memos, so it needs the codec; the histories themselves are fetched raw.
      for await (const wf of system.client.workflow.list({ query: `SyncAccount = '${subdomain}'` })) {
        const history = await rawClient.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        found.push({ workflowId: wf.workflowId, type: wf.type, raw: rawBytes(history), payloads: payloadsOf(history) });
      }
      const clear = await codec.decode(
        found.flatMap((h) => h.payloads.filter((p) => !p.clearByDesign).map((p) => p.payload)),
      );
      return {
        histories: found,
        decodedText: clear.map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8')).join('\n'),
      };
    }

    before(async function () {
      this.timeout(120_000);
      account = new AccountView(system, await system.addAccount());
      const linked = await account.createLinkedCustomer(person);
      sgId = linked.sgId;
      const zd = account.account.zendeskSubdomain;
      await system.zendesk.client.addIdentity(zd, linked.zdId, {
        type: 'email',
        value: zendeskSide.otherEmail,
        verified: true,
      });
      await system.zendesk.client.addIdentity(zd, linked.zdId, { type: 'phone_number', value: zendeskSide.otherPhone });
      await system.settle(account.account);

      // The runs for the new identities have written them to Storeganise.
      await eventually(async () => {
        const customFields =
          (await system.storeganise.client.getUser(account.account.subdomain, sgId)).customFields ?? {};
        assert.deepEqual(customFields.zendesk_otherPhones, [zendeskSide.otherPhone]);
        assert.deepEqual(customFields.zendesk_otherEmails, [zendeskSide.otherEmail]);
      });
      ({ histories, decodedText } = await eventually(async () => {
        const read = await readHistories(account.account.subdomain);
        // Visibility lists a run once it closed: wait until the customer's facts hold the person's email.
        assert.ok(read.decodedText.includes(person.email), 'no history holds the email yet');
        return read;
      }));
      assert.ok(
        histories.some((h) => h.workflowId === accountWorkflowId(account.account.subdomain)),
        'the account workflow is among them',
      );
      assert.ok(
        histories.some((h) => h.type === 'syncCustomer'),
        'a customer run is among them',
      );
    });

    it('without the codec, no history holds an email, phone number, name or secret in clear text', async () => {
      // The secrets the account workflow keeps sealed, opened with the service's own key.
      const secrets = new Set<string>();
      for (const sealed of decodedText.match(/sealed\.v1\.[\w-]+\.[\w-]+/g) ?? []) {
        secrets.add(sealed);
        secrets.add(system.config.keyring.unseal(sealed));
      }
      const [webhook] = await system.zendesk.client.webhooks(account.account.zendeskSubdomain);
      assert.ok(webhook);
      assert.ok(secrets.has(webhook.signingSecret), 'the webhook secret is kept (sealed) by the account workflow');
      assert.ok(secrets.size >= 6, `the grant's tokens are kept (sealed) too: ${secrets.size} sealed values`);

      // What the runs keep in history: the values both sides agreed on. They prove the check below can fail.
      const kept = [`${person.firstName} ${person.lastName}`, person.email, '+819055550199'];
      for (const needle of kept) assert.ok(decodedText.includes(needle), `the decoded histories hold ${needle}`);
      const personal = [
        ...kept,
        person.firstName,
        person.lastName,
        person.phone,
        zendeskSide.otherEmail,
        zendeskSide.otherPhone,
      ];
      const needles = [
        ...personal,
        ...secrets,
        system.config.zendesk.clientSecret,
        system.config.storeganise.addonApiKey,
        system.config.storeganise.webhookSecret,
      ];
      for (const { workflowId, raw } of histories) {
        for (const needle of needles)
          assert.ok(!raw.includes(Buffer.from(needle)), `${workflowId} holds ${needle.slice(0, 12)}… in clear`);
      }
    });

    it('every payload outside search attributes and SDK markers is encrypted with the current key', () => {
      const currentKeyId = Keyring.fromSpec(newKey).current.id;
      let checked = 0;
      for (const { workflowId, payloads } of histories) {
        for (const { payload, clearByDesign } of payloads) {
          if (clearByDesign) continue;
          checked++;
          assert.equal(
            Buffer.from(payload.metadata?.encoding ?? '').toString(),
            'binary/encrypted',
            `a clear payload in ${workflowId}`,
          );
          assert.equal(
            Buffer.from(payload.metadata?.['encryption-key-id'] ?? '').toString(),
            currentKeyId,
            `key id in ${workflowId}`,
          );
        }
      }
      assert.ok(checked > 20, `${checked} payloads checked`);
    });

    it('with the codec, the histories decode: the event input names the user, activity results hold the email', async () => {
      const runs = histories.filter((h) => h.type === 'syncCustomer');
      const results = await Promise.all(
        runs.map(async (run) => ({
          run,
          result: (await system.client.workflow.getHandle(run.workflowId).result()) as SyncRunResult,
        })),
      );
      const creation = results.find(({ result }) => result.notes.some((n) => n.includes('created Zendesk user')));
      assert.ok(creation, 'the run that created the Zendesk user is among the histories');
      const event = creation.run;
      const [input] = event.payloads.filter((p) => !p.clearByDesign);
      assert.ok(input);
      const decoded = await codecCall('decode', [toWire(input.payload)]);
      assert.equal(decoded.status, 200, decoded.text);
      assert.equal(utf8(decoded.payloads[0]?.metadata.encoding ?? ''), 'json/plain');
      assert.ok(utf8(decoded.payloads[0]?.data ?? '').includes(sgId), 'the decoded input names the Storeganise user');

      const all = await codecCall(
        'decode',
        event.payloads.filter((p) => !p.clearByDesign).map((p) => toWire(p.payload)),
      );
      assert.equal(all.status, 200, all.text);
      const text = all.payloads.map((p) => utf8(p.data)).join('\n');
      assert.ok(text.includes(person.email), 'the decoded activity results hold the email');
      assert.ok(text.includes(person.firstName));

      assert.equal(creation.result.outcome, 'synced');
    });
  });

  describe('codec endpoint', () => {
    const clearPayload: WirePayload = {
      metadata: { encoding: b64('json/plain') },
      data: b64(JSON.stringify({ email: 'round.trip@example.com' })),
    };

    it('refuses callers without the operator token', async () => {
      for (const op of ['encode', 'decode'] as const) {
        assert.equal((await codecCall(op, [clearPayload], { token: null })).status, 401);
        assert.equal((await codecCall(op, [clearPayload], { token: 'not-the-operator-token' })).status, 401);
      }
    });

    it('answers the CORS preflight of the Web UI', async () => {
      const origin = 'http://localhost:8233';
      const res = await fetch(`${system.apiUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
      assert.ok(res.status === 200 || res.status === 204, String(res.status));
      assert.equal(res.headers.get('access-control-allow-origin'), origin);
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const header of ['authorization', 'content-type', 'x-namespace'])
        assert.ok(allowed.includes(header), `${header} allowed: ${allowed}`);
      assert.ok((res.headers.get('access-control-allow-methods') ?? '').includes('POST'));
      const refused = await codecCall('decode', [clearPayload], { token: null });
      assert.equal(refused.status, 401);
    });

    it('encodes and decodes back the same payload, with the token in the header or in the path', async () => {
      const encoded = await codecCall('encode', [clearPayload]);
      assert.equal(encoded.status, 200, encoded.text);
      const [sealed] = encoded.payloads;
      assert.ok(sealed);
      assert.equal(utf8(sealed.metadata.encoding ?? ''), 'binary/encrypted');
      assert.equal(
        utf8(sealed.metadata['encryption-key-id'] ?? ''),
        Keyring.fromSpec(newKey).current.id,
        'encrypted with the first key',
      );
      assert.ok(!utf8(sealed.data).includes('round.trip@example.com'));
      const decoded = await codecCall('decode', [sealed], {
        token: null,
        path: `/codec/t/${system.env.OPERATOR_TOKEN}`,
      });
      assert.equal(decoded.status, 200, decoded.text);
      assert.deepEqual(decoded.payloads, [clearPayload]);
    });

    it('decodes a payload encrypted under an older key listed after the current one', async () => {
      const [underOldKey] = await new EncryptionCodec(Keyring.fromSpec(oldKey)).encode([
        { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"from before the rotation"') },
      ]);
      assert.ok(underOldKey);
      const decoded = await codecCall('decode', [toWire(underOldKey)]);
      assert.equal(decoded.status, 200, decoded.text);
      assert.equal(utf8(decoded.payloads[0]?.data ?? ''), '"from before the rotation"');

      // Without the old key the payload cannot be read, and the error says which key is missing.
      await assert.rejects(
        async () => new EncryptionCodec(Keyring.fromSpec(newKey)).decode([underOldKey]),
        /unknown encryption key id/,
      );
    });

    it('answers 400 naming the key for a payload encrypted under a key it does not hold', async () => {
      const stranger = Keyring.fromSpec(Keyring.generateSpec());
      const [foreign] = await new EncryptionCodec(stranger).encode([
        { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"foreign"') },
      ]);
      assert.ok(foreign);
      const answer = await codecCall('decode', [toWire(foreign)]);
      assert.equal(answer.status, 400, answer.text);
      assert.ok(answer.text.includes(stranger.current.id), answer.text);
    });
  });
});
