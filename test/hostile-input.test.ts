import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import express from 'express';
import { codecRouter } from '../api/codec';
import { errorHandler } from '../api/http-errors';
import { applyServerTimeouts } from '../api/server';
import { parseZendeskTimestamp, verifyStoreganiseSignature, verifyZendeskSignature } from '../api/signatures';
import { createLogger, redactUrl, secretsFromEnv } from '../lib/logger';
import { EncryptionCodec } from '../lib/payload-codec';
import { captureTestLogs, secretsInLogs, type LogCapture } from './support/log-capture';
import { TestSystem, type TestAccount } from './support/system';
import { post, signStoreganise, signZendesk, zendeskTimestamp } from './support/webhooks';

/** What came back on a raw connection: the answer (null when none came), and whether the server closed it. */
interface RawAnswer {
  status: number | null;
  headers: Record<string, string>;
  body: string;
  closed: boolean;
  ms: number;
}

/**
 * Writes `request` byte for byte on a new connection (no client library fixing it up) and waits for
 * one complete answer, the server closing the connection, or `waitMs`.
 */
function rawExchange(port: number, request: string | Buffer, waitMs = 5_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const parse = (closed: boolean): RawAnswer => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end === -1 ? text : text.slice(0, end);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1];
      return {
        status: status === undefined ? null : Number(status),
        headers,
        body: end === -1 ? '' : received.subarray(end + 4).toString('utf8'),
        closed,
        ms: Date.now() - started,
      };
    };
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(closed));
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const answer = parse(false);
      const length = Number(answer.headers['content-length'] ?? NaN);
      if (answer.status !== null && Number.isFinite(length) && Buffer.byteLength(answer.body) >= length) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? finish(true) : reject(err)));
    socket.write(request);
  });
}

/** An HTTP/1.1 request as bytes; header values may hold any byte (latin1). */
function rawRequest(method: string, path: string, headers: Record<string, string>, body: string | Buffer = ''): Buffer {
  const head = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

const errorOf = (json: unknown): { code?: string; message?: string; path?: string } =>
  (json as { error?: { code?: string; message?: string; path?: string } }).error ?? {};

const portOf = (server: http.Server): number => {
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return address.port;
};

async function listening(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return portOf(server);
}

async function closed(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// Zendesk reference vector (c), /work/shared/reference/zendesk-api.md §11.3 (computed with the documented timestamp + body order).
const VECTOR_C = {
  secret: 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==',
  timestamp: '2099-07-04T05:33:18Z',
  body: '{"type":"zen:event-type:user.active_changed","account_id":12514403,"id":"2b24ef10-19d4-4740-93cf-8f98ec4776c0","time":"2099-07-04T05:33:18Z","zendesk_event_version":"2022-06-20","subject":"zen:user:6596848315901","detail":{"created_at":"2099-07-04T05:27:58Z","email":"user@example.com","external_id":"","default_group_id":"0","id":"6596848315901","organization_id":"0","role":"end-user","updated_at":"2099-07-04T05:33:18Z"},"event":{"current":false,"previous":true}}',
  signature: '29ogmKOs6DpkYmy37KE2AFph0BD38KYD++MfFDfz8Qc=',
};

const WEB_UI = 'http://localhost:8233';

describe('hostile input: never a 5xx for client input, never a hang, no secret in a log', function () {
  this.timeout(60_000);
  let system: TestSystem;
  let acme: TestAccount;
  let zendeskSecret: string;
  let logs: LogCapture;
  let token: string;
  let port: number;

  before(async function () {
    this.timeout(180_000);
    // Debug level, so every answered request is logged with its (redacted) path; kept off the console.
    logs = captureTestLogs({ quiet: true });
    system = await TestSystem.start({ LOG_LEVEL: 'debug', TEMPORAL_UI_URL: WEB_UI });
    acme = await system.addAccount();
    const [webhook] = await system.zendesk.client.webhooks(acme.zendeskSubdomain);
    assert.ok(webhook, 'the service registered its Zendesk webhook');
    zendeskSecret = webhook.signingSecret;
    token = system.config.operatorToken ?? assert.fail('the test system has an operator token');
    port = system.config.port;
  });
  after(async () => {
    await system?.close();
    logs?.stop();
  });

  /** Workflows of the account once earlier accepted events have started (and finished) theirs. */
  const workflowsOf = async (subdomain: string): Promise<number> => {
    await system.settle(acme);
    return (await system.client.workflow.count(`SyncAccount = '${subdomain}'`)).count;
  };

  const storeganiseEvent = (overrides: Record<string, unknown> = {}): string =>
    JSON.stringify({
      id: randomUUID(),
      type: 'user.updated',
      data: { userId: '64f0c0ffee0000000000beef', changedKeys: ['firstName'] },
      apiUrl: system.storeganise.urlTemplate.replace('{subdomain}', acme.subdomain),
      addonId: acme.addonId,
      ...overrides,
    });
  const zendeskEvent = (overrides: Record<string, unknown> = {}): string =>
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
  const zendeskHeaders = (body: string | Buffer, timestamp = zendeskTimestamp()): Record<string, string> => ({
    'content-type': 'application/json',
    'x-zendesk-webhook-signature-timestamp': timestamp,
    'x-zendesk-webhook-signature': signZendesk(zendeskSecret, timestamp, body),
  });
  const storeganiseHeaders = (body: string | Buffer): Record<string, string> => ({
    'content-type': 'application/json',
    'sg-signature': signStoreganise(system.config.storeganise.webhookSecret, body),
  });
  const codecBody = async (values: unknown[]): Promise<string> => {
    const encoded = await new EncryptionCodec(system.config.keyring).encode(
      values.map((v) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(v)) })),
    );
    return JSON.stringify({
      payloads: encoded.map((p) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
        ),
        data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
      })),
    });
  };
  const codecPost = async (
    path: string,
    body: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => post(`${system.apiUrl}${path}`, body, headers);

  describe('one error path: bad percent-encoding, encodings, declared lengths, parser errors', () => {
    it('a Zendesk webhook path with bad percent-encoding is answered 400 and starts nothing, while the same event on its real path is accepted', async () => {
      const before = await workflowsOf(acme.subdomain);
      const body = zendeskEvent();
      const bad = await post(`${system.apiUrl}/addon/zendesk/%E0%A4%A`, body, zendeskHeaders(body));
      assert.equal(bad.status, 400, JSON.stringify(bad.json));
      assert.equal(errorOf(bad.json).code, 'bad_request');
      assert.match(errorOf(bad.json).message ?? '', /percent-encoding/);
      assert.equal(await workflowsOf(acme.subdomain), before);

      const good = await post(`${system.apiUrl}/addon/zendesk/${acme.subdomain}`, body, zendeskHeaders(body));
      assert.equal(good.status, 200, JSON.stringify(good.json));
      assert.equal((good.json as { status: string }).status, 'accepted');
      assert.ok((await workflowsOf(acme.subdomain)) > before, 'the accepted event started its workflow');
    });

    it('an operator path with bad percent-encoding is answered 400, while a well-formed one is served', async () => {
      const auth = { authorization: `Bearer ${token}` };
      const bad = await fetch(`${system.apiUrl}/operator/accounts/%zz`, { headers: auth });
      assert.equal(bad.status, 400);
      assert.equal(errorOf(await bad.json()).code, 'bad_request');
      const good = await fetch(`${system.apiUrl}/operator/accounts/${acme.subdomain}`, { headers: auth });
      assert.equal(good.status, 200, await good.text());
    });

    it('a codec path with bad percent-encoding is answered 400 and the token never appears in the log', async () => {
      const capture = captureTestLogs();
      const body = await codecBody(['hello']);
      for (const path of ['/codec/t/%zz/decode', `/codec/t/${token}%zz/decode`, `/codec/t/${token}/decode%E0%A4%A`]) {
        const bad = await codecPost(path, body);
        assert.equal(bad.status, 400, `${path.replace(token, '<token>')}: ${JSON.stringify(bad.json)}`);
        assert.equal(errorOf(bad.json).code, 'bad_request');
      }
      const good = await codecPost(`/codec/t/${token}/decode`, body);
      assert.equal(good.status, 200, JSON.stringify(good.json));
      capture.stop();
      const codecLines = capture.lines().filter((line) => line.includes('/codec/t/'));
      assert.ok(codecLines.length >= 4, `every codec request is logged:\n${codecLines.join('')}`);
      assert.ok(
        codecLines.every((line) => line.includes('/codec/t/[redacted]')),
        'with its token redacted',
      );
      assert.deepEqual(
        capture.lines().filter((line) => line.includes(token)),
        [],
      );
    });

    it('an authorize link with bad percent-encoding in its query is answered 400, while a well-formed one redirects to Zendesk', async () => {
      const bad = await fetch(`${system.apiUrl}/oauth/zendesk/authorize?account=%zz`, { redirect: 'manual' });
      assert.equal(bad.status, 400);
      assert.match(errorOf(await bad.json()).message ?? '', /query string has bad percent-encoding/);
      const good = await fetch(`${system.apiUrl}/oauth/zendesk/authorize?account=${acme.subdomain}`, {
        redirect: 'manual',
      });
      assert.equal(good.status, 302, await good.text());
    });

    it('a compressed webhook body (gzip, deflate, br or an unknown coding) is refused 415 unread and starts nothing, while the same body uncompressed is accepted', async () => {
      const body = storeganiseEvent();
      const codings: Array<[string, Buffer]> = [
        ['gzip', gzipSync(body)],
        ['deflate', deflateSync(body)],
        ['br', brotliCompressSync(body)],
        ['x-garbage', Buffer.from(body)],
        ['gzip, identity', gzipSync(body)],
      ];
      const before = await workflowsOf(acme.subdomain);
      for (const [coding, bytes] of codings) {
        const sg = await post(`${system.apiUrl}/addon/storeganise`, bytes, {
          ...storeganiseHeaders(body),
          'content-encoding': coding,
        });
        assert.equal(sg.status, 415, `${coding}: ${JSON.stringify(sg.json)}`);
        assert.equal(errorOf(sg.json).code, 'unsupported_encoding');
        const zd = await post(`${system.apiUrl}/addon/zendesk/${acme.subdomain}`, bytes, {
          ...zendeskHeaders(body),
          'content-encoding': coding,
        });
        assert.equal(zd.status, 415, `${coding}: ${JSON.stringify(zd.json)}`);
      }
      assert.equal(await workflowsOf(acme.subdomain), before);

      const plain = await post(`${system.apiUrl}/addon/storeganise`, body, {
        ...storeganiseHeaders(body),
        'content-encoding': 'identity',
      });
      assert.equal(plain.status, 200, JSON.stringify(plain.json));
      assert.equal((plain.json as { status: string }).status, 'accepted');
      assert.ok((await workflowsOf(acme.subdomain)) > before, 'the accepted event started its workflow');
    });

    it('a compressed codec body is refused 415, while the same body uncompressed is decoded', async () => {
      const body = await codecBody(['compressed?']);
      for (const coding of ['gzip', 'deflate', 'br', 'compress']) {
        const res = await codecPost(`/codec/t/${token}/decode`, gzipSync(body), {
          'content-type': 'application/json',
          'content-encoding': coding,
        });
        assert.equal(res.status, 415, `${coding}: ${JSON.stringify(res.json)}`);
      }
      const plain = await codecPost(`/codec/t/${token}/decode`, body, {
        'content-type': 'application/json',
        'content-encoding': 'identity',
      });
      assert.equal(plain.status, 200, JSON.stringify(plain.json));
    });

    it('a declared Content-Length over the endpoint limit is answered 413 at once, before any byte of the body is sent', async () => {
      const cases: Array<[string, number]> = [
        ['/addon/storeganise', 1024 * 1024 + 1],
        [`/addon/zendesk/${acme.subdomain}`, 50 * 1024 * 1024],
        [`/codec/t/${token}/decode`, 4 * 1024 * 1024 + 1],
        ['/operator/accounts/acme/recheck-settings', 1024 * 1024],
      ];
      for (const [path, length] of cases) {
        const answer = await rawExchange(
          port,
          rawRequest('POST', path, { 'content-type': 'application/json', 'content-length': String(length) }),
          3_000,
        );
        assert.equal(
          answer.status,
          413,
          `${path.replace(token, '<token>')} declaring ${length} bytes: ${JSON.stringify(answer)}`,
        );
        assert.ok(answer.ms < 2_000, `answered after ${answer.ms} ms`);
        assert.equal(errorOf(JSON.parse(answer.body)).code, 'payload_too_large');
      }
      // The same raw client gets an answer to a complete webhook under the limit.
      const body = storeganiseEvent({ type: 'invoice.state.updated', data: {} });
      const accepted = await rawExchange(
        port,
        rawRequest(
          'POST',
          '/addon/storeganise',
          { ...storeganiseHeaders(body), 'content-length': String(Buffer.byteLength(body)) },
          body,
        ),
      );
      assert.equal(accepted.status, 200, accepted.body);
    });

    it('a request whose body never completes is answered 408 or closed within the server request timeout', async function () {
      this.timeout(20_000);
      // The system's own app behind a server with short timeouts, so the test takes about a second.
      const server = applyServerTimeouts(http.createServer((system.api ?? assert.fail('the API runs')).app), {
        requestMs: 1_000,
        headersMs: 1_000,
        keepAliveMs: 1_000,
      });
      const quickPort = await listening(server);
      try {
        const healthy = await rawExchange(quickPort, rawRequest('GET', '/healthz', {}));
        assert.equal(healthy.status, 200, 'a complete request on the same server is answered');

        const stalled = await rawExchange(
          quickPort,
          rawRequest(
            'POST',
            '/addon/storeganise',
            { 'content-type': 'application/json', 'content-length': '1000000' },
            '{"id":"x",',
          ),
          5_000,
        );
        assert.ok(
          stalled.status === 408 || stalled.status === 400 || (stalled.status === null && stalled.closed),
          JSON.stringify(stalled),
        );
        assert.ok(stalled.closed || stalled.status !== null, 'answered or closed');
        assert.ok(stalled.ms >= 900 && stalled.ms < 3_000, `ended after ${stalled.ms} ms`);
      } finally {
        await closed(server);
      }
    });

    it('headers that never complete (slowloris) are answered 408 or closed within the server headers timeout', async function () {
      this.timeout(20_000);
      const server = applyServerTimeouts(http.createServer((system.api ?? assert.fail('the API runs')).app), {
        requestMs: 2_000,
        headersMs: 1_000,
        keepAliveMs: 1_000,
      });
      const quickPort = await listening(server);
      try {
        const healthy = await rawExchange(quickPort, rawRequest('GET', '/healthz', {}));
        assert.equal(healthy.status, 200, 'a complete request on the same server is answered');
        const slow = await rawExchange(
          quickPort,
          Buffer.from('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a'),
          5_000,
        );
        assert.ok(slow.status === 408 || (slow.status === null && slow.closed), JSON.stringify(slow));
        assert.ok(slow.ms < 3_000, `ended after ${slow.ms} ms`);
      } finally {
        await closed(server);
      }
    });

    it('a codec request with malformed JSON, a foreign charset or a non-JSON content type is answered 400 or 415 saying what is wrong, never 500', async () => {
      const path = `/codec/t/${token}/decode`;
      const cases: Array<{ body: string | Buffer; type: string; status: number; code: string }> = [
        { body: '{"payloads":', type: 'application/json', status: 400, code: 'malformed_json' },
        { body: 'null', type: 'application/json', status: 400, code: 'malformed_json' },
        { body: '"payloads"', type: 'application/json', status: 400, code: 'malformed_json' },
        { body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), type: 'application/json', status: 400, code: 'malformed_json' },
        {
          body: '{"payloads":[]}',
          type: 'application/json; charset=klingon',
          status: 415,
          code: 'unsupported_charset',
        },
        { body: '{"payloads":[]}', type: 'application/json; charset=latin1', status: 415, code: 'unsupported_charset' },
        { body: '{"payloads":[]}', type: 'text/plain', status: 415, code: 'unsupported_media_type' },
        { body: 'payloads=1', type: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' },
      ];
      for (const c of cases) {
        const res = await codecPost(path, c.body, { 'content-type': c.type });
        assert.equal(res.status, c.status, `${c.type} ${String(c.body)}: ${JSON.stringify(res.json)}`);
        assert.equal(errorOf(res.json).code, c.code);
      }
      const good = await codecPost(path, '{"payloads":[]}', { 'content-type': 'application/json; charset=utf-8' });
      assert.deepEqual([good.status, good.json], [200, { payloads: [] }]);
    });

    it('an unexpected error is answered 500 and logged with the redacted path, without the body, the token or the Authorization header', async () => {
      const lines: string[] = [];
      const app = express();
      app.post('/codec/t/:token/explode', express.json(), () => {
        throw new Error('the handler failed');
      });
      app.get('/things/:id', (req, res) => {
        res.json({ id: req.params.id });
      });
      app.use(errorHandler(createLogger('debug', { process: 'api' }, (line) => lines.push(line))));
      const server = http.createServer(app);
      const localPort = await listening(server);
      try {
        const res = await fetch(`http://127.0.0.1:${localPort}/codec/t/${token}/explode?key=${token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ customer: 'BODY-MARKER' }),
        });
        assert.equal(res.status, 500);
        assert.equal(errorOf(await res.json()).code, 'internal');
        assert.equal(lines.length, 1, lines.join(''));
        const [line = ''] = lines;
        assert.match(line, /"unexpected error"/);
        assert.match(line, /the handler failed/);
        assert.ok(line.includes('/codec/t/[redacted]/explode?key=[redacted]'), line);
        for (const leaked of [token, 'BODY-MARKER', 'Bearer'])
          assert.ok(!line.includes(leaked), `the log line holds ${leaked === token ? 'the token' : leaked}`);

        // A route parameter that cannot be decoded is the client's error, even where no guard ran first.
        const undecodable = await fetch(`http://127.0.0.1:${localPort}/things/%zz`);
        assert.equal(undecodable.status, 400);
        assert.equal((await fetch(`http://127.0.0.1:${localPort}/things/ok`)).status, 200);
        assert.equal(lines.length, 1, 'client errors are not logged as unexpected');
      } finally {
        await closed(server);
      }
    });
  });

  describe('codec bodies and CORS', () => {
    it('codec bodies with wrong shapes, non-base64 values or undecodable payloads are answered 400 naming the problem, while a valid one round-trips', async () => {
      const path = `/codec/t/${token}/decode`;
      const encrypted = JSON.parse(await codecBody(['secret value'])) as {
        payloads: Array<{ metadata: Record<string, string>; data: string }>;
      };
      const [payload] = encrypted.payloads;
      assert.ok(payload);
      const tampered = Buffer.from(payload.data, 'base64');
      tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 0xff;
      const cases: Array<{ name: string; body: unknown; code: string; path?: string; message?: RegExp }> = [
        { name: 'a top-level array', body: [], code: 'invalid_body', path: '(body)' },
        { name: 'no payloads', body: {}, code: 'invalid_body', path: 'payloads' },
        { name: 'payloads as an object', body: { payloads: { a: 1 } }, code: 'invalid_body', path: 'payloads' },
        { name: 'a payload that is a number', body: { payloads: [1] }, code: 'invalid_body', path: 'payloads.0' },
        {
          name: 'data that is a number',
          body: { payloads: [{ data: 5 }] },
          code: 'invalid_body',
          path: 'payloads.0.data',
        },
        {
          name: 'data that is not base64',
          body: { payloads: [{ data: '###' }] },
          code: 'invalid_body',
          path: 'payloads.0.data',
          message: /base64/,
        },
        {
          name: 'base64url data',
          body: { payloads: [{ data: 'AAAA-_8=' }] },
          code: 'invalid_body',
          path: 'payloads.0.data',
        },
        {
          name: 'unpadded base64 metadata',
          body: { payloads: [{ metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA' } }] },
          code: 'invalid_body',
          path: 'payloads.0.metadata.encoding',
        },
        {
          name: 'a lone surrogate in data',
          body: { payloads: [{ data: 'AA\ud800A' }] },
          code: 'invalid_body',
          path: 'payloads.0.data',
        },
        {
          name: 'metadata values that are not strings',
          body: { payloads: [{ metadata: { encoding: 5 } }] },
          code: 'invalid_body',
          path: 'payloads.0.metadata.encoding',
        },
        {
          name: 'an encrypted payload under an unknown key',
          body: {
            payloads: [
              {
                ...payload,
                metadata: { ...payload.metadata, 'encryption-key-id': Buffer.from('nokey').toString('base64') },
              },
            ],
          },
          code: 'undecodable_payload',
          message: /unknown encryption key id/,
        },
        {
          name: 'a tampered encrypted payload',
          body: { payloads: [{ ...payload, data: tampered.toString('base64') }] },
          code: 'undecodable_payload',
        },
        {
          name: 'an encrypted payload without data',
          body: { payloads: [{ metadata: payload.metadata }] },
          code: 'undecodable_payload',
        },
      ];
      for (const c of cases) {
        const res = await codecPost(path, JSON.stringify(c.body));
        assert.equal(res.status, 400, `${c.name}: ${JSON.stringify(res.json)}`);
        const error = errorOf(res.json);
        assert.equal(error.code, c.code, c.name);
        if (c.path !== undefined) assert.equal(error.path, c.path, c.name);
        if (c.message !== undefined) assert.match(error.message ?? '', c.message, c.name);
      }
      // Prototype keys are data like any other: never a 5xx.
      const proto = await codecPost(
        path,
        '{"payloads":[{"metadata":{"__proto__":"AAAA","constructor":"AAAA"},"data":""}]}',
      );
      assert.ok(proto.status === 200 || proto.status === 400, JSON.stringify(proto));

      const good = await codecPost(path, JSON.stringify(encrypted));
      assert.equal(good.status, 200, JSON.stringify(good.json));
      const [decoded] = (good.json as { payloads: Array<{ data: string }> }).payloads;
      assert.equal(Buffer.from(decoded?.data ?? '', 'base64').toString(), JSON.stringify('secret value'));
    });

    it('the codec grants CORS, with credentials, only to the configured Web UI origin', async () => {
      const path = `${system.apiUrl}/codec/t/${token}/decode`;
      const preflight = (origin: string) =>
        fetch(path, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type,x-namespace',
          },
        });

      const granted = await preflight(WEB_UI);
      assert.equal(granted.status, 204);
      assert.equal(granted.headers.get('access-control-allow-origin'), WEB_UI);
      assert.equal(granted.headers.get('access-control-allow-credentials'), 'true');
      assert.match(granted.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
      assert.match(granted.headers.get('vary') ?? '', /Origin/i);

      for (const origin of [
        'https://evil.example',
        'null',
        'http://localhost:8234',
        'http://localhost:8233.evil.example',
        `${WEB_UI}/`,
      ]) {
        const refused = await preflight(origin);
        assert.equal(refused.headers.get('access-control-allow-origin'), null, origin);
        assert.equal(refused.headers.get('access-control-allow-credentials'), null, origin);
        const call = await fetch(path, {
          method: 'POST',
          headers: { origin, 'content-type': 'application/json' },
          body: '{"payloads":[]}',
        });
        assert.equal(call.headers.get('access-control-allow-origin'), null, origin);
        assert.match(call.headers.get('vary') ?? '', /Origin/i);
      }
    });

    it('without TEMPORAL_UI_URL the codec grants CORS to no origin', async () => {
      const server = http.createServer(express().use(codecRouter({ ...system.config, temporalUiOrigin: null })));
      const localPort = await listening(server);
      try {
        const res = await fetch(`http://127.0.0.1:${localPort}/codec/t/${token}/decode`, {
          method: 'OPTIONS',
          headers: { origin: WEB_UI, 'access-control-request-method': 'POST' },
        });
        assert.equal(res.status, 204);
        assert.equal(res.headers.get('access-control-allow-origin'), null);
        assert.equal(res.headers.get('access-control-allow-credentials'), null);
        const call = await fetch(`http://127.0.0.1:${localPort}/codec/t/${token}/decode`, {
          method: 'POST',
          headers: { origin: WEB_UI, 'content-type': 'application/json' },
          body: '{"payloads":[]}',
        });
        assert.equal(call.status, 200, 'the codec itself still answers');
        assert.equal(call.headers.get('access-control-allow-origin'), null);
      } finally {
        await closed(server);
      }
    });
  });

  describe('strict signature formats', () => {
    const vectorBody = Buffer.from(VECTOR_C.body);
    const vectorAt = Date.parse(VECTOR_C.timestamp);
    const signedAt = (timestamp: string): string =>
      createHmac('sha256', VECTOR_C.secret).update(timestamp).update(vectorBody).digest('base64');

    it("Zendesk's reference vector (c) verifies, and is stale outside the 5-minute window", () => {
      assert.equal(vectorBody.length, 466);
      assert.equal(
        verifyZendeskSignature(vectorBody, VECTOR_C.signature, VECTOR_C.timestamp, [VECTOR_C.secret], vectorAt),
        'valid',
      );
      assert.equal(
        verifyZendeskSignature(
          vectorBody,
          VECTOR_C.signature,
          VECTOR_C.timestamp,
          ['another-secret', VECTOR_C.secret],
          vectorAt + 4 * 60_000,
        ),
        'valid',
      );
      assert.equal(
        verifyZendeskSignature(
          vectorBody,
          VECTOR_C.signature,
          VECTOR_C.timestamp,
          [VECTOR_C.secret],
          vectorAt + 6 * 60_000,
        ),
        'stale',
      );
      assert.equal(
        verifyZendeskSignature(vectorBody, VECTOR_C.signature, VECTOR_C.timestamp, ['another-secret'], vectorAt),
        'invalid',
      );
      assert.equal(
        verifyZendeskSignature(vectorBody, undefined, VECTOR_C.timestamp, [VECTOR_C.secret], vectorAt),
        'missing',
      );
    });

    it('a Zendesk signature timestamp that is not ISO-8601 UTC is invalid even when the signature over it is right', () => {
      const refused = [
        'Sun, 04 Jul 2099 05:33:18 GMT', // RFC 2822, which Date.parse accepts
        String(Math.floor(vectorAt / 1000)), // epoch seconds
        String(vectorAt), // epoch milliseconds
        '2099-07-04T05:33:18+00:00',
        '2099-07-04T14:33:18+09:00',
        '2099-07-04T05:33:18z',
        '2099-07-04 05:33:18Z',
        '2099-07-04T05:33:18',
        '2099-07-04',
        '+002099-07-04T05:33:18Z',
        '2099-02-30T05:33:18Z',
        '2099-07-04T24:00:00Z',
        '2099-07-04T05:33:18.Z',
        ' 2099-07-04T05:33:18Z',
        '２０９９-07-04T05:33:18Z',
      ];
      for (const timestamp of refused) {
        assert.equal(parseZendeskTimestamp(timestamp), null, timestamp);
        assert.equal(
          verifyZendeskSignature(vectorBody, signedAt(timestamp), timestamp, [VECTOR_C.secret], vectorAt),
          'invalid',
          timestamp,
        );
      }
      for (const timestamp of ['2099-07-04T05:33:18Z', '2099-07-04T05:33:18.250Z', '2099-07-04T05:33:18.123456789Z']) {
        assert.equal(
          verifyZendeskSignature(vectorBody, signedAt(timestamp), timestamp, [VECTOR_C.secret], vectorAt),
          'valid',
          timestamp,
        );
      }
      assert.equal(parseZendeskTimestamp('2099-07-04T05:33:18.250Z'), vectorAt + 250);
    });

    it('a Zendesk signature that is not strict standard base64 of 32 bytes is invalid', () => {
      const bytes = Buffer.from(VECTOR_C.signature, 'base64');
      const refused = [
        bytes.toString('base64url'), // 29ogmKOs6DpkYmy37KE2AFph0BD38KYD--MfFDfz8Qc
        `${bytes.toString('base64url')}=`,
        VECTOR_C.signature.replace(/=$/, ''),
        `${VECTOR_C.signature.slice(0, 20)} ${VECTOR_C.signature.slice(20)}`,
        `${VECTOR_C.signature.slice(0, 20)}\t${VECTOR_C.signature.slice(20)}`,
        `${VECTOR_C.signature}=`,
        `${VECTOR_C.signature}AAAA`,
        bytes.subarray(0, 31).toString('base64'),
        Buffer.concat([bytes, Buffer.from([0])]).toString('base64'),
        bytes.toString('hex'),
        `${VECTOR_C.signature.slice(0, 42)}R=`, // same bytes, non-canonical last character
      ];
      for (const signature of refused) {
        assert.equal(
          verifyZendeskSignature(vectorBody, signature, VECTOR_C.timestamp, [VECTOR_C.secret], vectorAt),
          'invalid',
          signature,
        );
      }
      assert.equal(
        verifyZendeskSignature(vectorBody, VECTOR_C.signature, VECTOR_C.timestamp, [VECTOR_C.secret], vectorAt),
        'valid',
      );
    });

    it('the ingress refuses 401 a rightly signed Zendesk event with an RFC 2822 timestamp or a base64url signature, and accepts it signed as Zendesk does', async () => {
      const before = await workflowsOf(acme.subdomain);
      // A body whose signature has a + or /, so its base64url spelling differs.
      let body = zendeskEvent();
      let headers = zendeskHeaders(body);
      while (!/[+/]/.test(headers['x-zendesk-webhook-signature'] ?? '')) {
        body = zendeskEvent();
        headers = zendeskHeaders(body);
      }
      const rfc2822 = new Date().toUTCString();
      const url = `${system.apiUrl}/addon/zendesk/${acme.subdomain}`;
      const asRfc2822 = await post(url, body, zendeskHeaders(body, rfc2822));
      assert.equal(asRfc2822.status, 401, JSON.stringify(asRfc2822.json));
      const signature = Buffer.from(headers['x-zendesk-webhook-signature'] ?? '', 'base64');
      const asBase64url = await post(url, body, {
        ...headers,
        'x-zendesk-webhook-signature': signature.toString('base64url'),
      });
      assert.equal(asBase64url.status, 401, JSON.stringify(asBase64url.json));
      assert.equal(await workflowsOf(acme.subdomain), before);

      const genuine = await post(url, body, headers);
      assert.equal(genuine.status, 200, JSON.stringify(genuine.json));
      assert.equal((genuine.json as { status: string }).status, 'accepted');
      assert.ok((await workflowsOf(acme.subdomain)) > before, 'the accepted event started its workflow');
    });

    it('a Storeganise sg-signature that is not strict standard base64 of 32 bytes is refused 401, and the exact one is accepted', async () => {
      let body = storeganiseEvent();
      while (!/[+/]/.test(signStoreganise(system.config.storeganise.webhookSecret, body))) body = storeganiseEvent();
      const signature = signStoreganise(system.config.storeganise.webhookSecret, body);
      const bytes = Buffer.from(signature, 'base64');
      assert.equal(
        verifyStoreganiseSignature(Buffer.from(body), signature, system.config.storeganise.webhookSecret),
        true,
      );
      const before = await workflowsOf(acme.subdomain);
      for (const spelling of [
        bytes.toString('base64url'),
        signature.replace(/=$/, ''),
        `${signature.slice(0, 10)} ${signature.slice(10)}`,
        `${signature}=`,
        bytes.toString('hex'),
      ]) {
        assert.equal(
          verifyStoreganiseSignature(Buffer.from(body), spelling, system.config.storeganise.webhookSecret),
          false,
          spelling,
        );
        const res = await post(`${system.apiUrl}/addon/storeganise`, body, {
          'content-type': 'application/json',
          'sg-signature': spelling,
        });
        assert.equal(res.status, 401, `${spelling}: ${JSON.stringify(res.json)}`);
      }
      assert.equal(await workflowsOf(acme.subdomain), before);
      const genuine = await post(`${system.apiUrl}/addon/storeganise`, body, {
        'content-type': 'application/json',
        'sg-signature': signature,
      });
      assert.equal(genuine.status, 200, JSON.stringify(genuine.json));
      assert.equal((genuine.json as { status: string }).status, 'accepted');
      assert.ok((await workflowsOf(acme.subdomain)) > before, 'the accepted event started its workflow');
    });
  });

  describe('operator authentication', () => {
    it('a malformed Authorization header on an operator endpoint is answered 401, never 500, while the exact bearer token is served', async () => {
      const path = `/operator/accounts/${acme.subdomain}`;
      const malformed = [
        '',
        'Bearer',
        'Bearer ',
        `Bearer  ${token}`,
        `Bearer ${token} extra`,
        `Bearer=${token}`,
        `Bearer${token}`,
        `Basic ${Buffer.from(`operator:${token}`).toString('base64')}`,
        `Token ${token}`,
        `Bearer ${token}\u00e9`,
        `Bearer ${token.slice(0, -1)}`,
        `Bearer ${'a'.repeat(8_000)}`,
        `Bearer ${token},Bearer ${token}`,
      ];
      for (const header of malformed) {
        const answer = await rawExchange(port, rawRequest('GET', path, { authorization: header, connection: 'close' }));
        assert.equal(
          answer.status,
          401,
          `${JSON.stringify(header.replaceAll(token, '<token>').slice(0, 60))}: ${answer.body}`,
        );
        assert.equal(errorOf(JSON.parse(answer.body)).code, 'unauthorized');
      }
      for (const header of [`Bearer ${token}`, `bearer ${token}`]) {
        const answer = await rawExchange(port, rawRequest('GET', path, { authorization: header, connection: 'close' }));
        assert.equal(answer.status, 200, answer.body);
      }
    });
  });

  describe('secrets out of logs', () => {
    it('redactUrl hides the codec token, query values and user info of a logged path or URL', () => {
      const cases: Array<[string, string]> = [
        ['/codec/t/operator-abc123/decode', '/codec/t/[redacted]/decode'],
        ['/CODEC/T/operator-abc123/DECODE', '/codec/t/[redacted]/DECODE'],
        ['/codec/t/operator-abc123', '/codec/t/[redacted]'],
        [
          '/oauth/zendesk/callback?code=c0de&state=sealed.v1.x',
          '/oauth/zendesk/callback?code=[redacted]&state=[redacted]',
        ],
        ['/oauth/zendesk/authorize?account=acme#fragment', '/oauth/zendesk/authorize?account=[redacted]'],
        ['/x?operator-abc123', '/x?[redacted]'],
        ['https://user:pa55@example.com/api?key=1', 'https://[redacted]@example.com/api?key=[redacted]'],
        ['/addon/zendesk/acme', '/addon/zendesk/acme'],
      ];
      for (const [url, redacted] of cases) assert.equal(redactUrl(url), redacted, url);
    });

    it('the logger replaces every configured secret with [redacted], also when JSON-escaped or percent-encoded', () => {
      const env = {
        OPERATOR_TOKEN: 'operator-token-0123456789',
        ZENDESK_CLIENT_SECRET: 'client "secret" \\ 01',
        SG_WEBHOOK_SECRET: 'webhook/secret+0123',
        SG_ADDON_API_KEY: 'addon-key-0123456789',
        ENCRYPTION_KEY: `${randomBytes(32).toString('base64')}, ${randomBytes(32).toString('base64')}`,
      };
      const secrets = secretsFromEnv(env);
      assert.equal(secrets.length, 6, 'every key of ENCRYPTION_KEY is a secret');
      const lines: string[] = [];
      const logger = createLogger('debug', { process: 'api' }, (line) => lines.push(line), [...secrets, 'short']).child(
        { account: 'acme' },
      );
      logger.info(`token ${env.OPERATOR_TOKEN} in the message`, {
        nested: { clientSecret: env.ZENDESK_CLIENT_SECRET, url: `/x?s=${encodeURIComponent(env.SG_WEBHOOK_SECRET)}` },
        keys: env.ENCRYPTION_KEY.split(',').map((k) => k.trim()),
        error: new Error(`failed with ${env.SG_ADDON_API_KEY}`),
        authorization: 'Basic dXNlcjpwYXNz',
        note: 'a short word stays',
      });
      const [line = ''] = lines;
      for (const secret of secrets) {
        assert.ok(!line.includes(secret), 'a secret is left in the line');
        assert.ok(!line.includes(encodeURIComponent(secret)), 'a percent-encoded secret is left in the line');
      }
      assert.ok(!line.includes('dXNlcjpwYXNz'), 'an authorization field is redacted');
      assert.ok(line.includes('a short word stays') && line.includes('"account":"acme"'), 'everything else is kept');
      assert.equal(line.match(/\[redacted\]/g)?.length, 7);
      assert.doesNotThrow(() => JSON.parse(line), 'the line is still JSON');
    });

    it('after hostile requests carrying the operator token, no configured secret appears in any log line of this system', async () => {
      const body = await codecBody(['logged?']);
      const requests: Array<[string, RequestInit, number]> = [
        [`/codec/t/${token}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, 200],
        [`/CODEC/T/${token}/DECODE`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, 200],
        [
          `/codec/t/${token}/decode?token=${token}&${token}`,
          { method: 'POST', headers: { 'content-type': 'application/json' }, body },
          200,
        ],
        [
          `/codec/t/${token}/decode`,
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads":' },
          400,
        ],
        [
          `/codec/t/${token}/decode`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
            body: gzipSync(body),
          },
          415,
        ],
        [`/codec/t/${token}x/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, 401],
        [`/codec/t/${token}/unknown`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, 404],
        [
          `/codec/decode`,
          { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body },
          200,
        ],
        [`/operator/accounts/${acme.subdomain}`, { headers: { authorization: `Bearer ${token}` } }, 200],
        [`/oauth/zendesk/callback?code=${token}&state=${token}`, {}, 400],
      ];
      for (const [path, init, status] of requests) {
        const res = await fetch(`${system.apiUrl}${path}`, { ...init, redirect: 'manual' });
        const text = await res.text();
        assert.equal(res.status, status, `${path.replaceAll(token, '<token>')}: ${text.replaceAll(token, '<token>')}`);
        assert.ok(!text.includes(token), `the answer to ${path.replaceAll(token, '<token>')} echoes the token`);
      }
      const lines = logs.lines();
      assert.ok(
        lines.some((l) => l.includes('"path":"/codec/t/[redacted]/decode?token=[redacted]&[redacted]"')),
        'the codec requests were logged, redacted',
      );
      assert.ok(
        lines.some((l) => l.includes('"path":"/oauth/zendesk/callback?code=[redacted]&state=[redacted]"')),
        'the callback was logged, redacted',
      );
      assert.deepEqual(secretsInLogs(lines), []);
    });
  });
});
