import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { listen, type RunningServer } from '../sandbox/common/http-server';
import { startZendeskSandbox, type ZendeskSandbox } from '../sandbox/zendesk';
import {
  IdentityJsonSchema,
  TokenResponseSchema,
  UserEventEnvelopeSchema,
  UserJsonSchema,
  WebhookJsonSchema,
  type UserEventEnvelope,
} from '../sandbox/zendesk/wire';

const ACCOUNT = 'acme';
const ALL_USER_EVENTS = [
  'created',
  'name_changed',
  'external_id_changed',
  'notes_changed',
  'role_changed',
  'active_changed',
  'suspended_changed',
  'identity_created',
  'identity_deleted',
  'identity_changed',
  'custom_field_changed',
  'merged',
].map((e) => `zen:event-type:user.${e}`);

const UserAnswer = z.object({ user: UserJsonSchema });
const UsersAnswer = z.object({ users: z.array(UserJsonSchema) });
const IdentityAnswer = z.object({ identity: IdentityJsonSchema });
const IdentitiesAnswer = z.object({ identities: z.array(IdentityJsonSchema) });
const WebhookAnswer = z.object({ webhook: WebhookJsonSchema });
const SecretAnswer = z.object({ signing_secret: z.object({ algorithm: z.literal('sha256'), secret: z.string() }) });
const ExportAnswer = z.object({
  users: z.array(UserJsonSchema),
  after_cursor: z.string(),
  after_url: z.string(),
  before_cursor: z.string().nullable(),
  before_url: z.string().nullable(),
  end_of_stream: z.boolean(),
});

const DUPLICATE_EMAIL_BODY = (email: string): unknown => ({
  error: 'RecordInvalid',
  description: 'Record validation errors',
  details: {
    email: [{ description: `Email: ${email} is already being used by another user`, error: 'DuplicateValue' }],
  },
});

const INVALID_TOKEN_BODY = {
  error: 'invalid_token',
  error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.',
};

/** Written from the documented algorithm, independently of the sandbox's signer. */
function verifyZendeskSignature(secret: string, timestamp: string, rawBody: string, signature: string): boolean {
  const expected = Buffer.from(
    createHmac('sha256', secret)
      .update(timestamp + rawBody)
      .digest('base64'),
  );
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Received {
  atMs: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

async function startReceiver(statusFor: (n: number) => number = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const server: RunningServer = await listen((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ atMs: Date.now(), headers: req.headers, body });
      res.statusCode = statusFor(received.length);
      res.end();
    });
  });
  return { url: `${server.url}/hooks/zendesk`, received, close: () => server.close() };
}

function envelopesOf(receiver: Receiver): UserEventEnvelope[] {
  return receiver.received.map((r) => UserEventEnvelopeSchema.parse(JSON.parse(r.body)));
}

describe('sandbox Zendesk', function () {
  let sandbox: ZendeskSandbox;
  let token: string;
  let receiver: Receiver | undefined;

  interface Answer {
    status: number;
    headers: Headers;
    text: string;
    json: unknown;
  }

  const accountUrl = (): string => `${sandbox.url}/zendesk/${ACCOUNT}`;

  async function api(method: string, path: string, body?: unknown, bearer: string | null = token): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${accountUrl()}/api/v2${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    if (res.headers.get('content-type')?.includes('json')) json = JSON.parse(text);
    return { status: res.status, headers: res.headers, text, json };
  }

  async function createApiUser(user: Record<string, unknown>): Promise<z.infer<typeof UserJsonSchema>> {
    const res = await api('POST', '/users', { user });
    assert.equal(res.status, 201, res.text);
    return UserAnswer.parse(res.json).user;
  }

  async function subscribeWebhook(
    target: Receiver,
    subscriptions = ALL_USER_EVENTS,
  ): Promise<{ id: string; secret: string }> {
    const created = await api('POST', '/webhooks', {
      webhook: {
        name: 'user sync',
        endpoint: target.url,
        http_method: 'POST',
        request_format: 'json',
        status: 'active',
        subscriptions,
      },
    });
    assert.equal(created.status, 201, created.text);
    const { id } = WebhookAnswer.parse(created.json).webhook;
    const secret = SecretAnswer.parse((await api('GET', `/webhooks/${id}/signing_secret`)).json).signing_secret.secret;
    return { id, secret };
  }

  before(async function () {
    sandbox = await startZendeskSandbox();
  });

  after(async function () {
    await sandbox.close();
  });

  beforeEach(async function () {
    await sandbox.client.reset();
    await sandbox.client.createAccount({
      subdomain: ACCOUNT,
      exportMinAgeSeconds: 0,
      userFields: [
        {
          key: 'customer_status',
          title: 'Customer status',
          type: 'dropdown',
          custom_field_options: [
            { name: 'Active', value: 'active' },
            { name: 'New prospect', value: 'new_prospect' },
            { name: 'Deactivated', value: 'deactivated' },
          ],
        },
      ],
    });
    token = (await sandbox.client.issueToken(ACCOUNT)).access_token;
  });

  afterEach(async function () {
    await sandbox.idle();
    await receiver?.close();
    receiver = undefined;
  });

  describe('users and identities', function () {
    it('an email in a user update adds a secondary identity and leaves the primary unchanged', async function () {
      const user = await createApiUser({ name: 'Taro Yamada', email: 'taro@example.com', skip_verify_email: true });
      const updated = UserAnswer.parse(
        (await api('PUT', `/users/${user.id}`, { user: { email: 'taro.new@example.com' } })).json,
      ).user;
      assert.equal(updated.email, 'taro@example.com');
      const { identities } = IdentitiesAnswer.parse((await api('GET', `/users/${user.id}/identities`)).json);
      assert.deepEqual(
        identities.map((i) => [i.type, i.value, i.primary]),
        [
          ['email', 'taro@example.com', true],
          ['email', 'taro.new@example.com', false],
        ],
      );
    });

    it('a duplicate email is refused with 422 and the body Zendesk sends, on every write path', async function () {
      await createApiUser({ name: 'First', email: 'taken@example.org' });
      const other = await createApiUser({ name: 'Second', email: 'second@example.org' });

      const create = await api('POST', '/users', { user: { name: 'Third', email: 'taken@example.org' } });
      assert.equal(create.status, 422);
      assert.deepEqual(create.json, DUPLICATE_EMAIL_BODY('taken@example.org'));

      const update = await api('PUT', `/users/${other.id}`, { user: { email: 'TAKEN@example.org' } });
      assert.equal(update.status, 422);
      assert.deepEqual(update.json, DUPLICATE_EMAIL_BODY('taken@example.org'));

      const identity = await api('POST', `/users/${other.id}/identities`, {
        identity: { type: 'email', value: 'taken@example.org' },
      });
      assert.equal(identity.status, 422);
      assert.deepEqual(identity.json, {
        error: 'RecordInvalid',
        description: 'Record validation errors',
        details: {
          value: [
            { description: 'Value: taken@example.org is already being used by another user', error: 'DuplicateValue' },
          ],
        },
      });
    });

    it('make_primary moves the primary email, user.email follows, and all identities come back', async function () {
      const user = await createApiUser({ name: 'Hana', email: 'hana@example.com', phone: '+15551234567' });
      const added = IdentityAnswer.parse(
        (
          await api('POST', `/users/${user.id}/identities`, {
            identity: { type: 'email', value: 'hana@work.example.com' },
          })
        ).json,
      ).identity;
      assert.equal(added.primary, false);

      const res = await api('PUT', `/users/${user.id}/identities/${added.id}/make_primary`);
      assert.equal(res.status, 200);
      const { identities } = IdentitiesAnswer.parse(res.json);
      assert.equal(identities.length, 3);
      assert.deepEqual(
        identities.filter((i) => i.type === 'email').map((i) => [i.value, i.primary]),
        [
          ['hana@example.com', false],
          ['hana@work.example.com', true],
        ],
      );
      const reloaded = UserAnswer.parse((await api('GET', `/users/${user.id}`)).json).user;
      assert.equal(reloaded.email, 'hana@work.example.com');
      assert.equal(reloaded.phone, '+15551234567');
    });

    it('primary cannot be changed through an identity update, only its value', async function () {
      const user = await createApiUser({ name: 'Ken', email: 'ken@example.com' });
      const secondary = IdentityAnswer.parse(
        (await api('POST', `/users/${user.id}/identities`, { identity: { type: 'email', value: 'ken2@example.com' } }))
          .json,
      ).identity;
      const res = await api('PUT', `/users/${user.id}/identities/${secondary.id}`, {
        identity: { primary: true, value: 'ken3@example.com' },
      });
      assert.equal(res.status, 200);
      const after = IdentityAnswer.parse(res.json).identity;
      assert.equal(after.primary, false);
      assert.equal(after.value, 'ken3@example.com');
      assert.equal(UserAnswer.parse((await api('GET', `/users/${user.id}`)).json).user.email, 'ken@example.com');
    });

    it('the primary identity of a type cannot be deleted while another of that type exists; the last one can', async function () {
      const user = await createApiUser({ name: 'Mio', email: 'mio@example.com' });
      const primaryId = IdentitiesAnswer.parse((await api('GET', `/users/${user.id}/identities`)).json).identities[0]
        ?.id;
      const second = IdentityAnswer.parse(
        (await api('POST', `/users/${user.id}/identities`, { identity: { type: 'email', value: 'mio2@example.com' } }))
          .json,
      ).identity;
      const refused = await api('DELETE', `/users/${user.id}/identities/${primaryId}`);
      assert.equal(refused.status, 422);
      assert.match(JSON.stringify(refused.json), /make another email identity primary/);

      assert.equal((await api('DELETE', `/users/${user.id}/identities/${second.id}`)).status, 204);
      assert.equal((await api('DELETE', `/users/${user.id}/identities/${primaryId}`)).status, 204);
      assert.equal(UserAnswer.parse((await api('GET', `/users/${user.id}`)).json).user.email, null);
    });

    it('phone on a user is its primary phone identity, and a blank phone removes it', async function () {
      const user = await createApiUser({ name: 'Sora', phone: '+44 20 7946 0000' });
      await api('PUT', `/users/${user.id}`, { user: { phone: '+44 20 7946 0001' } });
      let phones = IdentitiesAnswer.parse(
        (await api('GET', `/users/${user.id}/identities?type[]=phone_number`)).json,
      ).identities;
      assert.deepEqual(
        phones.map((i) => [i.value, i.primary]),
        [['+44 20 7946 0001', true]],
      );
      const cleared = UserAnswer.parse((await api('PUT', `/users/${user.id}`, { user: { phone: '' } })).json).user;
      assert.equal(cleared.phone, null);
      phones = IdentitiesAnswer.parse(
        (await api('GET', `/users/${user.id}/identities?type[]=phone_number`)).json,
      ).identities;
      assert.equal(phones.length, 0);
    });

    it('external_id is unique per account and case-insensitive, and create_or_update rewrites its case', async function () {
      const user = await createApiUser({ name: 'Aki', email: 'aki@example.com', external_id: 'SG-User-1' });
      const clash = await api('POST', '/users', { user: { name: 'Other', external_id: 'sg-user-1' } });
      assert.equal(clash.status, 422);
      assert.deepEqual(Object.keys((clash.json as { details: object }).details), ['external_id']);
      assert.match(clash.text, /DuplicateValue/);

      const found = UsersAnswer.parse((await api('GET', '/users/show_many?external_ids=sg-USER-1')).json).users;
      assert.deepEqual(
        found.map((u) => u.id),
        [user.id],
      );

      const upsert = await api('POST', '/users/create_or_update', {
        user: { external_id: 'sg-user-1', name: 'Aki Sato' },
      });
      assert.equal(upsert.status, 200);
      assert.equal(upsert.headers.get('location'), `/api/v2/users/${user.id}.json`);
      const upserted = UserAnswer.parse(upsert.json).user;
      assert.equal(upserted.id, user.id);
      assert.equal(upserted.external_id, 'sg-user-1');
      assert.equal(upserted.name, 'Aki Sato');
    });

    it('create_or_update creates with 201 and refuses an email and an external_id that belong to two users', async function () {
      const created = await api('POST', '/users/create_or_update', {
        user: { name: 'New', email: 'new@example.com', external_id: 'x-1' },
      });
      assert.equal(created.status, 201);
      const id = UserAnswer.parse(created.json).user.id;
      assert.equal(created.headers.get('location'), `/api/v2/users/${id}.json`);
      await createApiUser({ name: 'Other', email: 'other@example.com' });
      const conflict = await api('POST', '/users/create_or_update', {
        user: { name: 'X', email: 'other@example.com', external_id: 'x-1' },
      });
      assert.equal(conflict.status, 422);
      assert.deepEqual(conflict.json, DUPLICATE_EMAIL_BODY('other@example.com'));
    });

    it('ids are JSON integers larger than 2^32 and safe in JavaScript', async function () {
      const user = await createApiUser({ name: 'Big Id', email: 'big@example.com' });
      const res = await api('GET', `/users/${user.id}`);
      assert.match(res.text, new RegExp(`"id":${user.id}[,}]`));
      const identity = IdentitiesAnswer.parse((await api('GET', `/users/${user.id}/identities`)).json).identities[0];
      for (const id of [user.id, identity?.id ?? 0]) {
        assert.ok(Number.isSafeInteger(id) && id > 2 ** 32, `${id} is an integer above 2^32`);
      }
      const identities = await api('GET', `/users/${user.id}/identities`);
      assert.match(identities.text, new RegExp(`"id":${identity?.id ?? 0},"user_id":${user.id}[,}]`));
    });

    it('user_fields ignore an unknown key, reject a dropdown value that is not an option, and merge on update', async function () {
      const user = await createApiUser({
        name: 'Fields',
        user_fields: { customer_status: 'new_prospect', no_such_field: 'x' },
      });
      assert.deepEqual(user.user_fields, { customer_status: 'new_prospect' });

      const bad = await api('PUT', `/users/${user.id}`, { user: { user_fields: { customer_status: 'Active' } } });
      assert.equal(bad.status, 422);
      const body = z
        .object({ error: z.literal('RecordInvalid'), details: z.record(z.string(), z.unknown()) })
        .parse(bad.json);
      assert.deepEqual(Object.keys(body.details), ['customer_status']);

      const good = UserAnswer.parse(
        (await api('PUT', `/users/${user.id}`, { user: { user_fields: { customer_status: 'active' } } })).json,
      );
      assert.equal(good.user.user_fields.customer_status, 'active');
    });

    it('a soft-deleted user stays readable with active:false, leaves search, and frees its email and external_id', async function () {
      const user = await createApiUser({ name: 'Gone', email: 'gone@example.com', external_id: 'sg-9' });
      const deleted = await api('DELETE', `/users/${user.id}`);
      assert.equal(deleted.status, 200);
      assert.equal(UserAnswer.parse(deleted.json).user.active, false);
      assert.equal(UserAnswer.parse((await api('GET', `/users/${user.id}`)).json).user.active, false);
      assert.equal(
        UsersAnswer.parse((await api('GET', '/users/search?query=email:gone@example.com')).json).users.length,
        0,
      );
      await createApiUser({ name: 'Reuse', email: 'gone@example.com', external_id: 'sg-9' });
      assert.equal((await api('GET', '/users/999')).status, 404);
      assert.deepEqual((await api('GET', '/users/999')).json, { error: 'RecordNotFound', description: 'Not found' });
    });

    it('search finds a user by any of its email addresses, case-insensitively, and by free text', async function () {
      const user = await createApiUser({ name: 'Yuki Tanaka', email: 'yuki@example.com', notes: 'VIP tenant' });
      await api('PUT', `/users/${user.id}`, { user: { email: 'yuki.t@example.net' } });
      await createApiUser({ name: 'Someone Else', email: 'else@example.com' });
      for (const query of ['email:YUKI.T@example.net', 'email:yuki@example.com', 'tanaka', 'vip']) {
        const res = await api('GET', `/users/search?query=${encodeURIComponent(query)}`);
        const parsed = z
          .object({ users: z.array(UserJsonSchema), count: z.number(), next_page: z.string().nullable() })
          .parse(res.json);
        assert.deepEqual(
          parsed.users.map((u) => u.id),
          [user.id],
          query,
        );
      }
    });

    it('merging moves the email addresses to the target as secondaries and deactivates the merged user', async function () {
      const source = await createApiUser({ name: 'Dup', email: 'dup@example.com' });
      const target = await createApiUser({ name: 'Keep', email: 'keep@example.com' });
      const res = await api('PUT', `/users/${source.id}/merge`, { user: { id: target.id } });
      assert.equal(res.status, 200);
      const { identities } = IdentitiesAnswer.parse((await api('GET', `/users/${target.id}/identities`)).json);
      assert.deepEqual(identities.map((i) => [i.value, i.primary]).sort(), [
        ['dup@example.com', false],
        ['keep@example.com', true],
      ]);
      assert.equal(UserAnswer.parse((await api('GET', `/users/${source.id}`)).json).user.active, false);
    });

    it('records the verification emails Zendesk would have sent', async function () {
      await createApiUser({ name: 'Mail', email: 'mail@example.com' });
      await createApiUser({ name: 'Quiet', email: 'quiet@example.com', skip_verify_email: true });
      const verified = await createApiUser({ name: 'Verified', email: 'verified@example.com', verified: true });
      await api('POST', `/users/${verified.id}/identities`, { identity: { type: 'email', value: 'v2@example.com' } });
      await api('POST', `/users/${verified.id}/identities`, {
        identity: { type: 'email', value: 'v3@example.com' },
        skip_verify_email: true,
      });
      const emails = await sandbox.client.verificationEmails(ACCOUNT);
      assert.deepEqual(
        emails.map((e) => [e.address, e.reason]),
        [
          ['mail@example.com', 'user_created'],
          ['v2@example.com', 'identity_created'],
        ],
      );
    });

    it('refuses malformed input with a Zendesk-style 400 instead of failing', async function () {
      const res = await api('POST', '/users', { user: { name: 'X', suspended: 'yes' } });
      assert.equal(res.status, 400);
      assert.equal((res.json as { error: string }).error, 'InvalidParameter');
      const raw = await fetch(`${accountUrl()}/api/v2/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{not json',
      });
      assert.equal(raw.status, 400);
      const blank = await api('POST', '/users', { user: { email: 'noname@example.com' } });
      assert.equal(blank.status, 422);
    });

    it('accounts are independent: a token works only on its own account and an address may exist in each', async function () {
      await sandbox.client.createAccount({ subdomain: 'globex' });
      const globexToken = (await sandbox.client.issueToken('globex')).access_token;
      await createApiUser({ name: 'Acme person', email: 'same@example.com', external_id: 'sg-1' });
      const elsewhere = await fetch(`${sandbox.url}/zendesk/globex/api/v2/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${globexToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user: { name: 'Globex person', email: 'same@example.com', external_id: 'sg-1' } }),
      });
      assert.equal(elsewhere.status, 201);
      assert.equal((await api('GET', '/users', undefined, globexToken)).status, 401);
      assert.equal((await sandbox.client.listUsers('globex')).length, 1);
      assert.notEqual(
        (await sandbox.client.getAccount('globex')).accountId,
        (await sandbox.client.getAccount(ACCOUNT)).accountId,
      );
    });

    it('an unknown subdomain answers 404 in JSON', async function () {
      const res = await fetch(`${sandbox.url}/zendesk/nobody/api/v2/users`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 404);
      assert.ok(res.headers.get('content-type')?.includes('application/json'));
    });
  });

  describe('field change log', function () {
    it('logs each user field change with its value, time and origin, whether the REST API or an agent made it', async function () {
      const user = await createApiUser({
        name: 'Taro Yamada',
        email: 'taro@example.com',
        external_id: 'sg-1',
        user_fields: { customer_status: 'new_prospect' },
      });
      await api('PUT', `/users/${user.id}`, {
        user: { name: 'Taro Y', email: 'taro.second@example.com', notes: 'VIP' },
      });
      const { identities } = IdentitiesAnswer.parse((await api('GET', `/users/${user.id}/identities`)).json);
      const second = identities.find((i) => i.value === 'taro.second@example.com');
      assert.ok(second);
      assert.equal((await api('PUT', `/users/${user.id}/identities/${second.id}/make_primary`)).status, 200);
      await sandbox.client.updateUser(ACCOUNT, user.id, {
        phone: '+81 3 1234 5678',
        suspended: true,
        user_fields: { customer_status: null },
      });
      const deleted = await sandbox.client.deleteUser(ACCOUNT, user.id);

      const changes = await sandbox.client.changes(ACCOUNT, { userId: user.id });
      assert.deepEqual(
        changes.map((c) => [c.via, c.field, c.value]),
        [
          ['api', 'name', 'Taro Yamada'],
          ['api', 'email', 'taro@example.com'],
          ['api', 'phone', null],
          ['api', 'external_id', 'sg-1'],
          ['api', 'suspended', false],
          ['api', 'notes', ''],
          ['api', 'active', true],
          ['api', 'user_fields.customer_status', 'new_prospect'],
          ['api', 'name', 'Taro Y'],
          ['api', 'notes', 'VIP'],
          ['api', 'email', 'taro.second@example.com'],
          ['control', 'phone', '+81 3 1234 5678'],
          ['control', 'suspended', true],
          ['control', 'user_fields.customer_status', null],
          ['control', 'email', null],
          ['control', 'phone', null],
          ['control', 'external_id', null],
          ['control', 'active', false],
        ],
      );
      assert.ok(
        changes.every((c) => c.userId === user.id && c.account === ACCOUNT && c.at === new Date(c.atMs).toISOString()),
      );
      assert.ok(
        changes.every((c, i) => i === 0 || c.atMs >= (changes[i - 1]?.atMs ?? 0)),
        'in time order',
      );
      assert.equal(new Set(changes.map((c) => c.atMs)).size, 5, 'each of the five writes has its own time');
      assert.equal(new Date(changes.at(-1)?.atMs ?? 0).toISOString().replace(/\.\d{3}Z$/, 'Z'), deleted.updated_at);
    });

    it('filters the change log by user and by sequence number', async function () {
      const first = await createApiUser({ name: 'First' });
      const second = await sandbox.client.createUser(ACCOUNT, { name: 'Second' });
      const all = await sandbox.client.changes(ACCOUNT);
      assert.deepEqual(new Set(all.map((c) => c.userId)), new Set([first.id, second.id]));
      const ofSecond = await sandbox.client.changes(ACCOUNT, { userId: second.id });
      assert.ok(ofSecond.length > 0 && ofSecond.every((c) => c.userId === second.id && c.via === 'control'));
      const lastSeq = all.at(-1)?.seq ?? 0;
      assert.deepEqual(await sandbox.client.changes(ACCOUNT, { sinceSeq: lastSeq }), []);
      await api('PUT', `/users/${first.id}`, { user: { name: 'First Renamed' } });
      assert.deepEqual(
        (await sandbox.client.changes(ACCOUNT, { sinceSeq: lastSeq })).map((c) => [
          c.seq,
          c.userId,
          c.field,
          c.value,
          c.via,
        ]),
        [[lastSeq + 1, first.id, 'name', 'First Renamed', 'api']],
      );
    });
  });

  describe('request budget and faults', function () {
    it('answers 429 in text/plain with Retry-After when the budget is spent, and recovers after the window', async function () {
      await sandbox.client.updateAccount(ACCOUNT, { rateLimitPerMinute: 3, rateLimitWindowSeconds: 2 });
      const remaining: Array<string | null> = [];
      for (let i = 0; i < 3; i++) {
        const res = await api('GET', '/users');
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-rate-limit'), '3');
        remaining.push(res.headers.get('x-rate-limit-remaining'));
      }
      assert.deepEqual(remaining, ['2', '1', '0']);
      const limited = await api('GET', '/users');
      assert.equal(limited.status, 429);
      assert.match(limited.headers.get('content-type') ?? '', /^text\/plain/);
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${retryAfter}`);
      assert.match(limited.text, /Rate limit .* exceeded/);
      assert.equal((await api('GET', '/users')).status, 429);
      await sleep(retryAfter * 1000 + 50);
      assert.equal((await api('GET', '/users')).status, 200);
      const logged = await sandbox.client.requests({ account: ACCOUNT, path: '/api/v2/users$' });
      assert.deepEqual(
        logged.requests.map((r) => r.status),
        [200, 200, 200, 429, 429, 200],
      );
    });

    it('injects server errors, forced answers with Retry-After, and latency', async function () {
      await sandbox.client.setFaults(ACCOUNT, { errorRate: 1, errorStatus: 502 });
      assert.equal((await api('GET', '/users')).status, 502);

      await sandbox.client.setFaults(ACCOUNT, { force: { status: 503, count: 1, retryAfterSeconds: 2 } });
      const forced = await api('GET', '/users');
      assert.equal(forced.status, 503);
      assert.equal(forced.headers.get('retry-after'), '2');
      assert.equal((await api('GET', '/users')).status, 200);

      await sandbox.client.setFaults(ACCOUNT, { latencyMs: 250 });
      const started = Date.now();
      assert.equal((await api('GET', '/users')).status, 200);
      assert.ok(Date.now() - started >= 240, 'latency applied');
    });
  });

  describe('lost answers and the request log', function () {
    it('applies a write whose answer it loses: the client sees a network error, the user exists, and the logs show the write', async function () {
      await sandbox.client.setFaults(ACCOUNT, { loseNextResponses: 1 });
      const since = (await sandbox.client.requests()).lastSeq;
      const write = { user: { name: 'Lost Answer', email: 'lost@example.com' } };
      await assert.rejects(api('POST', '/users', write), TypeError);

      const created = (await sandbox.client.listUsers(ACCOUNT)).find((u) => u.email === 'lost@example.com');
      assert.ok(created, 'the user was created although the client never heard of it');
      const events = await sandbox.client.events(ACCOUNT);
      assert.deepEqual(
        events.map((e) => [e.envelope.type, e.envelope.detail.id]),
        [['zen:event-type:user.created', String(created.id)]],
      );
      assert.ok((await sandbox.client.changes(ACCOUNT, { userId: created.id })).every((c) => c.via === 'api'));

      const retried = await api('POST', '/users', write);
      assert.equal(retried.status, 422, 'a blind retry meets the user its first attempt made');
      const logged = (await sandbox.client.requests({ sinceSeq: since, method: 'POST', path: '/api/v2/users$' }))
        .requests;
      assert.deepEqual(
        logged.map((r) => [r.status, r.lost, r.body]),
        [
          [201, true, write],
          [422, false, write],
        ],
      );
    });

    it('never loses the answer of a read, even at a lost-response rate of 1', async function () {
      const user = await createApiUser({ name: 'Before' });
      await sandbox.client.setFaults(ACCOUNT, { lostResponseRate: 1 });
      const read = await api('GET', `/users/${user.id}`);
      assert.equal(read.status, 200);
      assert.equal(UserAnswer.parse(read.json).user.name, 'Before');
      await assert.rejects(
        api('PUT', `/users/${user.id}`, { user: { name: 'After' } }),
        TypeError,
        'a write at the same rate loses its answer',
      );
      assert.equal((await sandbox.client.getUser(ACCOUNT, user.id)).name, 'After');
    });

    it('logs when each answer was sent, and the JSON body of writes but not of reads', async function () {
      const user = await createApiUser({ name: 'Logged' });
      const since = (await sandbox.client.requests()).lastSeq;
      await sandbox.client.setFaults(ACCOUNT, { latencyMs: 100 });
      await api('PUT', `/users/${user.id}`, { user: { notes: 'hello' } });
      await api('GET', `/users/${user.id}`);
      await api('DELETE', `/users/${user.id}`);
      const logged = (await sandbox.client.requests({ sinceSeq: since })).requests;
      assert.deepEqual(
        logged.map((r) => [r.method, r.status, r.body]),
        [
          ['PUT', 200, { user: { notes: 'hello' } }],
          ['GET', 200, undefined],
          ['DELETE', 200, null],
        ],
      );
      assert.ok(!('body' in (logged[1] ?? {})));
      for (const r of logged) {
        assert.equal(r.finishedAtMs - r.atMs, r.durationMs);
        assert.ok(r.durationMs >= 95, `answered ${r.durationMs} ms after arrival, latency included`);
      }
    });
  });

  describe('OAuth', function () {
    const client = {
      clientId: 'sg-sync',
      clientSecret: 'client-secret',
      redirectUris: ['http://127.0.0.1:9/oauth/zendesk/callback'],
    };
    const redirectUri = client.redirectUris[0] ?? '';

    async function tokens(body: Record<string, string>): Promise<Answer> {
      const res = await fetch(`${accountUrl()}/oauth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
    }

    async function authorize(params: Record<string, string>): Promise<Response> {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: redirectUri,
        ...params,
      });
      return fetch(`${accountUrl()}/oauth/authorizations/new?${query.toString()}`, { redirect: 'manual' });
    }

    async function consent(page: Response, decision: 'allow' | 'deny'): Promise<URL> {
      const html = await page.text();
      const consentId = /name="consent_id" value="([^"]+)"/.exec(html)?.[1];
      assert.ok(consentId, 'consent page carries the request');
      const res = await fetch(`${accountUrl()}/oauth/authorizations`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ consent_id: consentId, decision }).toString(),
        redirect: 'manual',
      });
      assert.equal(res.status, 302);
      return new URL(res.headers.get('location') ?? '');
    }

    beforeEach(async function () {
      await sandbox.client.registerOAuthClient(client);
    });

    it('a revoked token is answered 401 invalid_token', async function () {
      assert.equal((await api('GET', '/users')).status, 200);
      assert.equal(await sandbox.client.revokeOAuth(ACCOUNT), 1);
      const res = await api('GET', '/users');
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, INVALID_TOKEN_BODY);

      const own = (await sandbox.client.issueToken(ACCOUNT)).access_token;
      const current = z
        .object({ token: z.object({ token: z.string() }) })
        .parse((await api('GET', '/oauth/tokens/current', undefined, own)).json);
      assert.equal(current.token.token, own.slice(0, 10));
      assert.equal((await api('DELETE', '/oauth/tokens/current', undefined, own)).status, 204);
      assert.equal((await api('GET', '/users', undefined, own)).status, 401);
      assert.equal((await api('GET', '/users', undefined, null)).status, 401);
    });

    it('an expired access token is answered 401', async function () {
      await sandbox.client.updateAccount(ACCOUNT, { accessTokenTtlSeconds: 1 });
      const issued = await sandbox.client.issueToken(ACCOUNT);
      assert.equal(issued.expires_in, 1);
      assert.equal((await api('GET', '/users', undefined, issued.access_token)).status, 200);
      await sleep(1_100);
      const res = await api('GET', '/users', undefined, issued.access_token);
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, INVALID_TOKEN_BODY);
    });

    it('a token without the needed scope is answered 403 Forbidden', async function () {
      const readOnly = (await sandbox.client.issueToken(ACCOUNT, { scopes: ['users:read'] })).access_token;
      assert.equal((await api('GET', '/users', undefined, readOnly)).status, 200);
      const res = await api('POST', '/users', { user: { name: 'Nope' } }, readOnly);
      assert.equal(res.status, 403);
      assert.deepEqual(res.json, {
        error: 'Forbidden',
        description:
          'You do not have access to this page. Please contact the account owner of this help desk for further help.',
      });
      assert.equal((await api('GET', '/webhooks', undefined, readOnly)).status, 403);
    });

    it('the authorization code flow with PKCE issues tokens; a wrong verifier and a reused code are refused', async function () {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const page = await authorize({
        scope: 'users:read users:write',
        state: 'st-1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      assert.equal(page.status, 200);
      const redirect = await consent(page, 'allow');
      assert.equal(`${redirect.origin}${redirect.pathname}`, redirectUri);
      assert.equal(redirect.searchParams.get('state'), 'st-1');
      const code = redirect.searchParams.get('code') ?? '';

      const exchange = {
        grant_type: 'authorization_code',
        code,
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uri: redirectUri,
      };
      const wrong = await tokens({ ...exchange, code_verifier: randomBytes(32).toString('base64url') });
      assert.equal(wrong.status, 400);
      assert.equal((wrong.json as { error: string }).error, 'invalid_grant');

      const ok = await tokens({ ...exchange, code_verifier: verifier });
      assert.equal(ok.status, 200, ok.text);
      const grant = TokenResponseSchema.parse(ok.json);
      assert.equal(grant.scope, 'users:read users:write');
      assert.equal(grant.refresh_token_expires_in, 30 * 24 * 3600);
      assert.equal((await api('GET', '/users', undefined, grant.access_token)).status, 200);

      const reused = await tokens({ ...exchange, code_verifier: verifier });
      assert.equal(reused.status, 400);
      assert.equal((reused.json as { error: string }).error, 'invalid_grant');
    });

    it('refresh rotates the token pair and a rotated refresh token is refused with invalid_grant', async function () {
      await sandbox.client.updateAccount(ACCOUNT, { autoApprove: true });
      const auto = await authorize({ scope: 'read write', state: 's' });
      assert.equal(auto.status, 302);
      const code = new URL(auto.headers.get('location') ?? '').searchParams.get('code') ?? '';
      const first = TokenResponseSchema.parse(
        (
          await tokens({
            grant_type: 'authorization_code',
            code,
            client_id: client.clientId,
            client_secret: client.clientSecret,
            redirect_uri: redirectUri,
          })
        ).json,
      );
      const refresh = { grant_type: 'refresh_token', client_id: client.clientId, client_secret: client.clientSecret };
      const rotated = await tokens({ ...refresh, refresh_token: first.refresh_token });
      assert.equal(rotated.status, 200, rotated.text);
      const second = TokenResponseSchema.parse(rotated.json);
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.equal(
        (await api('GET', '/users', undefined, first.access_token)).status,
        401,
        'the old access token died with the rotation',
      );
      assert.equal((await api('GET', '/users', undefined, second.access_token)).status, 200);

      const replay = await tokens({ ...refresh, refresh_token: first.refresh_token });
      assert.equal(replay.status, 400);
      assert.equal((replay.json as { error: string }).error, 'invalid_grant');

      const log = await sandbox.client.oauthLog(ACCOUNT);
      const [original, successor] = log.grants.filter((g) => g.clientId === client.clientId);
      assert.equal(successor?.rotatedFromId, original?.id);
      assert.equal(original?.used, true);
      assert.deepEqual(
        log.refreshAttempts.map((a) => a.outcome),
        ['rotated', 'invalid_grant'],
      );
      assert.doesNotMatch(JSON.stringify(log), new RegExp(first.access_token));
    });

    it('deny sends the user back with access_denied, and a foreign redirect URL gets an error page', async function () {
      const redirect = await consent(await authorize({ scope: 'read', state: 'st-2' }), 'deny');
      assert.equal(redirect.searchParams.get('error'), 'access_denied');
      assert.equal(redirect.searchParams.get('state'), 'st-2');
      const foreign = await fetch(
        `${accountUrl()}/oauth/authorizations/new?${new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: 'https://evil.example/cb' }).toString()}`,
        { redirect: 'manual' },
      );
      assert.equal(foreign.status, 400);
      assert.match(foreign.headers.get('content-type') ?? '', /text\/html/);
    });
  });

  describe('event webhooks', function () {
    it('the documented test vectors verify with the documented algorithm (timestamp + body)', function () {
      const body =
        '{"type":"zen:event-type:user.active_changed","account_id":12514403,"id":"2b24ef10-19d4-4740-93cf-8f98ec4776c0","time":"2099-07-04T05:33:18Z","zendesk_event_version":"2022-06-20","subject":"zen:user:6596848315901","detail":{"created_at":"2099-07-04T05:27:58Z","email":"user@example.com","external_id":"","default_group_id":"0","id":"6596848315901","organization_id":"0","role":"end-user","updated_at":"2099-07-04T05:33:18Z"},"event":{"current":false,"previous":true}}';
      assert.equal(Buffer.byteLength(body), 466);
      assert.ok(
        verifyZendeskSignature(
          'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==',
          '2099-07-04T05:33:18Z',
          body,
          '29ogmKOs6DpkYmy37KE2AFph0BD38KYD++MfFDfz8Qc=',
        ),
      );
      const secret = 'HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=';
      assert.ok(
        verifyZendeskSignature(
          secret,
          '2021-07-25T10:00:00Z',
          '{"say": "hello"}',
          'Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=',
        ),
      );
      // The old page's vector signs body + timestamp, so it must not verify in the current order.
      assert.ok(
        !verifyZendeskSignature(
          secret,
          '2021-07-25T10:00:00Z',
          '{"say": "hello"}',
          'tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=',
        ),
      );
    });

    it('deliveries carry the documented envelope and headers, and their signatures verify', async function () {
      receiver = await startReceiver();
      const created = await api('POST', '/webhooks', {
        webhook: {
          name: 'sync',
          endpoint: receiver.url,
          http_method: 'POST',
          request_format: 'json',
          status: 'active',
          subscriptions: ALL_USER_EVENTS,
          authentication: { type: 'bearer_token', data: { token: 'hook-token' }, add_position: 'header' },
        },
      });
      const webhookId = WebhookAnswer.parse(created.json).webhook.id;
      const secret = SecretAnswer.parse((await api('GET', `/webhooks/${webhookId}/signing_secret`)).json).signing_secret
        .secret;
      const account = await sandbox.client.getAccount(ACCOUNT);

      const user = await sandbox.client.createUser(ACCOUNT, { name: 'Agent Made', email: 'agent.made@example.com' });
      await sandbox.client.deleteUser(ACCOUNT, user.id);
      await sandbox.idle();

      assert.equal(receiver.received.length, 2);
      for (const { headers, body } of receiver.received) {
        assert.equal(headers['content-type'], 'application/json');
        assert.equal(headers['x-zendesk-account-id'], String(account.accountId));
        assert.equal(headers['x-zendesk-webhook-id'], webhookId);
        assert.match(String(headers['x-zendesk-webhook-invocation-id']), /^\d+$/);
        assert.equal(headers.authorization, 'Bearer hook-token');
        const timestamp = String(headers['x-zendesk-webhook-signature-timestamp']);
        assert.match(timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        assert.ok(verifyZendeskSignature(secret, timestamp, body, String(headers['x-zendesk-webhook-signature'])));
      }
      const [createdEvent, deactivated] = envelopesOf(receiver);
      assert.equal(createdEvent?.type, 'zen:event-type:user.created');
      assert.deepEqual(createdEvent?.event, {});
      assert.equal(deactivated?.type, 'zen:event-type:user.active_changed');
      assert.deepEqual(deactivated?.event, { current: false, previous: true });
      assert.equal(deactivated?.account_id, account.accountId);
      assert.equal(deactivated?.zendesk_event_version, '2022-06-20');
      assert.equal(deactivated?.subject, `zen:user:${user.id}`);
      assert.match(deactivated?.id ?? '', /^[0-9a-f-]{36}$/);
      assert.deepEqual(Object.keys(deactivated?.detail ?? {}), [
        'created_at',
        'email',
        'external_id',
        'default_group_id',
        'id',
        'organization_id',
        'role',
        'updated_at',
      ]);
      assert.equal(deactivated?.detail.id, String(user.id));
      assert.equal(deactivated?.detail.email, 'agent.made@example.com');
      assert.equal(deactivated?.detail.external_id, '');
      assert.equal(deactivated?.detail.default_group_id, '0');
      assert.equal(deactivated?.detail.organization_id, '0');
      assert.deepEqual(
        (await sandbox.client.deliveries(ACCOUNT)).map((d) => d.status),
        [200, 200],
      );
    });

    it('changes made through the API emit events too, with the documented type spellings and string ids', async function () {
      receiver = await startReceiver();
      await subscribeWebhook(receiver);
      const user = await createApiUser({ name: 'Echo', email: 'echo@example.com' });
      await api('PUT', `/users/${user.id}`, {
        user: {
          name: 'Echo Two',
          email: 'echo2@example.com',
          user_fields: { customer_status: 'active' },
          suspended: true,
        },
      });
      await sandbox.idle();
      const envelopes = envelopesOf(receiver);
      assert.deepEqual(
        envelopes.map((e) => e.type),
        [
          'zen:event-type:user.created',
          'zen:event-type:user.name_changed',
          'zen:event-type:user.suspended_changed',
          'zen:event-type/user.identity_created',
          'zen:event-type:user.custom_field_changed',
        ],
      );
      assert.deepEqual(envelopes[1]?.event, { current: 'Echo Two', previous: 'Echo' });
      assert.deepEqual(envelopes[2]?.event, { current: true, previous: false });
      const identity = z
        .object({ identity: z.object({ id: z.string(), primary: z.boolean(), type: z.string(), value: z.string() }) })
        .parse(envelopes[3]?.event);
      assert.deepEqual(
        { ...identity.identity, id: 'x' },
        { id: 'x', primary: false, type: 'email', value: 'echo2@example.com' },
      );
      assert.match(identity.identity.id, /^\d+$/);
      const field = z
        .object({
          current: z.string(),
          previous: z.null(),
          custom_field: z.object({ id: z.string(), title: z.string(), type: z.string() }),
        })
        .parse(envelopes[4]?.event);
      assert.equal(field.current, 'active');
      assert.equal(field.custom_field.title, 'Customer status');
      assert.equal(envelopes[4]?.detail.email, 'echo@example.com', 'detail carries the unchanged primary email');
    });

    it('make_primary and merge emit identity_changed, merged and active_changed', async function () {
      receiver = await startReceiver();
      await subscribeWebhook(receiver, [
        'zen:event-type/user.identity_changed',
        'zen:event-type:user.merged',
        'zen:event-type:user.active_changed',
      ]);
      const user = await sandbox.client.createUser(ACCOUNT, { name: 'Primary', email: 'p1@example.com' });
      const withSecond = await sandbox.client.addIdentity(ACCOUNT, user.id, { type: 'email', value: 'p2@example.com' });
      const second = withSecond.identities.find((i) => i.value === 'p2@example.com');
      await sandbox.client.makeIdentityPrimary(ACCOUNT, user.id, second?.id ?? 0);
      const target = await sandbox.client.createUser(ACCOUNT, { name: 'Target', email: 'target@example.com' });
      const merged = await sandbox.client.mergeUser(ACCOUNT, user.id, target.id);
      assert.equal(merged.user.active, false);
      assert.deepEqual(merged.into.identities.map((i) => i.value).sort(), [
        'p1@example.com',
        'p2@example.com',
        'target@example.com',
      ]);
      await sandbox.idle();
      const envelopes = envelopesOf(receiver);
      assert.deepEqual(
        envelopes.map((e) => e.type),
        [
          'zen:event-type/user.identity_changed',
          'zen:event-type/user.identity_changed',
          'zen:event-type/user.merged',
          'zen:event-type:user.active_changed',
        ],
      );
      assert.deepEqual(envelopes[2]?.event, { user: { id: String(target.id) } });
      assert.equal(envelopes[2]?.detail.email, 'p2@example.com');
    });

    it('a duplicate fault delivers every event twice with the same event id', async function () {
      receiver = await startReceiver();
      await subscribeWebhook(receiver);
      await sandbox.client.setFaults(ACCOUNT, { webhooks: { duplicate: 1 } });
      await sandbox.client.createUser(ACCOUNT, { name: 'Twice' });
      await sandbox.idle();
      const deliveries = await sandbox.client.deliveries(ACCOUNT);
      assert.equal(deliveries.length, 2);
      assert.equal(deliveries[0]?.eventId, deliveries[1]?.eventId);
      assert.equal(receiver.received[0]?.body, receiver.received[1]?.body);
    });

    it('a reorder fault delivers events in a different order than they happened', async function () {
      receiver = await startReceiver();
      await subscribeWebhook(receiver);
      await sandbox.client.setFaults(ACCOUNT, { webhooks: { reorderWindowMs: 1_000 } });
      for (const name of ['One', 'Two', 'Three', 'Four']) await sandbox.client.createUser(ACCOUNT, { name });
      await sandbox.idle();
      const emitted = (await sandbox.client.events(ACCOUNT)).map((e) => e.envelope.id);
      const delivered = (await sandbox.client.deliveries(ACCOUNT)).map((d) => d.eventId);
      assert.deepEqual([...delivered].sort(), [...emitted].sort());
      assert.notDeepEqual(delivered, emitted);
    });

    it('a dropped event reaches no webhook and is recorded with the webhooks it missed', async function () {
      receiver = await startReceiver();
      const { id: webhookId } = await subscribeWebhook(receiver);
      await sandbox.client.setFaults(ACCOUNT, { webhooks: { dropRate: 1 } });
      const user = await sandbox.client.createUser(ACCOUNT, { name: 'Dropped' });
      await sandbox.idle();
      assert.deepEqual(receiver.received, []);
      assert.deepEqual(await sandbox.client.deliveries(ACCOUNT), []);

      await sandbox.client.setFaults(ACCOUNT, {});
      await sandbox.client.updateUser(ACCOUNT, user.id, { name: 'Delivered' });
      await sandbox.idle();
      assert.deepEqual(
        (await sandbox.client.events(ACCOUNT)).map((e) => [e.envelope.type, e.webhookIds, e.droppedWebhookIds]),
        [
          ['zen:event-type:user.created', [webhookId], [webhookId]],
          ['zen:event-type:user.name_changed', [webhookId], []],
        ],
      );
      assert.deepEqual(
        envelopesOf(receiver).map((e) => e.type),
        ['zen:event-type:user.name_changed'],
      );
    });

    it('a delay fault holds every attempt, yet retries still follow the documented rule', async function () {
      receiver = await startReceiver(() => 409);
      await subscribeWebhook(receiver);
      await sandbox.client.setFaults(ACCOUNT, { webhooks: { delayMs: { min: 100, max: 150 } } });
      const changedAt = Date.now();
      await sandbox.client.createUser(ACCOUNT, { name: 'Slow' });
      await sandbox.idle();
      assert.deepEqual(
        (await sandbox.client.deliveries(ACCOUNT)).map((d) => [d.attempts, d.status]),
        [
          [1, 409],
          [2, 409],
          [3, 409],
          [4, 409],
        ],
      );
      const arrivals = [changedAt, ...receiver.received.map((r) => r.atMs)];
      // The delay before the first attempt, then Zendesk's 200 ms doubling backoff plus the delay before each retry.
      const least = [100, 300, 500, 900];
      for (let i = 1; i < arrivals.length; i++) {
        const gap = (arrivals[i] ?? 0) - (arrivals[i - 1] ?? 0);
        assert.ok(gap >= (least[i - 1] ?? 0), `attempt ${i} came ${gap} ms after the previous step`);
      }
    });

    it('a pause holds deliveries and keeps the sandbox busy; unpausing sends them in the order the events happened', async function () {
      receiver = await startReceiver();
      await subscribeWebhook(receiver);
      await sandbox.client.setFaults(ACCOUNT, { webhooks: { paused: true } });
      for (const name of ['One', 'Two', 'Three']) await sandbox.client.createUser(ACCOUNT, { name });
      const idle = sandbox.idle().then(() => 'idle' as const);
      assert.equal(await Promise.race([idle, sleep(300).then(() => 'busy' as const)]), 'busy');
      assert.deepEqual(receiver.received, []);

      await sandbox.client.setFaults(ACCOUNT, { webhooks: { paused: false } });
      assert.equal(await idle, 'idle');
      const emitted = (await sandbox.client.events(ACCOUNT)).map((e) => e.envelope.id);
      assert.deepEqual(
        envelopesOf(receiver).map((e) => e.id),
        emitted,
      );
    });

    it('retries a 409 three times and never a 500, as Zendesk documents', async function () {
      receiver = await startReceiver(() => 409);
      await subscribeWebhook(receiver);
      await sandbox.client.createUser(ACCOUNT, { name: 'Conflict' });
      await sandbox.idle();
      assert.deepEqual(
        (await sandbox.client.deliveries(ACCOUNT)).map((d) => d.attempts),
        [1, 2, 3, 4],
      );

      await receiver.close();
      receiver = await startReceiver(() => 500);
      await sandbox.client.reset();
      await sandbox.client.createAccount({ subdomain: ACCOUNT });
      token = (await sandbox.client.issueToken(ACCOUNT)).access_token;
      await subscribeWebhook(receiver);
      await sandbox.client.createUser(ACCOUNT, { name: 'Broken' });
      await sandbox.idle();
      assert.deepEqual(
        (await sandbox.client.deliveries(ACCOUNT)).map((d) => [d.attempts, d.status]),
        [[1, 500]],
      );
    });

    it('the webhooks API creates, lists, updates, deletes and reveals and rotates signing secrets', async function () {
      const invalid = await api('POST', '/webhooks', {
        webhook: { name: 'no endpoint', http_method: 'POST', request_format: 'json', status: 'active' },
      });
      assert.equal(invalid.status, 400);
      const errors = z
        .object({
          errors: z.array(z.object({ code: z.string(), title: z.string(), source: z.object({ pointer: z.string() }) })),
        })
        .parse(invalid.json);
      assert.deepEqual(
        errors.errors.map((e) => e.source.pointer),
        ['/webhook/endpoint'],
      );

      receiver = await startReceiver();
      const first = await subscribeWebhook(receiver, ['zen:event-type:user.created']);
      await subscribeWebhook(receiver, ['zen:event-type/user.identity_created']);
      const other = await api('POST', '/webhooks', {
        webhook: {
          name: 'billing',
          endpoint: receiver.url,
          http_method: 'POST',
          request_format: 'json',
          status: 'inactive',
          subscriptions: ['conditional_ticket_events'],
        },
      });
      assert.equal(other.status, 201);

      const page = z
        .object({
          webhooks: z.array(WebhookJsonSchema),
          meta: z.object({ has_more: z.boolean(), after_cursor: z.string().nullable() }),
          links: z.object({ next: z.string().nullable() }),
        })
        .parse((await api('GET', '/webhooks?filter[name_contains]=SYNC&page[size]=1')).json);
      assert.equal(page.webhooks.length, 1);
      assert.equal(page.meta.has_more, true);
      const next = z
        .object({ webhooks: z.array(WebhookJsonSchema), meta: z.object({ has_more: z.boolean() }) })
        .parse(
          (
            await api(
              'GET',
              `/webhooks?filter[name_contains]=sync&page[size]=1&page[after]=${page.meta.after_cursor ?? ''}`,
            )
          ).json,
        );
      assert.equal(next.webhooks.length, 1);
      assert.equal(next.meta.has_more, false);

      const rotated = SecretAnswer.parse((await api('POST', `/webhooks/${first.id}/signing_secret`)).json)
        .signing_secret.secret;
      assert.notEqual(rotated, first.secret);
      assert.equal(
        SecretAnswer.parse((await api('GET', `/webhooks/${first.id}/signing_secret`)).json).signing_secret.secret,
        rotated,
      );

      assert.equal((await api('PATCH', `/webhooks/${first.id}`, { webhook: { status: 'inactive' } })).status, 204);
      assert.equal(WebhookAnswer.parse((await api('GET', `/webhooks/${first.id}`)).json).webhook.status, 'inactive');
      assert.equal((await api('DELETE', `/webhooks/${first.id}`)).status, 204);
      const gone = await api('GET', `/webhooks/${first.id}`);
      assert.equal(gone.status, 404);
      assert.ok(Array.isArray((gone.json as { errors: unknown }).errors));
      assert.equal((await sandbox.client.webhooks(ACCOUNT)).length, 2);
    });
  });

  describe('incremental export', function () {
    it('pages through changed users with a cursor, deleted ones included, and resumes from the last cursor', async function () {
      const startTime = Math.floor(Date.now() / 1000) - 5;
      const a = await createApiUser({ name: 'A' });
      const b = await createApiUser({ name: 'B' });
      const c = await createApiUser({ name: 'C' });
      await api('DELETE', `/users/${a.id}`);

      const first = ExportAnswer.parse(
        (await api('GET', `/incremental/users/cursor.json?start_time=${startTime}&per_page=2`)).json,
      );
      assert.deepEqual(
        first.users.map((u) => u.id),
        [b.id, c.id],
      );
      assert.equal(first.end_of_stream, false);
      const followed = await fetch(first.after_url, { headers: { authorization: `Bearer ${token}` } });
      const second = ExportAnswer.parse(await followed.json());
      assert.deepEqual(
        second.users.map((u) => [u.id, u.active]),
        [[a.id, false]],
      );
      assert.equal(second.end_of_stream, true);

      const idle = ExportAnswer.parse(
        (await api('GET', `/incremental/users/cursor.json?cursor=${second.after_cursor}`)).json,
      );
      assert.equal(idle.users.length, 0);
      assert.equal(idle.end_of_stream, true);
      await api('PUT', `/users/${b.id}`, { user: { notes: 'changed' } });
      const resumed = ExportAnswer.parse(
        (await api('GET', `/incremental/users/cursor.json?cursor=${idle.after_cursor}`)).json,
      );
      assert.deepEqual(
        resumed.users.map((u) => u.id),
        [b.id],
      );
    });

    it('refuses a start_time younger than the minimum age and holds back changes of the last minute', async function () {
      await sandbox.client.updateAccount(ACCOUNT, { exportMinAgeSeconds: 60 });
      await createApiUser({ name: 'Fresh' });
      const recent = await api(
        'GET',
        `/incremental/users/cursor.json?start_time=${Math.floor(Date.now() / 1000) - 10}`,
      );
      assert.equal(recent.status, 400);
      const page = ExportAnswer.parse(
        (await api('GET', `/incremental/users/cursor.json?start_time=${Math.floor(Date.now() / 1000) - 120}`)).json,
      );
      assert.equal(page.users.length, 0);
      assert.equal(page.end_of_stream, true);
    });
  });
});
