import assert from 'node:assert/strict';
import { webUiCodecEndpoint } from '../scripts/start';
import { freePort, startDevServer, type DevServer } from '../scripts/dev-server';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { AccountView, startWithAccount } from './support/customers';
import { eventually } from './support/eventually';
import type { TestSystem } from './support/system';

/** `name{labels} value` lines of a Prometheus text answer, summed over the labels that match. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('access to the sync log, the codec and the metrics', function () {
  this.timeout(240_000);
  let system: TestSystem;
  let acme: AccountView;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${system.apiUrl}${path}`, { headers, redirect: 'manual' });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const operator = () => ({ authorization: `Bearer ${system.env.OPERATOR_TOKEN}` });
  const mint = async (path: string) => {
    const res = await fetch(`${system.apiUrl}${path}`, { method: 'POST', headers: operator() });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return { text, url: (JSON.parse(text) as { url: string }).url };
  };
  const grantOf = (url: string): string => new URL(url).searchParams.get('grant') ?? '';

  before(async function () {
    ({ system, acme } = await startWithAccount(this));
  });
  after(async () => system?.close());

  describe('no answer reveals OPERATOR_TOKEN', () => {
    let ui: DevServer | null = null;
    after(async () => ui?.stop());

    it("the Web UI's settings, as npm start configures the embedded UI, publish the codec endpoint and no credential", async () => {
      const uiPort = await freePort();
      ui = await startDevServer({
        cli: await resolveTemporalCli(() => undefined),
        uiPort,
        uiCodecEndpoint: webUiCodecEndpoint(system.apiUrl),
        readyTimeoutSeconds: 120,
      });
      const settings = await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`);
        assert.equal(res.status, 200);
        return res.text();
      });
      assert.ok(settings.includes(`${system.apiUrl}/codec`), settings);
      assert.ok(!settings.includes(String(system.env.OPERATOR_TOKEN)), 'the operator token is not in the settings');
      assert.ok(!settings.includes('/codec/t/'), 'no credential in the codec endpoint');
    });

    it('the codec link, its login, the codec, the status page (both views), its links and /metrics', async () => {
      const token = String(system.env.OPERATOR_TOKEN);
      const codecLink = await mint('/codec/link');
      const statusLink = await mint(`/status/${acme.account.subdomain}/link`);
      const operatorLink = await mint(`/status/${acme.account.subdomain}/operator-link`);
      const login = await get(new URL(codecLink.url).pathname + new URL(codecLink.url).search);
      const statusCookie = (url: string) => ({ cookie: `sgzs_status=${grantOf(url)}` });
      const answers = [
        codecLink.text,
        statusLink.text,
        operatorLink.text,
        login.text,
        JSON.stringify([...login.headers]),
        (await get(`/status/${acme.account.subdomain}`, statusCookie(statusLink.url))).text,
        (await get(`/status/${acme.account.subdomain}`, statusCookie(operatorLink.url))).text,
        (await get(`/status/${acme.account.subdomain}`, operator())).text,
        (await get(`/status/${acme.account.subdomain}/log.ndjson`, statusCookie(statusLink.url))).text,
        (await get('/metrics')).text,
      ];
      for (const answer of answers)
        assert.ok(!answer.includes(token), `an answer holds the operator token: ${answer.slice(0, 200)}`);
      for (const link of [codecLink.url, statusLink.url, operatorLink.url]) assert.ok(!link.includes(token));
    });
  });

  describe('the codec credential and CORS', () => {
    const payloads = {
      payloads: [
        {
          metadata: { encoding: Buffer.from('json/plain').toString('base64') },
          data: Buffer.from('"hello"').toString('base64'),
        },
      ],
    };
    const decode = (headers: Record<string, string>) =>
      fetch(`${system.apiUrl}/codec/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(payloads),
      });

    it('a browser holds a codec-only cookie from the codec link, sent to the codec by the Web UI at TEMPORAL_UI_URL', async () => {
      const { url } = await mint('/codec/link');
      const login = await get(new URL(url).pathname + new URL(url).search);
      assert.equal(login.status, 303);
      assert.equal(login.headers.get('location'), system.env.TEMPORAL_UI_URL);
      const cookie = login.headers.get('set-cookie') ?? '';
      assert.match(cookie, /^sgzs_codec=g1\.[^;]+; Path=\/codec; Max-Age=\d+; HttpOnly; SameSite=Lax/);
      const session = cookie.split(';')[0] ?? '';

      const fromUi = await decode({ cookie: session, origin: String(system.env.TEMPORAL_UI_URL) });
      assert.equal(fromUi.status, 200, await fromUi.clone().text());
      assert.equal(fromUi.headers.get('access-control-allow-origin'), system.env.TEMPORAL_UI_URL);
      assert.equal(fromUi.headers.get('access-control-allow-credentials'), 'true');
      assert.equal((await decode({})).status, 401, 'no credential, no decoding');

      // The codec's grant opens nothing else, and a status grant does not decode.
      assert.equal(
        (await get(`/status/${acme.account.subdomain}`, { cookie: `sgzs_status=${grantOf(url)}` })).status,
        401,
      );
      const status = await mint(`/status/${acme.account.subdomain}/link`);
      assert.equal((await decode({ cookie: `sgzs_codec=${grantOf(status.url)}` })).status, 401);
      assert.equal(
        (await decode({ authorization: `Bearer ${grantOf(url)}` })).status,
        200,
        'a tool may send the codec grant as a bearer token',
      );
    });

    it('a foreign origin gets no CORS grant, neither on the preflight nor on the request', async () => {
      const foreign = 'https://evil.example';
      const preflight = await fetch(`${system.apiUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin: foreign,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
      const { url } = await mint('/codec/link');
      const request = await decode({ origin: foreign, cookie: `sgzs_codec=${grantOf(url)}` });
      assert.equal(request.headers.get('access-control-allow-origin'), null);
      const page = await get(`/status/${acme.account.subdomain}`, { origin: foreign, ...operator() });
      assert.equal(page.headers.get('access-control-allow-origin'), null, 'the status page grants no origin');
    });

    it("an expired, altered or other account's status grant opens nothing", async () => {
      const { url } = await mint(`/status/${acme.account.subdomain}/link`);
      const grant = grantOf(url);
      const altered = grant.replace(/\.(\d+)\./, (_m, s: string) => `.${Number(s) + 3600}.`);
      assert.equal((await get(`/status/${acme.account.subdomain}`, { cookie: `sgzs_status=${altered}` })).status, 401);
      assert.equal((await get(`/status/other-account`, { cookie: `sgzs_status=${grant}` })).status, 401);
      assert.equal((await get(`/status/${acme.account.subdomain}?grant=${altered}`)).status, 401);
      assert.equal((await get(`/status/${acme.account.subdomain}`)).status, 401);
      const readOnly = await fetch(`${system.apiUrl}/status/${acme.account.subdomain}/full-sync`, {
        method: 'POST',
        headers: {
          cookie: `sgzs_status=${grant}`,
          'content-type': 'application/x-www-form-urlencoded',
          origin: system.apiUrl,
        },
        body: 'csrf=x',
        redirect: 'manual',
      });
      assert.equal(readOnly.status, 403, 'a read-only link starts nothing');
    });
  });

  it('/metrics counts every accepted event once, by account, direction and outcome', async () => {
    const { subdomain } = acme.account;
    const scrape = async () => (await get('/metrics')).text;
    const before = await scrape();
    const accepted = (text: string) => metric(text, 'sg_zendesk_sync_webhooks_total', { outcome: 'accepted' });
    const outcomes = (text: string, labels: Record<string, string> = {}) =>
      metric(text, 'sg_zendesk_sync_event_outcomes_total', { account: subdomain, ...labels });

    const first = await acme.createLinkedCustomer({ firstName: 'Kenji' });
    const second = await acme.createLinkedCustomer({ firstName: 'Yui' });
    await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, first.zdId, { name: 'Kenji Mori' });
    await eventually(async () => assert.equal((await acme.sgUser(first.sgId)).lastName, 'Mori'));
    await system.storeganise.client.updateUser(subdomain, second.sgId, { lastName: 'Abe' });
    await eventually(async () => assert.equal((await acme.zdUser(second.zdId)).name, 'Yui Abe'));
    await system.settle(acme.account);

    const after = await eventually(
      async () => {
        const text = await scrape();
        const sent = accepted(text) - accepted(before);
        // Webhooks come from the two sides; the sync's own rechecks, imports and resyncs have other sources.
        const fromWebhooks = (t: string) => outcomes(t, { source: 'storeganise' }) + outcomes(t, { source: 'zendesk' });
        const counted = fromWebhooks(text) - fromWebhooks(before);
        const series = (t: string) =>
          t.split('\n').filter((line) => line.startsWith('sg_zendesk_sync_event_outcomes_total{'));
        assert.equal(
          counted,
          sent,
          `outcomes counted ${counted}, events accepted ${sent}:\n${series(text).join('\n')}\nbefore:\n${series(before).join('\n')}`,
        );
        return text;
      },
      { timeoutMs: 90_000 },
    );
    const diff = (labels: Record<string, string>) => outcomes(after, labels) - outcomes(before, labels);
    assert.equal(
      diff({ source: 'storeganise', outcome: 'synced', direction: 'both-ways' }),
      2,
      'two creations: a Zendesk user created, its id written back to Storeganise',
    );
    assert.equal(
      diff({ source: 'storeganise', outcome: 'synced', direction: 'storeganise-to-zendesk' }),
      1,
      'one Storeganise edit went to Zendesk',
    );
    assert.equal(
      diff({ source: 'zendesk', outcome: 'synced', direction: 'zendesk-to-storeganise' }),
      1,
      'one Zendesk edit went to Storeganise',
    );
    assert.ok(diff({ outcome: 'echo' }) >= 2, 'the echoes of the writes are counted');
    assert.equal(metric(after, 'sg_zendesk_sync_log_read_failures_total'), 0);
  });
});
