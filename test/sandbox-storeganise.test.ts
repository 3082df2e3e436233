import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import {
  startStoreganiseSandbox,
  StoreganiseSandboxError,
  type SandboxSgAccount,
  type StoreganiseSandbox,
} from '../sandbox/storeganise/index';
import {
  SandboxAddonSchema,
  SandboxCustomFieldSchema,
  SandboxJobSchema,
  SandboxSgUserSchema,
  SandboxSgWebhookBodySchema,
  SandboxUnitRentalSchema,
  type SandboxSgWebhookBody,
} from '../sandbox/storeganise/records';

const WEBHOOK_SECRET = 'sg-signing-secret-for-tests';
const ADDON_KEY = 'addon-api-key-acme';
const ADMIN_KEY = 'admin-api-key-acme';

/** What an add-on must do with `sg-signature`: HMAC the raw bytes, compare in constant time. */
function verifySgSignature(secret: string, rawBody: Buffer, signature: string | undefined): boolean {
  if (signature === undefined) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface ReceivedWebhook {
  receivedAtMs: number;
  raw: Buffer;
  signature: string | undefined;
  contentType: string | undefined;
  body: SandboxSgWebhookBody;
}

/** A stand-in for the add-on's webhook endpoint that keeps every request byte for byte. */
class WebhookReceiver {
  received: ReceivedWebhook[] = [];
  /** Answer the next N deliveries with `failStatus` instead of 200. */
  failNext = 0;
  failStatus = 500;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      this.received.push({
        receivedAtMs: Date.now(),
        raw,
        signature: req.headers['sg-signature'] as string | undefined,
        contentType: req.headers['content-type'],
        body: SandboxSgWebhookBodySchema.parse(JSON.parse(raw.toString('utf8'))),
      });
      if (this.failNext > 0) {
        this.failNext--;
        res.writeHead(this.failStatus).end('failing on purpose');
        return;
      }
      res.writeHead(200).end('ok');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/addon/storeganise`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.received = [];
    this.failNext = 0;
    this.failStatus = 500;
  }

  ofType(type: string): SandboxSgWebhookBody[] {
    return this.received.map((r) => r.body).filter((body) => body.type === type);
  }
}

const ErrorBodySchema = z.object({ error: z.object({ message: z.string().min(1) }) });

describe('sandbox Storeganise admin API', function () {
  let sandbox: StoreganiseSandbox;
  const receiver = new WebhookReceiver();
  let webhookUrl: string;
  let acme: SandboxSgAccount;

  const addonAuth = (account: SandboxSgAccount = acme): string => `Addon ${account.addonId}|${account.addonApiKey}`;

  async function api(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string; auth?: string | null; subdomain?: string } = {},
  ): Promise<{ status: number; body: unknown; headers: Headers }> {
    const headers: Record<string, string> = {};
    const auth = options.auth === undefined ? addonAuth() : options.auth;
    if (auth !== null) headers['authorization'] = auth;
    let payload: string | null = null;
    if (options.rawBody !== undefined) payload = options.rawBody;
    else if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== null) headers['content-type'] = 'application/json';
    const res = await fetch(`${sandbox.url}/${options.subdomain ?? 'acme'}/api/v1/admin${path}`, {
      method,
      headers,
      body: payload,
    });
    const text = await res.text();
    // Injected faults answer in plain text, as a proxy in front of the real API would.
    const isJson = res.headers.get('content-type')?.includes('json') ?? false;
    return { status: res.status, body: isJson ? JSON.parse(text) : text, headers: res.headers };
  }

  const errorMessage = (body: unknown): string => ErrorBodySchema.parse(body).error.message;

  async function defineUserFields(): Promise<void> {
    for (const [code, type] of [
      ['zendesk_userId', 'string'],
      ['zendesk_otherEmails', 'array'],
      ['zendesk_otherPhones', 'array'],
    ] as const) {
      const res = await api('POST', '/custom-fields', {
        body: { model: 'user', code, type, title: code, ownerAcl: 'read' },
      });
      assert.equal(res.status, 201);
    }
  }

  const createUser = (email: string, firstName = 'Taro', lastName = 'Yamada') =>
    sandbox.client.createUser('acme', { email, firstName, lastName, phone: '+81 90 1234 5678' });

  /** Webhooks travel concurrently, so tests that care about sequence restore the order of emission. */
  async function receivedInEmissionOrder(subdomain = 'acme'): Promise<SandboxSgWebhookBody[]> {
    const order = (await sandbox.client.events(subdomain)).map((event) => event.id);
    return receiver.received.map((r) => r.body).sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  before(async function () {
    webhookUrl = await receiver.start();
    sandbox = await startStoreganiseSandbox({ webhookRetryDelaysMs: [20, 40, 80] });
  });

  after(async function () {
    await sandbox.close();
    await receiver.close();
  });

  beforeEach(async function () {
    await sandbox.client.reset();
    acme = await sandbox.client.createAccount({
      subdomain: 'acme',
      addonApiKey: ADDON_KEY,
      adminApiKey: ADMIN_KEY,
      webhookUrl,
      webhookSecret: WEBHOOK_SECRET,
      settings: { zendesk_instance: 'acme', zendesk_defaultCountryCode: '+81' },
    });
    receiver.reset();
  });

  describe('authentication', function () {
    it('accepts the add-on key and the admin API key, and answers 401 with an error message to anything else', async function () {
      assert.equal((await api('GET', '/users', { auth: addonAuth() })).status, 200);
      assert.equal((await api('GET', '/users', { auth: `ApiKey ${ADMIN_KEY}` })).status, 200);

      const other = await sandbox.client.createAccount({
        subdomain: 'other',
        addonApiKey: 'other-key',
        webhookSecret: 's',
      });
      const refused = [
        null,
        '',
        `Addon ${acme.addonId}|wrong-key`,
        `Addon ${other.addonId}|${ADDON_KEY}`,
        `Addon ${acme.addonId}`,
        `ApiKey ${ADDON_KEY}`,
        `Bearer ${ADMIN_KEY}`,
        addonAuth(other),
      ];
      for (const auth of refused) {
        const res = await api('GET', '/users', { auth });
        assert.equal(res.status, 401, `expected 401 for ${String(auth)}`);
        assert.match(errorMessage(res.body), /\w/);
      }
    });

    it('answers 404 for a business that does not exist', async function () {
      const res = await api('GET', '/users', { subdomain: 'nobody' });
      assert.equal(res.status, 404);
      assert.match(errorMessage(res.body), /nobody/);
    });

    it('keeps businesses apart: one business cannot see or reach the users of another', async function () {
      const other = await sandbox.client.createAccount({
        subdomain: 'other',
        addonApiKey: 'other-key',
        webhookSecret: 's',
      });
      const user = await createUser('taro@example.com');
      const fromOther = await api('GET', `/users/${user.id}`, { subdomain: 'other', auth: addonAuth(other) });
      assert.equal(fromOther.status, 404);
      const list = await api('GET', '/users', { subdomain: 'other', auth: addonAuth(other) });
      assert.deepEqual(list.body, []);
    });
  });

  describe('users', function () {
    it('returns custom fields only when include=customFields is asked for', async function () {
      await defineUserFields();
      const user = await sandbox.client.createUser('acme', {
        email: 'taro@example.com',
        firstName: 'Taro',
        lastName: 'Yamada',
        customFields: { zendesk_userId: '901' },
      });
      const plain = SandboxSgUserSchema.parse((await api('GET', `/users/${user.id}`)).body);
      assert.equal(plain.customFields, undefined);
      const withFields = SandboxSgUserSchema.parse((await api('GET', `/users/${user.id}?include=customFields`)).body);
      assert.deepEqual(withFields.customFields, { zendesk_userId: '901' });

      const listed = z.array(SandboxSgUserSchema).parse((await api('GET', '/users')).body);
      assert.equal(listed[0]?.customFields, undefined);
      const listedWith = z.array(SandboxSgUserSchema).parse((await api('GET', '/users?include=customFields')).body);
      assert.deepEqual(listedWith[0]?.customFields, { zendesk_userId: '901' });
    });

    it('describes a user with a derived name, no disabled flag until disabled, and 404 for an unknown id', async function () {
      const user = await createUser('taro@example.com');
      const body = SandboxSgUserSchema.parse((await api('GET', `/users/${user.id}`)).body);
      assert.match(body.id, /^[0-9a-f]{24}$/);
      assert.equal(body.name, 'Taro Yamada');
      assert.equal(body.phone, '+81 90 1234 5678');
      assert.equal('disabled' in body, false);

      await api('PUT', `/users/${user.id}`, { body: { disabled: true } });
      const disabled = SandboxSgUserSchema.parse((await api('GET', `/users/${user.id}`)).body);
      assert.equal(disabled.disabled, true);
      await api('PUT', `/users/${user.id}`, { body: { disabled: false } });
      const enabled = SandboxSgUserSchema.parse((await api('GET', `/users/${user.id}`)).body);
      assert.equal('disabled' in enabled, false);

      const missing = await api('GET', '/users/0123456789abcdef01234567');
      assert.equal(missing.status, 404);
      assert.match(errorMessage(missing.body), /not found/i);
    });

    it('merges custom fields: a given key is set, null clears it, and keys not given are kept', async function () {
      await defineUserFields();
      const user = await createUser('taro@example.com');
      await api('PUT', `/users/${user.id}`, {
        body: { customFields: { zendesk_userId: '901', zendesk_otherEmails: ['t@work.example'] } },
      });
      await api('PUT', `/users/${user.id}`, { body: { customFields: { zendesk_otherPhones: ['+81312345678'] } } });
      const merged = await sandbox.client.getUser('acme', user.id);
      assert.deepEqual(merged.customFields, {
        zendesk_userId: '901',
        zendesk_otherEmails: ['t@work.example'],
        zendesk_otherPhones: ['+81312345678'],
      });

      await api('PUT', `/users/${user.id}`, { body: { customFields: { zendesk_otherEmails: null } } });
      const cleared = await sandbox.client.getUser('acme', user.id);
      assert.deepEqual(cleared.customFields, { zendesk_userId: '901', zendesk_otherPhones: ['+81312345678'] });
    });

    it('rejects unknown custom field codes and values of the wrong type with 400, changing nothing', async function () {
      await defineUserFields();
      const user = await createUser('taro@example.com');
      const cases = [
        { zendesk_userId: '901', zendesk_unknown: 'x' },
        { zendesk_userId: ['901'] },
        { zendesk_otherEmails: 'not-a-list' },
        { zendesk_otherEmails: [1, 2] },
      ];
      for (const customFields of cases) {
        const res = await api('PUT', `/users/${user.id}`, { body: { customFields } });
        assert.equal(res.status, 400, JSON.stringify(customFields));
        assert.match(errorMessage(res.body), /\w/);
      }
      const unchanged = await sandbox.client.getUser('acme', user.id);
      assert.deepEqual(unchanged.customFields, {});
      // A rental field is not a user field.
      await api('POST', '/custom-fields', {
        body: { model: 'unitRental', code: 'gate_code', type: 'string', title: 'Gate' },
      });
      const wrongModel = await api('PUT', `/users/${user.id}`, { body: { customFields: { gate_code: '1234' } } });
      assert.equal(wrongModel.status, 400);
    });

    it('answers 400 with a message for malformed JSON and schema violations', async function () {
      const user = await createUser('taro@example.com');
      const malformed = await api('PUT', `/users/${user.id}`, { rawBody: '{"firstName": ' });
      assert.equal(malformed.status, 400);
      assert.match(errorMessage(malformed.body), /JSON/);
      for (const body of [{ email: 'not-an-email' }, { firstName: '   ' }, { disabled: 'yes' }, { nickname: 'T' }]) {
        const res = await api('PUT', `/users/${user.id}`, { body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match(errorMessage(res.body), /Invalid body/);
      }
      const missing = await api('POST', '/users', { body: { firstName: 'No', lastName: 'Email' } });
      assert.equal(missing.status, 400);
      assert.match(errorMessage(missing.body), /email/);
    });

    it('answers 409 when an email is already used by another user, whatever its case', async function () {
      const taro = await createUser('taro@example.com');
      const hanako = await createUser('hanako@example.com', 'Hanako');
      const create = await api('POST', '/users', {
        body: { email: 'TARO@example.com', firstName: 'T', lastName: 'Y' },
      });
      assert.equal(create.status, 409);
      assert.match(errorMessage(create.body), /taro@example\.com/i);
      const update = await api('PUT', `/users/${hanako.id}`, { body: { email: 'Taro@Example.com' } });
      assert.equal(update.status, 409);
      // Changing the case of one's own address is not a conflict.
      const own = await api('PUT', `/users/${taro.id}`, { body: { email: 'Taro@example.com' } });
      assert.equal(own.status, 200);
    });

    it('creates users with 201 through the admin API', async function () {
      const res = await api('POST', '/users', {
        body: { email: 'new@example.com', firstName: 'New', lastName: 'Customer', phone: '0312345678' },
      });
      assert.equal(res.status, 201);
      const user = SandboxSgUserSchema.parse(res.body);
      assert.equal(user.name, 'New Customer');
      assert.deepEqual(
        (await sandbox.client.listUsers('acme')).map((u) => u.email),
        ['new@example.com'],
      );
    });

    it('searches email, names and phone case-insensitively, leaving exact email matching to the caller', async function () {
      await createUser('taro@example.com', 'Taro', 'Yamada');
      await createUser('taro.yamada@example.com', 'Taro', 'Yamada');
      await sandbox.client.createUser('acme', {
        email: 'ken@other.example',
        firstName: 'Ken',
        lastName: 'Sato',
        phone: '+1 555 0100',
      });

      const search = async (term: string) =>
        z
          .array(SandboxSgUserSchema)
          .parse((await api('GET', `/users?search=${encodeURIComponent(term)}`)).body)
          .map((u) => u.email)
          .sort();

      assert.deepEqual(await search('taro@example.com'), ['taro@example.com']);
      assert.deepEqual(await search('TARO'), ['taro.yamada@example.com', 'taro@example.com']);
      assert.deepEqual(await search('example.com'), ['taro.yamada@example.com', 'taro@example.com']);
      assert.deepEqual(await search('ken sato'), ['ken@other.example']);
      assert.deepEqual(await search('555 0100'), ['ken@other.example']);
      assert.deepEqual(await search('nobody'), []);
      // A substring search can return more than the address asked for.
      const candidates = await search('aro@example.com');
      assert.deepEqual(
        candidates.filter((email) => email.toLowerCase() === 'taro@example.com'),
        ['taro@example.com'],
      );
    });

    it('finds a user by email in place of the id', async function () {
      const user = await createUser('taro@example.com');
      const res = await api('GET', `/users/${encodeURIComponent('TARO@example.com')}`);
      assert.equal(res.status, 200);
      assert.equal(SandboxSgUserSchema.parse(res.body).id, user.id);
    });

    it('lists users changed strictly after updatedAfter, paginated with limit and offset', async function () {
      const users = [];
      for (let i = 0; i < 5; i++) users.push(await createUser(`user${i}@example.com`, `User${i}`));
      await sleep(5);
      const since = new Date().toISOString();
      await sleep(5);
      const [first, , third] = users;
      assert.ok(first && third);
      await api('PUT', `/users/${third.id}`, { body: { firstName: 'Changed' } });
      await api('PUT', `/users/${first.id}`, { body: { lastName: 'Changed' } });

      const changed = z.array(SandboxSgUserSchema).parse((await api('GET', `/users?updatedAfter=${since}`)).body);
      assert.deepEqual(changed.map((u) => u.id).sort(), [first.id, third.id].sort());
      const exact = changed.find((u) => u.id === third.id);
      assert.ok(exact);
      const strictlyAfter = z
        .array(SandboxSgUserSchema)
        .parse((await api('GET', `/users?updatedAfter=${exact.updated}`)).body);
      assert.equal(
        strictlyAfter.some((u) => u.id === third.id),
        false,
      );

      const pageOf = async (query: string) =>
        z
          .array(SandboxSgUserSchema)
          .parse((await api('GET', `/users?${query}`)).body)
          .map((u) => u.email);
      assert.deepEqual(await pageOf('limit=2'), ['user0@example.com', 'user1@example.com']);
      assert.deepEqual(await pageOf('limit=2&offset=2'), ['user2@example.com', 'user3@example.com']);
      assert.deepEqual(await pageOf('limit=2&offset=4'), ['user4@example.com']);
      assert.equal((await pageOf('')).length, 5);

      for (const bad of ['limit=0', 'limit=1001', 'offset=-1', 'limit=ten', 'updatedAfter=yesterday']) {
        const res = await api('GET', `/users?${bad}`);
        assert.equal(res.status, 400, bad);
        assert.match(errorMessage(res.body), /Invalid query/);
      }
    });
  });

  describe('unit rentals, jobs, custom fields and add-on', function () {
    it('lists unit rentals by owner and by state, and reads one by id', async function () {
      const taro = await createUser('taro@example.com');
      const ken = await createUser('ken@example.com', 'Ken', 'Sato');
      const { unitRental: taroRental } = await sandbox.client.moveIn('acme', { userId: taro.id });
      const { unitRental: kenRental } = await sandbox.client.moveIn('acme', { userId: ken.id });
      await sandbox.client.moveOut('acme', { unitRentalId: kenRental.id });
      const { unitRental: reserved } = await sandbox.client.reserveUnit('acme', { userId: ken.id });

      const list = async (query: string) =>
        z.array(SandboxUnitRentalSchema).parse((await api('GET', `/unit-rentals?${query}`)).body);
      assert.deepEqual(
        (await list(`ownerId=${taro.id}`)).map((r) => [r.id, r.state]),
        [[taroRental.id, 'occupied']],
      );
      assert.deepEqual(
        (await list(`ownerId=${ken.id}`)).map((r) => [r.id, r.state]),
        [
          [kenRental.id, 'ended'],
          [reserved.id, 'reserved'],
        ],
      );
      assert.deepEqual(
        (await list('state=occupied')).map((r) => r.id),
        [taroRental.id],
      );
      assert.deepEqual(
        (await list(`state=ended&ownerId=${ken.id}`)).map((r) => r.id),
        [kenRental.id],
      );
      assert.equal((await list('limit=1&offset=1')).length, 1);

      const one = SandboxUnitRentalSchema.parse((await api('GET', `/unit-rentals/${kenRental.id}`)).body);
      assert.equal(one.ownerId, ken.id);
      assert.match(one.endDate ?? '', /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(one.customFields, undefined);
      const included = SandboxUnitRentalSchema.parse(
        (await api('GET', `/unit-rentals/${kenRental.id}?include=customFields,unit,owner`)).body,
      );
      assert.deepEqual(included.customFields, {});
      assert.equal(included.owner?.id, ken.id);
      assert.equal(included.unit?.id, kenRental.unitId);
      assert.equal((await api('GET', '/unit-rentals/0123456789abcdef01234567')).status, 404);
    });

    it('creates admin tasks with POST jobs and lists them by type and state', async function () {
      const taro = await createUser('taro@example.com');
      await sandbox.client.moveIn('acme', { userId: taro.id });
      const task = {
        type: 'task',
        ownerId: null,
        data: { targetType: 'addon', targetId: acme.addonId, title: 'zendesk: Invalid settings', desc: 'Bad format' },
      };
      const created = await api('POST', '/jobs', { body: task });
      assert.equal(created.status, 201);
      const job = SandboxJobSchema.parse(created.body);
      assert.equal(job.type, 'task');
      assert.equal(job.state, 'ready');
      assert.equal(job.ownerId, null);
      assert.deepEqual(job.data, task.data);

      const fetched = SandboxJobSchema.parse((await api('GET', `/jobs/${job.id}`)).body);
      assert.deepEqual(fetched, job);
      const tasks = z.array(SandboxJobSchema).parse((await api('GET', '/jobs?type=task&state=ready')).body);
      assert.deepEqual(
        tasks.map((t) => t.id),
        [job.id],
      );
      const all = await sandbox.client.listJobs('acme');
      assert.deepEqual(all.map((j) => j.type).sort(), ['task', 'unit_moveIn']);

      await sandbox.client.updateJob('acme', job.id, { state: 'completed' });
      assert.deepEqual((await api('GET', '/jobs?type=task&state=ready')).body, []);

      for (const body of [
        { ...task, data: { ...task.data, targetType: 'planet' } },
        { ...task, type: 'unit_moveIn' },
        { ...task, data: { targetType: 'user', targetId: taro.id } },
      ]) {
        const res = await api('POST', '/jobs', { body });
        assert.equal(res.status, 400, JSON.stringify(body));
      }
    });

    it('lists custom field definitions by model, creates new ones and refuses a duplicate code with 409', async function () {
      assert.deepEqual((await api('GET', '/custom-fields?model=user')).body, []);
      await defineUserFields();
      const created = await api('POST', '/custom-fields', {
        body: { model: 'unitRental', code: 'zendesk_note', type: 'string', title: { en: 'Note' }, ownerAcl: 'read' },
      });
      assert.equal(created.status, 201);
      assert.equal(SandboxCustomFieldSchema.parse(created.body).model, 'unitRental');

      const userFields = z.array(SandboxCustomFieldSchema).parse((await api('GET', '/custom-fields?model=user')).body);
      assert.deepEqual(
        userFields.map((f) => [f.code, f.type, f.ownerAcl]),
        [
          ['zendesk_userId', 'string', 'read'],
          ['zendesk_otherEmails', 'array', 'read'],
          ['zendesk_otherPhones', 'array', 'read'],
        ],
      );
      const duplicate = await api('POST', '/custom-fields', {
        body: { model: 'user', code: 'zendesk_userId', type: 'string', title: 'Again', ownerAcl: 'read' },
      });
      assert.equal(duplicate.status, 409);
      // The same code on another model is a different field.
      const otherModel = await api('POST', '/custom-fields', {
        body: { model: 'unitRental', code: 'zendesk_userId', type: 'string', title: 'Rental', ownerAcl: 'read' },
      });
      assert.equal(otherModel.status, 201);
      const badType = await api('POST', '/custom-fields', {
        body: { model: 'user', code: 'x', type: 'json', title: 'X' },
      });
      assert.equal(badType.status, 400);
      assert.equal((await sandbox.client.listCustomFields('acme', { model: 'user' })).length, 3);
    });

    it("reads the operator's add-on settings and answers 404 for another add-on id", async function () {
      const res = await api('GET', `/addons/${acme.addonId}`);
      assert.equal(res.status, 200);
      const addon = SandboxAddonSchema.parse(res.body);
      assert.equal(addon.state, 'enabled');
      assert.deepEqual(addon.customFields, { zendesk_instance: 'acme', zendesk_defaultCountryCode: '+81' });

      await sandbox.client.updateAccount('acme', {
        settings: { zendesk_instance: 'acme2', zendesk_nameFormat: 'last_first' },
      });
      const updated = SandboxAddonSchema.parse((await api('GET', `/addons/${acme.addonId}`)).body);
      assert.deepEqual(updated.customFields, { zendesk_instance: 'acme2', zendesk_nameFormat: 'last_first' });
      assert.equal((await api('GET', '/addons/0123456789abcdef01234567')).status, 404);
      await sandbox.idle();
      assert.deepEqual(receiver.received, [], 'replacing settings sends no webhook');
    });
  });

  describe('add-on webhooks', function () {
    it('signs each webhook with base64 HMAC-SHA256 of the raw body, and one altered byte fails verification', async function () {
      const user = await createUser('taro@example.com');
      await sandbox.idle();
      assert.equal(receiver.received.length, 1);
      const [hook] = receiver.received;
      assert.ok(hook);
      assert.equal(hook.contentType, 'application/json');
      assert.equal(verifySgSignature(WEBHOOK_SECRET, hook.raw, hook.signature), true);
      assert.equal(verifySgSignature('another-secret', hook.raw, hook.signature), false);
      const altered = Buffer.from(hook.raw);
      altered[altered.length - 2] = (altered[altered.length - 2] ?? 0) ^ 1;
      assert.equal(verifySgSignature(WEBHOOK_SECRET, altered, hook.signature), false);

      assert.deepEqual(Object.keys(JSON.parse(hook.raw.toString('utf8')) as object), [
        'id',
        'created',
        'type',
        'data',
        'apiUrl',
        'addonId',
      ]);
      assert.equal(hook.body.type, 'user.created');
      assert.deepEqual(hook.body.data, { userId: user.id });
      assert.equal(hook.body.addonId, acme.addonId);
      assert.equal(hook.body.apiUrl, `${sandbox.url}/acme/api`);
      assert.equal(hook.body.apiUrl, sandbox.urlTemplate.replace('{subdomain}', 'acme'));
    });

    it('sends user.created and user.updated with exactly the changed keys for changes made in the admin UI', async function () {
      await defineUserFields();
      const user = await createUser('taro@example.com');
      await sandbox.client.updateUser('acme', user.id, { firstName: 'Tarou', lastName: 'Yamada' });
      await sandbox.client.updateUser('acme', user.id, { customFields: { zendesk_userId: '901' } });
      await sandbox.client.updateUser('acme', user.id, { email: 'tarou@example.com', phone: null });
      await sandbox.client.updateUser('acme', user.id, { disabled: true });
      await sandbox.client.updateUser('acme', user.id, { firstName: 'Tarou', disabled: true });
      await sandbox.client.updateUser('acme', user.id, { disabled: false });
      await sandbox.idle();

      const hooks = await receivedInEmissionOrder();
      assert.deepEqual(
        hooks.map((h) => [h.type, h.data]),
        [
          ['user.created', { userId: user.id }],
          ['user.updated', { userId: user.id, changedKeys: ['firstName'] }],
          ['user.updated', { userId: user.id, changedKeys: ['customFields.zendesk_userId'] }],
          ['user.updated', { userId: user.id, changedKeys: ['email', 'phone'] }],
          ['user.updated', { userId: user.id, changedKeys: ['disabled'] }],
          ['user.updated', { userId: user.id, changedKeys: ['disabled'] }],
        ],
      );
      assert.equal(new Set(hooks.map((h) => h.id)).size, hooks.length, 'every event has its own id');
      assert.ok(receiver.received.every((r) => verifySgSignature(WEBHOOK_SECRET, r.raw, r.signature)));
      assert.equal((await sandbox.client.events('acme')).length, hooks.length);
    });

    it('sends webhooks for changes made through the admin API too', async function () {
      await defineUserFields();
      await api('POST', '/custom-fields', {
        body: { model: 'unitRental', code: 'gate_code', type: 'string', title: 'Gate' },
      });
      const created = SandboxSgUserSchema.parse(
        (await api('POST', '/users', { body: { email: 'api@example.com', firstName: 'Api', lastName: 'User' } })).body,
      );
      await api('PUT', `/users/${created.id}`, {
        body: { phone: '+15550100', customFields: { zendesk_otherEmails: ['x@y.z'] } },
      });
      await api('PUT', `/users/${created.id}`, { body: { phone: '+15550100' } });
      const { unitRental } = await sandbox.client.moveIn('acme', { userId: created.id });
      await sandbox.idle();
      receiver.reset();
      const put = await api('PUT', `/unit-rentals/${unitRental.id}`, { body: { customFields: { gate_code: '4321' } } });
      assert.equal(put.status, 200);
      assert.deepEqual(SandboxUnitRentalSchema.parse(put.body).customFields, { gate_code: '4321' });
      await sandbox.idle();

      assert.deepEqual(
        (await sandbox.client.events('acme')).map((e) => [e.type, e.data]),
        [
          ['user.created', { userId: created.id }],
          ['user.updated', { userId: created.id, changedKeys: ['phone', 'customFields.zendesk_otherEmails'] }],
          ['job.unit_moveIn.completed', { jobId: unitRental.moveInJobId, unitRentalId: unitRental.id }],
          ['unitRental.updated', { unitRentalId: unitRental.id, changedKeys: ['customFields.gate_code'] }],
        ],
      );
      assert.deepEqual(
        receiver.received.map((r) => r.body.type),
        ['unitRental.updated'],
      );
    });

    it('sends move-in, move-out and transfer completions with their job and rental ids, and the records follow', async function () {
      const user = await createUser('taro@example.com');
      await sandbox.idle();
      receiver.reset();

      const movedIn = await sandbox.client.moveIn('acme', { userId: user.id });
      const transferred = await sandbox.client.transfer('acme', { unitRentalId: movedIn.unitRental.id });
      const movedOut = await sandbox.client.moveOut('acme', { unitRentalId: transferred.newRental.id });
      await sandbox.idle();

      assert.deepEqual(
        (await receivedInEmissionOrder()).map((body) => [body.type, body.data]),
        [
          ['job.unit_moveIn.completed', { jobId: movedIn.job.id, unitRentalId: movedIn.unitRental.id }],
          [
            'job.unit_transfer.completed',
            { jobId: transferred.job.id, oldRentalId: movedIn.unitRental.id, newRentalId: transferred.newRental.id },
          ],
          ['job.unit_moveOut.completed', { jobId: movedOut.job.id, unitRentalId: transferred.newRental.id }],
        ],
      );
      assert.ok(receiver.received.every((r) => verifySgSignature(WEBHOOK_SECRET, r.raw, r.signature)));

      const moveInJob = SandboxJobSchema.parse((await api('GET', `/jobs/${movedIn.job.id}`)).body);
      assert.equal(moveInJob.type, 'unit_moveIn');
      assert.equal(moveInJob.state, 'completed');
      assert.equal(moveInJob.ownerId, user.id);
      assert.equal(moveInJob.data['unitRentalId'], movedIn.unitRental.id);
      assert.equal(moveInJob.result?.['unitRentalId'], movedIn.unitRental.id);
      const transferJob = SandboxJobSchema.parse((await api('GET', `/jobs/${transferred.job.id}`)).body);
      assert.equal(transferJob.type, 'unit_transfer');
      assert.equal(transferJob.data['oldRentalId'], movedIn.unitRental.id);
      assert.equal(transferJob.data['newRentalId'], transferred.newRental.id);
      const moveOutJob = SandboxJobSchema.parse((await api('GET', `/jobs/${movedOut.job.id}`)).body);
      assert.equal(moveOutJob.type, 'unit_moveOut');
      assert.equal(moveOutJob.data['unitRentalId'], transferred.newRental.id);

      const rentals = await sandbox.client.listUnitRentals('acme', { ownerId: user.id });
      assert.deepEqual(
        rentals.map((r) => [r.id, r.state]),
        [
          [movedIn.unitRental.id, 'ended'],
          [transferred.newRental.id, 'ended'],
        ],
      );
      assert.ok(rentals.every((r) => r.endDate !== undefined));

      const refused = sandbox.client.moveOut('acme', { unitRentalId: movedIn.unitRental.id });
      await assert.rejects(refused, (err: unknown) => err instanceof StoreganiseSandboxError && err.status === 409);
    });

    it('a reservation opens a move-in job that the move-in completes, occupying the reserved rental', async function () {
      const user = await createUser('taro@example.com');
      const booked = await sandbox.client.reserveUnit('acme', { userId: user.id });
      assert.equal(booked.unitRental.state, 'reserved');
      assert.equal(booked.job.state, 'ready');
      const movedIn = await sandbox.client.moveIn('acme', { userId: user.id, unitRentalId: booked.unitRental.id });
      assert.equal(movedIn.unitRental.id, booked.unitRental.id);
      assert.equal(movedIn.unitRental.state, 'occupied');
      assert.equal(movedIn.job.id, booked.job.id);
      assert.equal(movedIn.job.state, 'completed');
      await sandbox.idle();
      assert.deepEqual(
        (await receivedInEmissionOrder()).map((body) => [body.type, body.data]),
        [
          ['user.created', { userId: user.id }],
          ['job.unit_moveIn.created', { jobId: booked.job.id }],
          ['job.unit_moveIn.completed', { jobId: booked.job.id, unitRentalId: booked.unitRental.id }],
        ],
      );
      const active = SandboxSgUserSchema.parse((await api('GET', `/users/${user.id}`)).body);
      assert.equal(active.isActive, true);
    });

    it('sends unitRental.updated with the changed keys when a rental is edited in the admin UI, and nothing for a no-op', async function () {
      await api('POST', '/custom-fields', {
        body: { model: 'unitRental', code: 'gate_code', type: 'string', title: 'Gate' },
      });
      const user = await createUser('taro@example.com');
      const { unitRental } = await sandbox.client.moveIn('acme', { userId: user.id });
      await sandbox.idle();
      receiver.reset();

      await sandbox.client.updateUnitRental('acme', unitRental.id, { customFields: { gate_code: '1111' } });
      await sandbox.client.updateUnitRental('acme', unitRental.id, { customFields: { gate_code: '1111' } });
      const ended = await sandbox.client.updateUnitRental('acme', unitRental.id, {
        state: 'ended',
        customFields: { gate_code: null },
      });
      await sandbox.idle();

      assert.equal(ended.state, 'ended');
      assert.deepEqual(ended.customFields, {});
      assert.deepEqual(
        (await receivedInEmissionOrder()).map((body) => [body.type, body.data]),
        [
          ['unitRental.updated', { unitRentalId: unitRental.id, changedKeys: ['customFields.gate_code'] }],
          [
            'unitRental.updated',
            { unitRentalId: unitRental.id, changedKeys: ['state', 'endDate', 'customFields.gate_code'] },
          ],
        ],
      );
    });

    it('sends addon.installed when the control API installs the add-on with emitInstalled', async function () {
      const installed = await sandbox.client.createAccount({
        subdomain: 'fresh',
        addonApiKey: 'fresh-key',
        webhookUrl,
        webhookSecret: 'fresh-secret',
        emitInstalled: true,
      });
      await sandbox.idle();
      assert.equal(receiver.received.length, 1);
      const [hook] = receiver.received;
      assert.ok(hook);
      assert.equal(hook.body.type, 'addon.installed');
      assert.deepEqual(hook.body.data, { addonId: installed.addonId });
      assert.equal(hook.body.apiUrl, `${sandbox.url}/fresh/api`);
      assert.equal(verifySgSignature('fresh-secret', hook.raw, hook.signature), true);
    });

    it('sends nothing to a paused or disabled add-on, yet records the events; only a disabled one loses API access', async function () {
      await sandbox.client.updateAccount('acme', { addonState: 'paused' });
      await createUser('taro@example.com');
      await sandbox.idle();
      assert.deepEqual(receiver.received, []);
      const events = await sandbox.client.events('acme');
      assert.deepEqual(
        events.map((e) => [e.type, e.sent]),
        [['user.created', false]],
      );
      assert.equal((await api('GET', '/users')).status, 200, 'a paused add-on keeps API access');
      await sandbox.client.updateAccount('acme', { addonState: 'disabled' });
      assert.equal((await api('GET', '/users')).status, 403, 'a disabled add-on loses API access');
      assert.equal((await api('GET', '/users', { auth: `ApiKey ${ADMIN_KEY}` })).status, 200);
    });

    it("stamps every webhook with the time of its change in created, equal to the user's updated for user events", async function () {
      const created = await createUser('taro@example.com');
      const renamed = await sandbox.client.updateUser('acme', created.id, { firstName: 'Jiro' });
      const put = await api('PUT', `/users/${created.id}`, { body: { lastName: 'Sato' } });
      const renamedAgain = SandboxSgUserSchema.parse(put.body);
      const movedIn = await sandbox.client.moveIn('acme', { userId: created.id });
      await sandbox.idle();

      const hooks = await receivedInEmissionOrder();
      assert.deepEqual(
        hooks.map((h) => [h.type, h.created]),
        [
          ['user.created', created.updated],
          ['user.updated', renamed.updated],
          ['user.updated', renamedAgain.updated],
          ['job.unit_moveIn.completed', movedIn.job.updated],
        ],
      );
      assert.equal(created.updated, created.created);
      for (const hook of hooks) assert.match(hook.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.deepEqual(
        (await sandbox.client.events('acme')).map((e) => e.at),
        hooks.map((h) => h.created),
      );
    });

    it("moves a user's updated forward by at least 1 ms per change, so each updated names one change", async function () {
      const user = await createUser('taro@example.com');
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, i) => api('PUT', `/users/${user.id}`, { body: { firstName: `Name${i}` } })),
      );
      assert.ok(answers.every((a) => a.status === 200));
      await sandbox.idle();
      const updates = (await receivedInEmissionOrder()).filter((h) => h.type === 'user.updated').map((h) => h.created);
      assert.equal(updates.length, 25);
      const times = [user.updated, ...updates].map((iso) => Date.parse(iso));
      for (let i = 1; i < times.length; i++)
        assert.ok((times[i] ?? 0) > (times[i - 1] ?? 0), `change ${i} is later than change ${i - 1}`);
      assert.equal((await sandbox.client.getUser('acme', user.id)).updated, updates.at(-1));
    });

    it('never sends a dropped webhook, marks its event as dropped, and still becomes idle', async function () {
      await sandbox.client.setFaults('acme', { webhooks: { dropRate: 1 } });
      const user = await createUser('taro@example.com');
      await sandbox.client.updateUser('acme', user.id, { firstName: 'Jiro' });
      await sandbox.idle();
      assert.equal(receiver.received.length, 0);
      assert.deepEqual(await sandbox.client.deliveries('acme'), []);

      await sandbox.client.setFaults('acme', {});
      await sandbox.client.updateUser('acme', user.id, { firstName: 'Saburo' });
      await sandbox.idle();
      assert.deepEqual(
        (await sandbox.client.events('acme')).map((e) => [e.type, e.sent, e.dropped]),
        [
          ['user.created', false, true],
          ['user.updated', false, true],
          ['user.updated', true, false],
        ],
      );
      assert.deepEqual(
        receiver.received.map((r) => r.body.data),
        [{ userId: user.id, changedKeys: ['firstName'] }],
        'the same webhook goes out once the drop fault is off',
      );
    });

    it('holds every delivery attempt for the random delay, retries included, and keeps the retry rule', async function () {
      await sandbox.client.setFaults('acme', { webhooks: { delayMs: { min: 250, max: 300 } } });
      receiver.failNext = 1;
      const changedAt = Date.now();
      await createUser('taro@example.com');
      await sandbox.idle();
      const [first, second] = receiver.received;
      assert.ok(first && second);
      assert.ok(first.receivedAtMs - changedAt >= 250, `first attempt after ${first.receivedAtMs - changedAt} ms`);
      // The retry waits its 20 ms and then the delay again.
      assert.ok(
        second.receivedAtMs - first.receivedAtMs >= 270,
        `retry after ${second.receivedAtMs - first.receivedAtMs} ms`,
      );
      assert.deepEqual(
        (await sandbox.client.deliveries('acme')).map((d) => [d.attempts, d.status]),
        [
          [1, 500],
          [2, 200],
        ],
      );
    });

    it('holds deliveries while paused, is not idle meanwhile, and sends them in their order once unpaused', async function () {
      await sandbox.client.setFaults('acme', { webhooks: { paused: true, duplicate: 1 } });
      const users = [];
      for (let i = 0; i < 4; i++) users.push(await createUser(`user${i}@example.com`));
      const idle = sandbox.idle().then(() => 'idle' as const);
      const early = await Promise.race([idle, sleep(300).then(() => 'waiting' as const)]);
      assert.equal(early, 'waiting');
      assert.equal(receiver.received.length, 0);

      await sandbox.client.setFaults('acme', { webhooks: { paused: false, duplicate: 1 } });
      assert.equal(await idle, 'idle');
      assert.deepEqual(
        receiver.received.map((r) => r.body.data['userId']),
        users.flatMap((u) => [u.id, u.id]),
        'both copies of each event, in the order the events happened',
      );
    });

    it('delivers each event several times under the duplicate fault, with the same id and body', async function () {
      await sandbox.client.setFaults('acme', { webhooks: { duplicate: 2 } });
      await createUser('taro@example.com');
      await sandbox.idle();
      assert.equal(receiver.received.length, 3);
      const ids = new Set(receiver.received.map((r) => r.body.id));
      assert.equal(ids.size, 1);
      const bodies = new Set(receiver.received.map((r) => r.raw.toString('utf8')));
      assert.equal(bodies.size, 1);
    });

    it('delivers events out of their order under the reorder fault', async function () {
      await sandbox.client.setFaults('acme', { webhooks: { reorderWindowMs: 100 } });
      const created = [];
      for (let i = 0; i < 6; i++) created.push(await createUser(`user${i}@example.com`));
      await sandbox.idle();
      const arrived = receiver.received.map((r) => r.body.data['userId']);
      assert.deepEqual([...arrived].sort(), created.map((u) => u.id).sort());
      assert.notDeepEqual(
        arrived,
        created.map((u) => u.id),
      );
    });

    it('retries a delivery answered with a 5xx and records the attempts, but does not retry a 4xx', async function () {
      receiver.failNext = 2;
      await createUser('taro@example.com');
      await sandbox.idle();
      assert.equal(receiver.received.length, 3);
      assert.equal(new Set(receiver.received.map((r) => r.body.id)).size, 1);
      const attempts = await sandbox.client.deliveries('acme');
      assert.deepEqual(
        attempts.map((d) => [d.attempts, d.status]),
        [
          [1, 500],
          [2, 500],
          [3, 200],
        ],
      );

      receiver.reset();
      receiver.failNext = 1;
      receiver.failStatus = 400;
      await createUser('hanako@example.com');
      await sandbox.idle();
      assert.equal(receiver.received.length, 1);
      const last = (await sandbox.client.deliveries('acme')).at(-1);
      assert.equal(last?.status, 400);
      assert.equal(last?.attempts, 1);
    });
    it('retries a delivery that cannot reach the add-on three times, then gives up', async function () {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      await sandbox.client.updateAccount('acme', { webhookUrl: `http://127.0.0.1:${port}/gone` });
      await createUser('taro@example.com');
      await sandbox.idle();
      const attempts = await sandbox.client.deliveries('acme');
      assert.deepEqual(
        attempts.map((d) => [d.attempts, d.status]),
        [
          [1, null],
          [2, null],
          [3, null],
          [4, null],
        ],
      );
      assert.ok(attempts.every((d) => d.error !== null));
    });
  });

  describe('field change log', function () {
    it('logs each user field change with its value, its time and whether the admin API or the admin UI made it', async function () {
      await defineUserFields();
      const user = await sandbox.client.createUser('acme', {
        email: 'taro@example.com',
        firstName: 'Taro',
        lastName: 'Yamada',
        phone: '+81 90 1234 5678',
        customFields: { zendesk_userId: '901' },
      });
      const put = await api('PUT', `/users/${user.id}`, {
        body: {
          firstName: 'Jiro',
          phone: null,
          customFields: { zendesk_otherEmails: ['jiro@example.com'], zendesk_userId: null },
        },
      });
      const updated = SandboxSgUserSchema.parse(put.body);
      const disabled = await sandbox.client.updateUser('acme', user.id, { disabled: true, language: 'ja' });

      const changes = await sandbox.client.changes('acme', { userId: user.id });
      assert.deepEqual(
        changes.map((c) => [c.via, c.field, c.value]),
        [
          ['control', 'email', 'taro@example.com'],
          ['control', 'firstName', 'Taro'],
          ['control', 'lastName', 'Yamada'],
          ['control', 'phone', '+81 90 1234 5678'],
          ['control', 'disabled', false],
          ['control', 'customFields.zendesk_userId', '901'],
          ['api', 'firstName', 'Jiro'],
          ['api', 'phone', null],
          ['api', 'customFields.zendesk_otherEmails', ['jiro@example.com']],
          ['api', 'customFields.zendesk_userId', null],
          ['control', 'disabled', true],
        ],
      );
      assert.deepEqual(
        changes.map((c) => c.atMs),
        [
          ...Array<number>(6).fill(Date.parse(user.updated)),
          ...Array<number>(4).fill(Date.parse(updated.updated)),
          Date.parse(disabled.updated),
        ],
      );
      assert.ok(
        changes.every((c) => c.at === new Date(c.atMs).toISOString() && c.account === 'acme' && c.userId === user.id),
      );
      assert.deepEqual(
        changes.map((c) => c.seq),
        changes.map((_, i) => i + 1),
      );
    });

    it('logs nothing for a write that changes nothing, and filters by user and sequence number', async function () {
      const taro = await createUser('taro@example.com');
      const hanako = await createUser('hanako@example.com', 'Hanako');
      const before = await sandbox.client.changes('acme');
      const lastSeq = before.at(-1)?.seq ?? 0;

      await api('PUT', `/users/${taro.id}`, { body: { firstName: 'Taro', email: 'taro@example.com' } });
      assert.deepEqual(await sandbox.client.changes('acme', { sinceSeq: lastSeq }), []);

      await api('PUT', `/users/${taro.id}`, { body: { firstName: 'Taro', lastName: 'Sato' } });
      const after = await sandbox.client.changes('acme', { sinceSeq: lastSeq });
      assert.deepEqual(
        after.map((c) => [c.userId, c.field, c.value, c.via]),
        [[taro.id, 'lastName', 'Sato', 'api']],
        'a real change right after the no-op is logged',
      );
      assert.ok((await sandbox.client.changes('acme', { userId: hanako.id })).every((c) => c.userId === hanako.id));
      assert.equal((await sandbox.client.changes('acme', { userId: hanako.id })).length, 5);
    });
  });

  describe('faults and request log', function () {
    it('injects 5xx errors, forced answers with Retry-After and latency for one business only', async function () {
      const other = await sandbox.client.createAccount({
        subdomain: 'other',
        addonApiKey: 'other-key',
        webhookSecret: 's',
      });

      await sandbox.client.setFaults('acme', { errorRate: 1, errorStatus: 502 });
      assert.equal((await api('GET', '/users')).status, 502);
      assert.equal((await api('GET', '/users', { subdomain: 'other', auth: addonAuth(other) })).status, 200);

      await sandbox.client.setFaults('acme', { force: { status: 429, count: 2, retryAfterSeconds: 7 } });
      const first = await fetch(`${sandbox.url}/acme/api/v1/admin/users`, { headers: { authorization: addonAuth() } });
      assert.equal(first.status, 429);
      assert.equal(first.headers.get('retry-after'), '7');
      await first.text();
      assert.equal((await api('GET', '/users')).status, 429);
      assert.equal((await api('GET', '/users')).status, 200);

      await sandbox.client.setFaults('acme', { latencyMs: 150 });
      const started = Date.now();
      assert.equal((await api('GET', '/users')).status, 200);
      assert.ok(Date.now() - started >= 140, 'the answer was delayed');
      assert.equal((await sandbox.client.getFaults('acme')).latencyMs, 150);

      await sandbox.client.setFaults('acme', {});
      assert.equal((await api('GET', '/users')).status, 200);
    });

    it('applies a write whose answer it loses: the client sees a network error, yet the user, webhook, change log and request log all show the write', async function () {
      const user = await createUser('taro@example.com');
      await sandbox.idle();
      receiver.reset();
      const since = (await sandbox.client.requests()).at(-1)?.seq ?? 0;
      await sandbox.client.setFaults('acme', { loseNextResponses: 1 });

      await assert.rejects(api('PUT', `/users/${user.id}`, { body: { firstName: 'Jiro' } }), TypeError);
      assert.equal((await sandbox.client.getUser('acme', user.id)).firstName, 'Jiro');
      await sandbox.idle();
      assert.deepEqual(
        receiver.received.map((r) => r.body.data),
        [{ userId: user.id, changedKeys: ['firstName'] }],
      );
      assert.deepEqual(
        (await sandbox.client.changes('acme', { userId: user.id })).slice(-1).map((c) => [c.field, c.value, c.via]),
        [['firstName', 'Jiro', 'api']],
      );

      const answered = await api('PUT', `/users/${user.id}`, { body: { firstName: 'Saburo' } });
      assert.equal(answered.status, 200, 'only the next write loses its answer');
      const logged = await sandbox.client.requests({ sinceSeq: since, method: 'PUT' });
      assert.deepEqual(
        logged.map((r) => [r.status, r.lost, r.body]),
        [
          [200, true, { firstName: 'Jiro' }],
          [200, false, { firstName: 'Saburo' }],
        ],
      );
    });

    it('never loses the answer of a read, even at a lost-response rate of 1', async function () {
      await sandbox.client.setFaults('acme', { lostResponseRate: 1 });
      const user = await createUser('taro@example.com');
      const read = await api('GET', `/users/${user.id}`);
      assert.equal(read.status, 200);
      assert.equal(SandboxSgUserSchema.parse(read.body).id, user.id);
      await assert.rejects(
        api('POST', '/users', { body: { email: 'lost@example.com', firstName: 'L', lastName: 'R' } }),
        TypeError,
      );
      assert.equal(
        (await sandbox.client.listUsers('acme')).length,
        2,
        'the write whose answer was lost created its user',
      );
    });

    it('logs when each answer was sent and the JSON body of each write, up to 64 KiB', async function () {
      await defineUserFields();
      const user = await createUser('taro@example.com');
      const since = (await sandbox.client.requests()).at(-1)?.seq ?? 0;
      await sandbox.client.setFaults('acme', { latencyMs: 120 });
      await api('PUT', `/users/${user.id}`, { body: { firstName: 'Jiro', customFields: { zendesk_userId: '901' } } });
      await api('GET', `/users/${user.id}`);
      const huge = await api('PUT', `/users/${user.id}`, {
        body: { customFields: { zendesk_userId: 'x'.repeat(70_000) } },
      });
      assert.equal(huge.status, 200);
      await api('POST', '/users', { rawBody: '{"email": ' });

      const logged = await sandbox.client.requests({ sinceSeq: since });
      assert.deepEqual(
        logged.map((r) => [r.method, r.status, r.body]),
        [
          ['PUT', 200, { firstName: 'Jiro', customFields: { zendesk_userId: '901' } }],
          ['GET', 200, undefined],
          ['PUT', 200, null],
          ['POST', 400, null],
        ],
      );
      assert.ok(!('body' in (logged[1] ?? {})), 'a read has no body entry');
      for (const r of logged) {
        assert.equal(r.finishedAtMs - r.atMs, r.durationMs);
        assert.ok(r.durationMs >= 115, `answered ${r.durationMs} ms after arrival, latency included`);
        assert.equal(r.lost, false);
      }
    });

    it('records the business, method, path and status of every admin API request', async function () {
      const since = (await sandbox.client.requests()).at(-1)?.seq ?? 0;
      const user = await createUser('taro@example.com');
      await api('GET', `/users/${user.id}?include=customFields`);
      await api('PUT', `/users/${user.id}`, { body: { firstName: 'Jiro' } });
      await api('GET', '/users', { auth: 'ApiKey wrong' });
      await api('GET', '/users', { subdomain: 'nobody' });

      const logged = await sandbox.client.requests({ sinceSeq: since });
      assert.deepEqual(
        logged.map((r) => [r.account, r.method, r.path, r.status]),
        [
          ['acme', 'GET', `/acme/api/v1/admin/users/${user.id}`, 200],
          ['acme', 'PUT', `/acme/api/v1/admin/users/${user.id}`, 200],
          ['acme', 'GET', '/acme/api/v1/admin/users', 401],
          ['nobody', 'GET', '/nobody/api/v1/admin/users', 404],
        ],
      );
      assert.equal(logged[0]?.query, 'include=customFields');
      const puts = await sandbox.client.requests({ account: 'acme', method: 'put', path: '/users/' });
      assert.equal(puts.length, 1);
    });
  });

  describe('control API', function () {
    it('answers 400 and 404 with an error message for bad control input', async function () {
      await assert.rejects(
        sandbox.client.createAccount({ subdomain: 'Not A Subdomain', addonApiKey: 'k', webhookSecret: 's' }),
        (err: unknown) => err instanceof StoreganiseSandboxError && err.status === 400 && /subdomain/.test(err.message),
      );
      await assert.rejects(
        sandbox.client.createAccount({ subdomain: 'acme', addonApiKey: 'k', webhookSecret: 's' }),
        (err: unknown) => err instanceof StoreganiseSandboxError && err.status === 409,
      );
      await assert.rejects(
        sandbox.client.moveIn('acme', { userId: '0123456789abcdef01234567' }),
        (err: unknown) => err instanceof StoreganiseSandboxError && err.status === 404,
      );
      await assert.rejects(
        sandbox.client.getUser('ghost', 'x'),
        (err: unknown) => err instanceof StoreganiseSandboxError && err.status === 404,
      );
    });

    it('starts empty after a reset', async function () {
      await createUser('taro@example.com');
      await sandbox.client.reset();
      assert.deepEqual(await sandbox.client.listAccounts(), []);
      assert.deepEqual(await sandbox.client.requests(), []);
    });
  });
});
