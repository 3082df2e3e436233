import assert from 'node:assert/strict';
import { EMAIL_CONFLICT_TITLE, SYNC_ERROR_TITLE } from '../domain/tasks';
import { AccountView, startWithAccount, uniqueEmail } from './support/customers';
import { eventually } from './support/eventually';
import { STATUS_FIELD_KEY, TestSystem } from './support/system';

describe('Storeganise → Zendesk', function () {
  this.timeout(90_000);
  let system: TestSystem;
  let acme: AccountView;

  before(async function () {
    ({ system, acme } = await startWithAccount(this));
  });
  after(async () => system?.close());

  it('a Storeganise user created becomes a linked Zendesk user in one request, with E.164 phone, status and no verification email', async () => {
    const mark = await acme.mark();
    const email = uniqueEmail('taro');
    const sg = await system.storeganise.client.createUser(acme.account.subdomain, {
      firstName: 'Taro',
      lastName: 'Yamada',
      email,
      phone: '090-1234-5678',
    });
    const zd = await eventually(async () => {
      const [user] = await acme.zdUsersWithExternalId(sg.id);
      assert.ok(user, 'the Zendesk user does not exist yet');
      return user;
    });
    await system.settle(acme.account);

    assert.equal(zd.name, 'Taro Yamada');
    assert.equal(zd.email, email);
    assert.equal(zd.phone, '+819012345678');
    assert.equal(zd.role, 'end-user');
    assert.equal(zd.user_fields[STATUS_FIELD_KEY], 'new_prospect');
    assert.equal((await acme.sgUser(sg.id)).customFields?.zendesk_userId, String(zd.id));
    const creates = (await acme.zendeskWrites(mark)).filter(
      (r) => r.method === 'POST' && r.path.endsWith('/api/v2/users'),
    );
    assert.equal(creates.length, 1, 'the Zendesk user is created in exactly one request');
    assert.equal((await acme.zendeskWrites(mark)).length, 1, 'nothing else is written to Zendesk');
    const verifications = await system.zendesk.client.verificationEmails(acme.account.zendeskSubdomain);
    assert.deepEqual(
      verifications.filter((v) => v.userId === zd.id),
      [],
      'no verification email is requested',
    );
  });

  it('the name format last_first gives "Last First" in Zendesk', async () => {
    const japanese = new AccountView(
      system,
      await system.addAccount({ settings: { zendesk_nameFormat: 'last_first' } }),
    );
    const sg = await system.storeganise.client.createUser(japanese.account.subdomain, {
      firstName: '太郎',
      lastName: '山田',
      email: uniqueEmail(),
    });
    const zd = await eventually(async () => {
      const [user] = await japanese.zdUsersWithExternalId(sg.id);
      assert.ok(user);
      return user;
    });
    assert.equal(zd.name, '山田 太郎');
  });

  it('a primary email changed in Storeganise changes the Zendesk primary through the identities API', async () => {
    const customer = await acme.createLinkedCustomer();
    const mark = await acme.mark();
    const newEmail = uniqueEmail('moved');
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { email: newEmail });
    await eventually(async () => assert.equal((await acme.zdUser(customer.zdId)).email, newEmail));
    await system.settle(acme.account);

    const zd = await acme.zdUser(customer.zdId);
    const primaries = zd.identities.filter((i) => i.type === 'email' && i.primary).map((i) => i.value);
    assert.deepEqual(primaries, [newEmail]);
    const writes = await acme.zendeskWrites(mark);
    assert.ok(
      writes.every((w) => w.path.includes('/identities')),
      `only identity calls change the email: ${writes.map((w) => `${w.method} ${w.path}`).join(', ')}`,
    );
    const userUpdates = (await acme.zendeskRequests(mark)).filter(
      (r) => r.method === 'PUT' && /\/users\/\d+$/.test(r.path),
    );
    assert.equal(userUpdates.length, 0, 'email never goes through a user update');
    const calls = await acme.zendeskRequests(mark);
    const lastWrite = calls.findLastIndex((r) => r.method !== 'GET');
    assert.ok(
      lastWrite + 1 <= 3,
      `a single-field change takes at most 3 Zendesk calls, echo reads aside: ${calls
        .slice(0, lastWrite + 1)
        .map((r) => `${r.method} ${r.path}`)
        .join(', ')}`,
    );
    assert.equal((await acme.storeganiseWrites(mark)).length, 0, 'nothing is written back to Storeganise');
  });

  it('an email taken by another Zendesk user raises one Email conflict task and overwrites nothing', async () => {
    const customer = await acme.createLinkedCustomer();
    const other = await acme.createLinkedCustomer();
    const otherZd = await acme.zdUser(other.zdId);
    const before = await acme.zdUser(customer.zdId);
    const conflictsBefore = (await acme.tasks(EMAIL_CONFLICT_TITLE)).length;
    const taken = otherZd.email ?? '';
    // Storeganise itself refuses duplicates, so the address is held in Zendesk only: a secondary of the other user.
    await system.zendesk.client.addIdentity(acme.account.zendeskSubdomain, other.zdId, {
      type: 'email',
      value: `alt.${taken}`,
    });
    await system.settle(acme.account);
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { email: `alt.${taken}` });
    await eventually(async () => assert.equal((await acme.tasks(EMAIL_CONFLICT_TITLE)).length, conflictsBefore + 1));
    await system.settle(acme.account);

    const [task] = (await acme.tasks(EMAIL_CONFLICT_TITLE)).slice(conflictsBefore);
    const desc = String(task?.data.desc);
    for (const id of [`alt.${taken}`, customer.sgId, String(customer.zdId), String(other.zdId), other.sgId])
      assert.ok(desc.includes(id), `the task names ${id}: ${desc}`);
    assert.equal(task?.data.targetType, 'user');
    assert.equal(task?.data.targetId, customer.sgId);
    assert.equal((await acme.zdUser(customer.zdId)).email, before.email, 'the Zendesk primary email is unchanged');
    assert.equal((await acme.zdUser(other.zdId)).email, taken, 'the other user is untouched');
    assert.equal((await acme.tasks(EMAIL_CONFLICT_TITLE)).length, conflictsBefore + 1, 'exactly one conflict task');
  });

  it('a phone changed in Storeganise, local or international, reaches Zendesk as the same E.164 number', async () => {
    const customer = await acme.createLinkedCustomer({ phone: '090-1111-2222' });
    for (const [entered, e164] of [
      ['03 1234 5678', '+81312345678'],
      ['+44 20 7946 0958', '+442079460958'],
      ['080-9876-5432', '+818098765432'],
    ] as const) {
      await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { phone: entered });
      await eventually(async () => assert.equal((await acme.zdUser(customer.zdId)).phone, e164));
    }
    await system.settle(acme.account);
    assert.equal(
      (await acme.sgUser(customer.sgId)).phone,
      '080-9876-5432',
      'Storeganise keeps what the admin typed: nothing is written back',
    );
  });

  it('an invalid phone is never written to Zendesk', async () => {
    const customer = await acme.createLinkedCustomer({ phone: '090-3333-4444' });
    const mark = await acme.mark();
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { phone: 'call the front desk' });
    await system.settle(acme.account);
    assert.equal((await acme.zdUser(customer.zdId)).phone, '+819033334444');
    assert.equal((await acme.zendeskWrites(mark)).length, 0);
  });

  describe('customer status', () => {
    it('follows rentals: no rentals → new_prospect, move-in → active, move-out of the last rental → deactivated', async () => {
      const customer = await acme.createLinkedCustomer();
      const status = async () => (await acme.zdUser(customer.zdId)).user_fields[STATUS_FIELD_KEY];
      assert.equal(await status(), 'new_prospect');
      const first = await system.storeganise.client.moveIn(acme.account.subdomain, { userId: customer.sgId });
      await eventually(async () => assert.equal(await status(), 'active'));
      const second = await system.storeganise.client.moveIn(acme.account.subdomain, { userId: customer.sgId });
      await system.storeganise.client.moveOut(acme.account.subdomain, { unitRentalId: first.unitRental.id });
      await system.settle(acme.account);
      assert.equal(await status(), 'active', 'one rental is still occupied');
      await system.storeganise.client.moveOut(acme.account.subdomain, { unitRentalId: second.unitRental.id });
      await eventually(async () => assert.equal(await status(), 'deactivated'));
    });

    it('a transfer keeps the customer active', async () => {
      const customer = await acme.createLinkedCustomer();
      const rental = await system.storeganise.client.moveIn(acme.account.subdomain, { userId: customer.sgId });
      await eventually(async () =>
        assert.equal((await acme.zdUser(customer.zdId)).user_fields[STATUS_FIELD_KEY], 'active'),
      );
      const mark = await acme.mark();
      await system.storeganise.client.transfer(acme.account.subdomain, { unitRentalId: rental.unitRental.id });
      await system.settle(acme.account);
      assert.equal((await acme.zdUser(customer.zdId)).user_fields[STATUS_FIELD_KEY], 'active');
      assert.equal((await acme.zendeskWrites(mark)).length, 0, 'an unchanged status is not written');
    });

    it('is not written when the status key is blank', async () => {
      const blank = new AccountView(system, await system.addAccount({ settings: { zendesk_statusFieldKey: '' } }));
      const customer = await blank.createLinkedCustomer();
      const mark = await blank.mark();
      await system.storeganise.client.moveIn(blank.account.subdomain, { userId: customer.sgId });
      await system.settle(blank.account);
      assert.equal((await blank.zdUser(customer.zdId)).user_fields[STATUS_FIELD_KEY] ?? null, null);
      assert.equal((await blank.zendeskWrites(mark)).length, 0);
    });

    it('is not written when the field is absent from the Zendesk user', async () => {
      const fieldless = new AccountView(system, await system.addAccount({ statusField: false }));
      const customer = await fieldless.createLinkedCustomer();
      const mark = await fieldless.mark();
      await system.storeganise.client.moveIn(fieldless.account.subdomain, { userId: customer.sgId });
      await system.settle(fieldless.account);
      const zd = await fieldless.zdUser(customer.zdId);
      assert.equal(STATUS_FIELD_KEY in zd.user_fields, false);
      assert.equal((await fieldless.zendeskWrites(mark)).length, 0);
    });
  });

  it('disabling in Storeganise suspends in Zendesk, sets deactivated and appends a note; re-enabling does not unsuspend', async () => {
    const customer = await acme.createLinkedCustomer();
    await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, customer.zdId, { notes: 'Prefers email.' });
    await system.storeganise.client.moveIn(acme.account.subdomain, { userId: customer.sgId });
    await system.settle(acme.account);
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { disabled: true });
    await eventually(async () => assert.equal((await acme.zdUser(customer.zdId)).suspended, true));
    const suspended = await acme.zdUser(customer.zdId);
    assert.equal(suspended.user_fields[STATUS_FIELD_KEY], 'deactivated');
    assert.ok(suspended.notes.startsWith('Prefers email.'), 'existing notes are kept');
    assert.match(suspended.notes, /Storeganise/);
    assert.ok(suspended.notes.includes(customer.sgId));

    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { disabled: false });
    await eventually(async () =>
      assert.equal((await acme.zdUser(customer.zdId)).user_fields[STATUS_FIELD_KEY], 'active'),
    );
    await system.settle(acme.account);
    const reenabled = await acme.zdUser(customer.zdId);
    assert.equal(reenabled.suspended, true, 're-enabling in Storeganise does not unsuspend');
    assert.equal(reenabled.notes, suspended.notes, 'no second note');
  });

  it('a write Zendesk rejects for a reason a person must fix raises one Sync error task with the reason', async () => {
    const misconfigured = new AccountView(system, await system.addAccount({ statusField: false }));
    // The operator's dropdown lacks the `deactivated` option: Zendesk refuses that value.
    await system.zendesk.client.updateAccount(misconfigured.account.zendeskSubdomain, {
      userFields: [
        {
          key: STATUS_FIELD_KEY,
          title: 'Customer status',
          type: 'dropdown',
          custom_field_options: [
            { name: 'Active', value: 'active' },
            { name: 'New', value: 'new_prospect' },
          ],
        },
      ],
    });
    const customer = await misconfigured.createLinkedCustomer();
    const rental = await system.storeganise.client.moveIn(misconfigured.account.subdomain, { userId: customer.sgId });
    await eventually(async () =>
      assert.equal((await misconfigured.zdUser(customer.zdId)).user_fields[STATUS_FIELD_KEY], 'active'),
    );
    await system.storeganise.client.moveOut(misconfigured.account.subdomain, { unitRentalId: rental.unitRental.id });
    const [task] = await eventually(async () => {
      const tasks = await misconfigured.tasks(SYNC_ERROR_TITLE);
      assert.equal(tasks.length, 1);
      return tasks;
    });
    await system.settle(misconfigured.account);
    assert.equal(task?.data.targetId, customer.sgId);
    assert.match(String(task?.data.desc), /customer_status/);
    assert.equal(
      (await misconfigured.zdUser(customer.zdId)).user_fields[STATUS_FIELD_KEY],
      'active',
      'nothing was overwritten',
    );
    assert.equal((await misconfigured.tasks(SYNC_ERROR_TITLE)).length, 1);
  });

  describe('linking', () => {
    it('a pointer to a Zendesk user merged away is repaired by email to the user it was merged into', async () => {
      const customer = await acme.createLinkedCustomer();
      const survivor = await system.zendesk.client.createUser(acme.account.zendeskSubdomain, {
        name: 'Hanako S.',
        email: uniqueEmail('survivor'),
      });
      await system.zendesk.client.mergeUser(acme.account.zendeskSubdomain, customer.zdId, survivor.id);
      await system.settle(acme.account);
      await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { firstName: 'Hanae' });
      await eventually(async () =>
        assert.equal((await acme.sgUser(customer.sgId)).customFields?.zendesk_userId, String(survivor.id)),
      );
      await system.settle(acme.account);
      const repaired = await acme.zdUser(survivor.id);
      assert.equal(repaired.external_id, customer.sgId);
      assert.equal(repaired.name, 'Hanae Suzuki');
      assert.equal((await acme.zdUsersWithExternalId(customer.sgId)).length, 1);
    });

    it('a pointer to the wrong Zendesk user is repaired by email, and that user is left alone', async () => {
      const customer = await acme.createLinkedCustomer({ firstName: 'Ken' });
      const stranger = await acme.createLinkedCustomer({ firstName: 'Jiro' });
      const strangerBefore = await acme.zdUser(stranger.zdId);
      await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, {
        customFields: { zendesk_userId: String(stranger.zdId) },
      });
      await system.settle(acme.account);
      await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { lastName: 'Sato' });
      await eventually(async () =>
        assert.equal((await acme.sgUser(customer.sgId)).customFields?.zendesk_userId, String(customer.zdId)),
      );
      await eventually(async () => assert.equal((await acme.zdUser(customer.zdId)).name, 'Ken Sato'));
      await system.settle(acme.account);
      const strangerAfter = await acme.zdUser(stranger.zdId);
      assert.equal(strangerAfter.name, strangerBefore.name);
      assert.equal(strangerAfter.external_id, stranger.sgId);
    });

    it('a Zendesk user deleted with no active holder of the email is respected: nothing is created, Storeganise untouched; clearing the pointer creates anew', async () => {
      const customer = await acme.createLinkedCustomer();
      await system.zendesk.client.deleteUser(acme.account.zendeskSubdomain, customer.zdId);
      await system.settle(acme.account);
      const before = await acme.sgUser(customer.sgId);
      const mark = await acme.mark();
      await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { firstName: 'Later' });
      await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { phone: '090-5555-6666' });
      await system.settle(acme.account);
      assert.equal((await acme.zendeskWrites(mark)).length, 0, 'nothing is created or written in Zendesk');
      const after = await acme.sgUser(customer.sgId);
      assert.equal(after.customFields?.zendesk_userId, String(customer.zdId), 'the pointer keeps the deleted id');
      assert.equal(after.email, before.email);
      assert.equal((await acme.storeganiseWrites(mark)).length, 0, 'the service wrote nothing to Storeganise');

      await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, {
        customFields: { zendesk_userId: null },
      });
      await system.settle(acme.account);
      assert.equal(
        (await acme.zdUsersWithExternalId(customer.sgId)).length,
        0,
        'clearing the pointer alone creates nothing',
      );
      await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { firstName: 'Again' });
      const recreated = await eventually(async () => {
        const [user] = await acme.zdUsersWithExternalId(customer.sgId);
        assert.ok(user, 'no new Zendesk user yet');
        return user;
      });
      assert.notEqual(recreated.id, customer.zdId);
      assert.equal(recreated.name, 'Again Suzuki');
      await eventually(async () =>
        assert.equal((await acme.sgUser(customer.sgId)).customFields?.zendesk_userId, String(recreated.id)),
      );
    });

    it('a Storeganise user whose email an unlinked Zendesk user holds is linked to that user, not duplicated', async () => {
      const email = uniqueEmail('existing');
      const existing = await system.zendesk.client.createUser(acme.account.zendeskSubdomain, {
        name: 'Existing Requester',
        email,
      });
      await system.settle(acme.account);
      const sg = await system.storeganise.client.createUser(acme.account.subdomain, {
        firstName: 'Existing',
        lastName: 'Customer',
        email,
      });
      await eventually(async () =>
        assert.equal((await acme.sgUser(sg.id)).customFields?.zendesk_userId, String(existing.id)),
      );
      await system.settle(acme.account);
      assert.equal((await acme.zdUser(existing.id)).external_id, sg.id);
      assert.equal((await acme.zdUsersWithExternalId(sg.id)).length, 1);
    });
  });
});
