import assert from 'node:assert/strict';
import { EMAIL_CONFLICT_TITLE } from '../domain/tasks';
import { AccountView, startWithAccount, uniqueEmail } from './support/customers';
import { eventually } from './support/eventually';
import { TestSystem } from './support/system';

describe('Zendesk → Storeganise', function () {
  this.timeout(90_000);
  let system: TestSystem;
  let acme: AccountView;

  before(async function () {
    ({ system, acme } = await startWithAccount(this));
  });
  after(async () => system?.close());

  const renameInZendesk = (zdId: number, name: string) =>
    system.zendesk.client.updateUser(acme.account.zendeskSubdomain, zdId, { name });

  for (const [name, firstName, lastName] of [
    ['Ichiro Tanaka', 'Ichiro', 'Tanaka'],
    ['Madonna', 'Madonna', 'unknown'],
    ['Mary Ann Smith', 'Mary Ann Smith', 'unknown'],
  ] as const) {
    it(`a name edited in Zendesk to "${name}" reaches Storeganise as ${firstName} / ${lastName} and causes no write back`, async () => {
      const customer = await acme.createLinkedCustomer();
      const mark = await acme.mark();
      await renameInZendesk(customer.zdId, name);
      await eventually(async () => {
        const sg = await acme.sgUser(customer.sgId);
        assert.deepEqual([sg.firstName, sg.lastName], [firstName, lastName]);
      });
      await system.settle(acme.account);
      assert.equal((await acme.zdUser(customer.zdId)).name, name, 'Zendesk keeps the name as typed');
      assert.equal((await acme.zendeskWrites(mark)).length, 0, 'nothing is written back to Zendesk');
      assert.equal((await acme.storeganiseWrites(mark)).length, 1, 'one write to Storeganise');
    });
  }

  it('the last_first format splits a two-part Zendesk name family name first', async () => {
    const japanese = new AccountView(
      system,
      await system.addAccount({ settings: { zendesk_nameFormat: 'last_first' } }),
    );
    const customer = await japanese.createLinkedCustomer({ firstName: '花子', lastName: '鈴木' });
    assert.equal((await japanese.zdUser(customer.zdId)).name, '鈴木 花子');
    await system.zendesk.client.updateUser(japanese.account.zendeskSubdomain, customer.zdId, { name: '佐藤　花子' });
    await eventually(async () => {
      const sg = await japanese.sgUser(customer.sgId);
      assert.deepEqual([sg.lastName, sg.firstName], ['佐藤', '花子']);
    });
    await system.settle(japanese.account);
    assert.equal(
      (await japanese.zdUser(customer.zdId)).name,
      '佐藤　花子',
      'no write back, even for a different white space',
    );
  });

  it('a primary email changed in Zendesk reaches Storeganise', async () => {
    const customer = await acme.createLinkedCustomer();
    const mark = await acme.mark();
    const newEmail = uniqueEmail('agent-edit');
    await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, customer.zdId, { email: newEmail });
    await eventually(async () => assert.equal((await acme.sgUser(customer.sgId)).email, newEmail));
    await system.settle(acme.account);
    assert.equal((await acme.zendeskWrites(mark)).length, 0, 'nothing is written back to Zendesk');
  });

  it('a Zendesk email taken by another Storeganise customer raises one Email conflict task and overwrites nothing', async () => {
    const customer = await acme.createLinkedCustomer();
    const other = await acme.createLinkedCustomer();
    const otherSg = await acme.sgUser(other.sgId);
    const before = await acme.sgUser(customer.sgId);
    const conflictsBefore = (await acme.tasks(EMAIL_CONFLICT_TITLE)).length;
    // Zendesk frees an address only when its holder is deleted: the other Zendesk user goes, its Storeganise customer stays.
    await system.zendesk.client.deleteUser(acme.account.zendeskSubdomain, other.zdId);
    await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, customer.zdId, { email: otherSg.email });
    await eventually(async () => assert.equal((await acme.tasks(EMAIL_CONFLICT_TITLE)).length, conflictsBefore + 1));
    await system.settle(acme.account);

    const [task] = (await acme.tasks(EMAIL_CONFLICT_TITLE)).slice(conflictsBefore);
    const desc = String(task?.data.desc);
    for (const id of [otherSg.email, customer.sgId, String(customer.zdId), other.sgId])
      assert.ok(desc.includes(id), `the task names ${id}: ${desc}`);
    assert.equal((await acme.sgUser(customer.sgId)).email, before.email, 'the Storeganise email is unchanged');
    assert.equal((await acme.sgUser(other.sgId)).email, otherSg.email, 'the other customer is untouched');
    assert.equal((await acme.tasks(EMAIL_CONFLICT_TITLE)).length, conflictsBefore + 1, 'exactly one task');
  });

  it('a phone changed in Zendesk, local or international, reaches Storeganise as E.164', async () => {
    const customer = await acme.createLinkedCustomer({ phone: '090-1212-3434' });
    for (const [entered, e164] of [
      ['0467 89 01 23', '+81467890123'],
      ['+1 (415) 555-2671', '+14155552671'],
    ] as const) {
      await system.zendesk.client.updateUser(acme.account.zendeskSubdomain, customer.zdId, { phone: entered });
      await eventually(async () => assert.equal((await acme.sgUser(customer.sgId)).phone, e164));
    }
    await system.settle(acme.account);
    assert.equal(
      (await acme.zdUser(customer.zdId)).phone,
      '+1 (415) 555-2671',
      'Zendesk keeps what the agent typed: nothing is written back',
    );
  });

  it('a second Zendesk phone and a second email reach zendesk_otherPhones and zendesk_otherEmails', async () => {
    const customer = await acme.createLinkedCustomer({ phone: '090-5656-7878' });
    const secondEmail = uniqueEmail('second');
    await system.zendesk.client.addIdentity(acme.account.zendeskSubdomain, customer.zdId, {
      type: 'phone_number',
      value: '03-5555-0100',
    });
    await system.zendesk.client.addIdentity(acme.account.zendeskSubdomain, customer.zdId, {
      type: 'email',
      value: secondEmail,
    });
    await eventually(async () => {
      const sg = await acme.sgUser(customer.sgId);
      assert.deepEqual(sg.customFields?.zendesk_otherPhones, ['+81355550100']);
      assert.deepEqual(sg.customFields?.zendesk_otherEmails, [secondEmail]);
    });
    await system.settle(acme.account);
    const sg = await acme.sgUser(customer.sgId);
    assert.equal(sg.phone, '090-5656-7878', 'the primary phone is untouched');
  });

  it('a Zendesk user created with the email of an unlinked Storeganise customer is linked, never the reverse creation', async () => {
    const email = uniqueEmail('walk-in');
    const mark = await acme.mark();
    const requester = await system.zendesk.client.createUser(acme.account.zendeskSubdomain, {
      name: 'Walk In',
      email: uniqueEmail('requester'),
    });
    await system.settle(acme.account);
    assert.equal(
      (await system.storeganise.client.listUsers(acme.account.subdomain)).filter((u) => u.email === requester.email)
        .length,
      0,
      'a Zendesk requester never becomes a Storeganise customer',
    );
    assert.equal((await acme.storeganiseWrites(mark)).length, 0);

    // A customer created while Zendesk is unreachable for it: only the email ties the two.
    const sg = await system.storeganise.client.createUser(acme.account.subdomain, {
      firstName: 'Walk',
      lastName: 'In',
      email,
    });
    await eventually(async () => assert.ok((await acme.sgUser(sg.id)).customFields?.zendesk_userId));
    await system.settle(acme.account);
    const linkedZd = Number((await acme.sgUser(sg.id)).customFields?.zendesk_userId);
    assert.equal((await acme.zdUser(linkedZd)).external_id, sg.id);
  });

  it('an edit in Storeganise made while the echo of an earlier write is in flight is not undone', async () => {
    const customer = await acme.createLinkedCustomer({ phone: '090-7777-0001' });
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { phone: '090-7777-0002' });
    await eventually(async () => assert.equal((await acme.zdUser(customer.zdId)).phone, '+819077770002'));
    // The Zendesk echo of that write races with this newer edit.
    await system.storeganise.client.updateUser(acme.account.subdomain, customer.sgId, { phone: '090-7777-0003' });
    await system.settle(acme.account);
    assert.equal((await acme.sgUser(customer.sgId)).phone, '090-7777-0003');
    assert.equal((await acme.zdUser(customer.zdId)).phone, '+819077770003');
  });
});
