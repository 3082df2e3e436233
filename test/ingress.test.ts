import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { uniqueEmail } from './support/customers';
import { TestSystem, type TestAccount } from './support/system';
import { post, signStoreganise, signZendesk, zendeskTimestamp } from './support/webhooks';

describe('webhook ingress', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let acme: TestAccount;
  let zendeskSecret: string;

  before(async function () {
    this.timeout(180_000);
    system = await TestSystem.start();
    acme = await system.addAccount();
    const [webhook] = await system.zendesk.client.webhooks(acme.zendeskSubdomain);
    assert.ok(webhook, 'the service registered its Zendesk webhook');
    zendeskSecret = webhook.signingSecret;
  });
  after(async () => system?.close());

  const workflowsOf = async (subdomain: string): Promise<number> =>
    (await system.client.workflow.count(`SyncAccount = '${subdomain}'`)).count;
  const outgoingCalls = async (): Promise<number> =>
    (await system.zendesk.client.requests({})).lastSeq + (await system.storeganise.client.requests({})).length;

  describe('POST /addon/storeganise', () => {
    const url = () => `${system.apiUrl}/addon/storeganise`;
    const secret = () => system.config.storeganise.webhookSecret;
    const envelope = (overrides: Record<string, unknown> = {}) =>
      JSON.stringify({
        id: randomUUID(),
        type: 'user.updated',
        data: { userId: '64f0c0ffee0000000000beef', changedKeys: ['firstName'] },
        apiUrl: system.storeganise.urlTemplate.replace('{subdomain}', acme.subdomain),
        addonId: acme.addonId,
        ...overrides,
      });
    const signed = (body: string | Buffer) => ({
      'content-type': 'application/json',
      'sg-signature': signStoreganise(secret(), body),
    });

    const cases: Array<{
      name: string;
      status: number;
      request: () => { body: string | Buffer; headers: Record<string, string> };
      path?: string;
    }> = [
      {
        name: 'a bad signature',
        status: 401,
        request: () => ({
          body: envelope(),
          headers: { 'content-type': 'application/json', 'sg-signature': signStoreganise('wrong-secret', envelope()) },
        }),
      },
      {
        name: 'a missing signature',
        status: 401,
        request: () => ({ body: envelope(), headers: { 'content-type': 'application/json' } }),
      },
      { name: 'malformed JSON', status: 400, request: () => ({ body: '{"id": ', headers: signed('{"id": ') }) },
      {
        name: 'a body without apiUrl',
        status: 400,
        path: 'apiUrl',
        request: () => {
          const body = JSON.stringify({
            id: 'e1',
            type: 'user.updated',
            data: { userId: 'u1' },
            addonId: acme.addonId,
          });
          return { body, headers: signed(body) };
        },
      },
      {
        name: 'a user event without data.userId',
        status: 400,
        path: 'data.userId',
        request: () => {
          const body = envelope({ data: { changedKeys: ['email'] } });
          return { body, headers: signed(body) };
        },
      },
      {
        name: 'a body over 1 MiB',
        status: 413,
        request: () => {
          const body = envelope({ padding: 'x'.repeat(1024 * 1024) });
          return { body, headers: signed(body) };
        },
      },
      {
        name: 'a wrong content type',
        status: 415,
        request: () => ({
          body: envelope(),
          headers: { 'content-type': 'text/plain', 'sg-signature': signStoreganise(secret(), envelope()) },
        }),
      },
      {
        name: 'an apiUrl that does not match the template',
        status: 400,
        path: 'apiUrl',
        request: () => {
          const body = envelope({ apiUrl: 'https://evil.example.com/api' });
          return { body, headers: signed(body) };
        },
      },
      {
        name: 'an account whose add-on Storeganise does not know',
        status: 404,
        request: () => {
          const body = envelope({ apiUrl: system.storeganise.urlTemplate.replace('{subdomain}', 'ghost') });
          return { body, headers: signed(body) };
        },
      },
    ];
    for (const c of cases) {
      it(`answers ${c.status} to ${c.name} and starts nothing`, async () => {
        const before = await workflowsOf(acme.subdomain);
        const { body, headers } = c.request();
        const res = await post(url(), body, headers);
        assert.equal(res.status, c.status, JSON.stringify(res.json));
        if (c.path) assert.equal((res.json as { error?: { path?: string } }).error?.path, c.path);
        assert.equal(await workflowsOf(acme.subdomain), before);
        assert.equal(await workflowsOf('ghost'), 0);
      });
    }

    it('sends no request anywhere for an apiUrl that does not match the template', async () => {
      const before = await outgoingCalls();
      const body = envelope({ apiUrl: 'http://127.0.0.1:1/evil/api' });
      assert.equal((await post(url(), body, signed(body))).status, 400);
      assert.equal(await outgoingCalls(), before);
    });

    it('answers 200 and drops an event type the sync does not use', async () => {
      const before = await workflowsOf(acme.subdomain);
      const body = envelope({ type: 'invoice.state.updated', data: { invoiceId: 'i1' } });
      const res = await post(url(), body, signed(body));
      assert.equal(res.status, 200);
      assert.equal((res.json as { status: string }).status, 'ignored');
      assert.equal(await workflowsOf(acme.subdomain), before);
    });

    it('starts one workflow for an event, and nothing for its redelivery', async () => {
      const sg = await system.storeganise.client.createUser(acme.subdomain, {
        firstName: 'Re',
        lastName: 'Delivered',
        email: uniqueEmail(),
      });
      await system.settle(acme);
      const body = envelope({ data: { userId: sg.id, changedKeys: ['lastName'] } });
      const first = await post(url(), body, signed(body));
      await system.settle(acme);
      const again = await post(url(), body, signed(body));
      await system.settle(acme);
      assert.deepEqual([first.status, again.status], [200, 200]);
      const id = (first.json as { workflowId: string }).workflowId;
      assert.equal(
        (again.json as { workflowId: string }).workflowId,
        id,
        'the redelivery maps to the same workflow id',
      );
      assert.equal(
        (await system.client.workflow.count(`WorkflowId = '${id}'`)).count,
        1,
        'Temporal ran the event once',
      );
    });
  });

  describe('POST /addon/zendesk/:subdomain', () => {
    const url = (subdomain = acme.subdomain) => `${system.apiUrl}/addon/zendesk/${subdomain}`;
    const event = (overrides: Record<string, unknown> = {}) =>
      JSON.stringify({
        type: 'zen:event-type:user.name_changed',
        account_id: 12514403,
        id: randomUUID(),
        time: new Date().toISOString(),
        zendesk_event_version: '2022-06-20',
        subject: 'zen:user:10000000000999',
        detail: { id: '10000000000999', external_id: '', email: 'x@example.com', role: 'end-user' },
        event: { current: 'New', previous: 'Old' },
        ...overrides,
      });
    const signed = (body: string | Buffer, secret = zendeskSecret, at = new Date()) => {
      const timestamp = zendeskTimestamp(at);
      return {
        'content-type': 'application/json',
        'x-zendesk-webhook-signature-timestamp': timestamp,
        'x-zendesk-webhook-signature': signZendesk(secret, timestamp, body),
      };
    };

    const cases: Array<{
      name: string;
      status: number;
      subdomain?: string;
      request: () => { body: string | Buffer; headers: Record<string, string> };
      path?: string;
    }> = [
      {
        name: 'an unknown account',
        status: 404,
        subdomain: 'nobody',
        request: () => ({ body: event(), headers: signed(event()) }),
      },
      {
        name: 'a missing signature',
        status: 401,
        request: () => ({ body: event(), headers: { 'content-type': 'application/json' } }),
      },
      {
        name: 'a signature made with another secret',
        status: 401,
        request: () => ({ body: event(), headers: signed(event(), 'another-secret') }),
      },
      {
        name: 'a signature timestamp older than 5 minutes',
        status: 401,
        request: () => ({ body: event(), headers: signed(event(), zendeskSecret, new Date(Date.now() - 6 * 60_000)) }),
      },
      { name: 'malformed JSON', status: 400, request: () => ({ body: '[1,', headers: signed('[1,') }) },
      {
        name: 'an envelope without detail.id',
        status: 400,
        path: 'detail.id',
        request: () => {
          const body = event({ detail: { email: 'x@example.com' } });
          return { body, headers: signed(body) };
        },
      },
      {
        name: 'a body over 1 MiB',
        status: 413,
        request: () => {
          const body = event({ padding: 'x'.repeat(1024 * 1024) });
          return { body, headers: signed(body) };
        },
      },
      {
        name: 'a wrong content type',
        status: 415,
        request: () => ({
          body: event(),
          headers: { ...signed(event()), 'content-type': 'application/x-www-form-urlencoded' },
        }),
      },
    ];
    for (const c of cases) {
      it(`answers ${c.status} to ${c.name} and starts nothing`, async () => {
        const before = await workflowsOf(acme.subdomain);
        const { body, headers } = c.request();
        const res = await post(url(c.subdomain), body, headers);
        assert.equal(res.status, c.status, JSON.stringify(res.json));
        if (c.path) assert.equal((res.json as { error?: { path?: string } }).error?.path, c.path);
        assert.equal(await workflowsOf(acme.subdomain), before);
      });
    }

    it('answers 200 and drops an event type the sync does not use', async () => {
      const before = await workflowsOf(acme.subdomain);
      const body = event({ type: 'zen:event-type:user.last_login_changed' });
      const res = await post(url(), body, signed(body));
      assert.equal(res.status, 200);
      assert.equal((res.json as { status: string }).status, 'ignored');
      assert.equal(await workflowsOf(acme.subdomain), before);
    });

    it('accepts both the zen:event-type: and zen:event-type/ spellings', async () => {
      for (const type of ['zen:event-type:user.identity_changed', 'zen:event-type/user.identity_changed']) {
        const body = event({ type });
        const res = await post(url(), body, signed(body));
        assert.equal(res.status, 200);
        assert.equal((res.json as { status: string }).status, 'accepted', type);
      }
      await system.settle(acme);
    });

    it('never answers 500 to garbage', async () => {
      for (const body of ['', 'null', '"text"', '{}', '{"type":1}', '\u0000\u0001']) {
        const res = await post(url(), body, signed(body));
        assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
      }
    });
  });
});
