import assert from 'node:assert/strict';
import { SyncLog } from '../client/sync-log';
import { launchBrowser, type Browser } from './support/browser';
import { AccountView, startWithAccount, type LinkedCustomer } from './support/customers';
import { eventually } from './support/eventually';
import { operatorCall } from './support/signed-requests';
import type { TestSystem } from './support/system';

/** A signed status link, minted the way the engineer does it: with the operator token, over HTTP. */
async function statusLink(system: TestSystem, subdomain: string, kind: 'link' | 'operator-link'): Promise<string> {
  const res = await fetch(`${system.apiUrl}/status/${subdomain}/${kind}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${system.env.OPERATOR_TOKEN}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const { url } = (await res.json()) as { url: string };
  assert.match(url, new RegExp(`/status/${subdomain}\\?grant=g1\\.`));
  return url;
}

describe('the status page, in headless Chromium', function () {
  this.timeout(240_000);
  let system: TestSystem;
  let acme: AccountView;
  let browser: Browser;
  let customer: LinkedCustomer;

  before(async function () {
    ({ system, acme } = await startWithAccount(this));
    browser = await launchBrowser();
    customer = await acme.createLinkedCustomer({ firstName: 'Mirai', lastName: 'Kato' });
  });
  after(async () => {
    await browser?.close();
    await system?.close();
  });

  it('opens through a signed read-only link, shows an event that just happened with its outcome, the chart, and the customer timeline', async () => {
    const { subdomain } = acme.account;
    // A person edits the name in Zendesk: it reaches Storeganise, and the page shows that run.
    await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, customer.zdId, { name: 'Mirai Ito' });
    await eventually(async () => assert.equal((await acme.sgUser(customer.sgId)).lastName, 'Ito'));
    await system.settle(acme.account);

    const page = await browser.context.newPage();
    await page.goto(await statusLink(system, subdomain, 'link'));
    // The grant became an HttpOnly cookie and left the address.
    assert.equal(new URL(page.url()).pathname, `/status/${subdomain}`);
    assert.equal(new URL(page.url()).search, '');
    const cookies = await browser.context.cookies();
    const grant = cookies.find((c) => c.name === 'sgzs_status');
    assert.ok(grant?.httpOnly, 'the grant is an HttpOnly cookie');
    assert.equal(grant.path, `/status/${subdomain}`);

    await page.locator('h1', { hasText: `Sync status: ${subdomain}` }).waitFor();
    const row = page
      .locator('#events tr', { has: page.locator(`a.customer:has-text("SG ${customer.sgId}")`) })
      .filter({ hasText: 'Zendesk → Storeganise' });
    await row.first().waitFor();
    assert.equal(await row.first().locator('[data-outcome]').getAttribute('data-outcome'), 'synced');
    assert.match(await row.first().innerText(), /user\.name_changed: .*wrote .*lastName.* to Storeganise/s);
    // The pair's creation and its echo are in the log too.
    assert.ok((await page.locator('#events [data-outcome="echo"]').count()) >= 1, 'echoes are listed');
    assert.equal(await page.locator('#full-sync-start').count(), 0, 'a read-only link has no full-sync controls');

    // The chart: inline SVG, bars for this hour's runs.
    assert.ok((await page.locator('svg#chart-24h rect[data-category]').count()) >= 1, 'the 24-hour chart has bars');
    assert.ok(
      (await page.locator('svg#chart-7d rect[data-category="changed"]').count()) >= 1,
      'the 7-day chart has bars',
    );
    assert.match((await page.locator('#success-24h').innerText()).trim(), /^\d+(\.\d)? %$/);

    // The customer's timeline: every event of the customer with its cause.
    await row.first().locator('a.customer').click();
    await page.locator('h1', { hasText: 'Customer timeline' }).waitFor();
    assert.equal(
      new URL(page.url()).pathname,
      `/status/${subdomain}/customers/${encodeURIComponent(`sg:${customer.sgId}`)}`,
    );
    const outcomes = await Promise.all(
      (await page.locator('#timeline [data-outcome]').all()).map((e) => e.getAttribute('data-outcome')),
    );
    assert.ok(outcomes.includes('synced'), `timeline outcomes: ${outcomes.join(', ')}`);
    const reasons = await page.locator('#timeline').innerText();
    assert.match(reasons, /storeganise user\.created: .*wrote .* to Zendesk/s, 'the creation and its cause');
    assert.match(reasons, /zendesk user\.name_changed/);

    // Search by the Zendesk id leads to the same timeline.
    await page.goto(`${system.apiUrl}/status/${subdomain}`);
    await page.fill('input[name=id]', String(customer.zdId));
    await page.click('#search button[type=submit]');
    await page.locator('h1', { hasText: 'Customer timeline' }).waitFor();
    assert.equal(
      new URL(page.url()).pathname,
      `/status/${subdomain}/customers/${encodeURIComponent(`sg:${customer.sgId}`)}`,
    );
    await page.close();
  });

  it('refreshes live: an edit made while the page is open appears without a reload', async () => {
    const { subdomain } = acme.account;
    const page = await browser.context.newPage();
    await page.goto(`${system.apiUrl}/status/${subdomain}`);
    const before = await page.locator('#events tr[data-event]').count();
    await system.storeganise.client.updateUser(subdomain, customer.sgId, { phone: '+81 90 1234 5678' });
    await page
      .locator('#events tr', { hasText: 'user.updated' })
      .filter({ hasText: 'Storeganise → Zendesk' })
      .first()
      .waitFor({ timeout: 60_000 });
    assert.ok((await page.locator('#events tr[data-event]').count()) > before);
    assert.ok(
      typeof (await page.evaluate('document.body.dataset.refreshedAt')) === 'string',
      'the live refresh replaced the list',
    );
    await page.close();
  });

  it('reads on a phone: no sideways scrolling, each event a block', async () => {
    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${system.apiUrl}/status/${acme.account.subdomain}`);
    const overflow = Number(await phone.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    assert.equal(await phone.locator('#events table.log thead').isVisible(), false, 'the table header folds away');
    await phone.close();
  });

  it('works without JavaScript: the events, the chart and the timeline are in the HTML itself', async () => {
    const plain = await launchBrowser({ javaScriptEnabled: false });
    try {
      const page = await plain.context.newPage();
      await page.goto(await statusLink(system, acme.account.subdomain, 'link'));
      assert.ok((await page.locator('#events [data-outcome="synced"]').count()) >= 1);
      assert.ok((await page.locator('svg#chart-24h').count()) === 1);
      await page.locator('#events a.customer').first().click();
      await page.locator('h1', { hasText: 'Customer timeline' }).waitFor();
    } finally {
      await plain.close();
    }
  });

  it('the operator view starts a full sync and shows its progress until it completes', async () => {
    const { subdomain } = acme.account;
    const customers = (await system.storeganise.client.listUsers(subdomain)).length;
    const page = await browser.context.newPage();
    await page.goto(await statusLink(system, subdomain, 'operator-link'));
    await page.locator('#full-sync h2').waitFor();
    await page.click('#full-sync-start');
    await page
      .locator('#full-sync-progress')
      .waitFor()
      .catch(async (err: unknown) => {
        throw new Error(`no progress after starting: ${await page.locator('body').innerText()}`, { cause: err });
      });
    const started = await operatorCall(system, 'GET', `/operator/accounts/${subdomain}/full-sync`);
    assert.equal(started.status, 200, started.text);
    assert.equal(
      (JSON.parse(started.text) as { mode: string }).mode,
      'full',
      'the button started a full sync (not the import)',
    );
    await eventually(
      async () => {
        await page.reload();
        assert.equal(await page.locator('#full-sync-state').innerText(), 'completed');
      },
      { timeoutMs: 90_000 },
    );
    assert.equal(
      Number(await page.locator('#full-sync-done').innerText()),
      customers,
      'every customer of the account was covered',
    );
    assert.equal(await page.locator('#full-sync-progress').getAttribute('value'), String(customers));
    assert.equal(await page.locator('#full-sync-start').count(), 1, 'once it completed, another can be started');
    await page.close();
  });

  it('a Zendesk deletion appears in the log and on the page; Storeganise stays as it was and a later edit creates nothing', async () => {
    const { subdomain } = acme.account;
    const gone = await acme.createLinkedCustomer({ firstName: 'Sora' });
    const before = await acme.sgUser(gone.sgId);
    await system.zendesk.client.deleteUser(acme.account.zendeskSubdomain, gone.zdId);
    await system.settle(acme.account);

    const log = new SyncLog(system.client, system.config.temporal.taskQueue);
    const deleted = await eventually(async () => {
      const { entries } = await log.customerTimeline(subdomain, `sg:${gone.sgId}`);
      const found = entries.find((e) => e.outcome === 'deleted');
      assert.ok(found, `timeline: ${entries.map((e) => e.outcome).join(', ')}`);
      return found;
    });
    assert.equal(deleted.source, 'zendesk');
    assert.equal(deleted.zendeskId, String(gone.zdId));
    assert.match(deleted.reason, /deleted/);
    assert.deepEqual(await acme.sgUser(gone.sgId), before, 'the Storeganise customer is untouched');

    const page = await browser.context.newPage();
    await page.goto(await statusLink(system, subdomain, 'link'));
    const row = page
      .locator('#events tr', { has: page.locator(`a.customer:has-text("SG ${gone.sgId}")`) })
      .filter({ has: page.locator('[data-outcome="deleted"]') });
    await row.first().waitFor();
    assert.match(await row.first().innerText(), /Zendesk user was deleted/);

    const mark = await acme.mark();
    await system.storeganise.client.updateUser(subdomain, gone.sgId, { firstName: 'Edited' });
    await system.settle(acme.account);
    assert.deepEqual(await acme.zendeskWrites(mark), [], 'nothing is created or written in Zendesk');
    await page.goto(`${system.apiUrl}/status/${subdomain}/customers/${encodeURIComponent(`sg:${gone.sgId}`)}`);
    const timeline = await Promise.all(
      (await page.locator('#timeline [data-outcome]').all()).map((e) => e.getAttribute('data-outcome')),
    );
    assert.deepEqual(
      timeline.slice(0, 2),
      ['deleted', 'deleted'],
      `the edit found the deletion again: ${timeline.join(', ')}`,
    );
    await page.close();
  });

  it('exports the log as NDJSON and CSV, per account and per customer, without personal data', async () => {
    const { subdomain } = acme.account;
    const page = await browser.context.newPage();
    await page.goto(await statusLink(system, subdomain, 'link'));
    const cookie = (await browser.context.cookies())
      .filter((c) => c.path === `/status/${subdomain}`)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    await page.close();
    const get = async (path: string) => {
      const res = await fetch(`${system.apiUrl}${path}`, { headers: { cookie } });
      assert.equal(res.status, 200, path);
      return res.text();
    };
    const ndjson = (await get(`/status/${subdomain}/log.ndjson`))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(
      ndjson.some(
        (e) =>
          e.customer === `sg:${customer.sgId}` && e.outcome === 'synced' && e.direction === 'zendesk-to-storeganise',
      ),
    );
    const csv = await get(`/status/${subdomain}/log.csv?customer=sg:${customer.sgId}`);
    assert.match(
      csv.split('\r\n')[0] ?? '',
      /^at,eventId,workflowId,customer,storeganiseId,zendeskId,source,direction,fields,outcome/,
    );
    assert.ok(csv.includes('"echo"'), 'a customer export holds the echoes too');
    for (const text of [JSON.stringify(ndjson), csv]) {
      for (const personal of ['Mirai', 'Kato', 'Ito', '@example.com', '+81'])
        assert.ok(!text.includes(personal), `no "${personal}" in the export`);
    }
  });
});
