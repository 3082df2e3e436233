import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SandboxSgUser } from '../../sandbox/storeganise/client';
import type { SandboxZendeskUser } from '../../sandbox/zendesk/client';
import { eventually } from './eventually';
import { TestSystem, type TestAccount } from './system';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const uniqueEmail = (who = 'customer'): string => `${who}.${randomBytes(4).toString('hex')}@example.com`;

export interface LinkedCustomer {
  sgId: string;
  zdId: number;
}

/** The test's view of one account: both sides' records and the calls the service made. */
export class AccountView {
  constructor(
    readonly system: TestSystem,
    readonly account: TestAccount,
  ) {}

  sgUser(id: string): Promise<SandboxSgUser> {
    return this.system.storeganise.client.getUser(this.account.subdomain, id);
  }

  zdUser(id: number): Promise<SandboxZendeskUser> {
    return this.system.zendesk.client.getUser(this.account.zendeskSubdomain, id);
  }

  async zdUsersWithExternalId(sgId: string): Promise<SandboxZendeskUser[]> {
    return (await this.system.zendesk.client.listUsers(this.account.zendeskSubdomain)).filter(
      (u) => u.external_id === sgId,
    );
  }

  /** A Storeganise customer created by an admin, synced to a new Zendesk user, with every echo settled. */
  async createLinkedCustomer(
    input: { firstName?: string; lastName?: string; email?: string; phone?: string } = {},
  ): Promise<LinkedCustomer> {
    const sg = await this.system.storeganise.client.createUser(this.account.subdomain, {
      firstName: input.firstName ?? 'Hanako',
      lastName: input.lastName ?? 'Suzuki',
      email: input.email ?? uniqueEmail(),
      ...(input.phone ? { phone: input.phone } : {}),
    });
    const zdId = await eventually(async () => {
      const linked = (await this.sgUser(sg.id)).customFields?.zendesk_userId;
      assert.equal(typeof linked, 'string', 'the Storeganise user is not linked yet');
      return Number(linked);
    });
    await this.system.settle(this.account);
    return { sgId: sg.id, zdId };
  }

  /** Request-log positions, to count only what happens after them. */
  async mark(): Promise<{ zendesk: number; storeganise: number }> {
    const [zd, sg] = await Promise.all([
      this.system.zendesk.client.requests({ account: this.account.zendeskSubdomain }),
      this.system.storeganise.client.requests({ account: this.account.subdomain }),
    ]);
    return { zendesk: zd.lastSeq, storeganise: Math.max(0, ...sg.map((r) => r.seq)) };
  }

  async zendeskRequests(since: { zendesk: number }) {
    return (
      await this.system.zendesk.client.requests({ account: this.account.zendeskSubdomain, sinceSeq: since.zendesk })
    ).requests;
  }

  async storeganiseRequests(since: { storeganise: number }) {
    return this.system.storeganise.client.requests({ account: this.account.subdomain, sinceSeq: since.storeganise });
  }

  /** Writes to Zendesk users and identities since the mark (not webhooks, not tokens). */
  async zendeskWrites(since: { zendesk: number }) {
    return (await this.zendeskRequests(since)).filter(
      (r) => WRITE_METHODS.has(r.method) && /\/api\/v2\/users/.test(r.path),
    );
  }

  /** Writes to Storeganise users since the mark (admin tasks are counted separately). */
  async storeganiseWrites(since: { storeganise: number }) {
    return (await this.storeganiseRequests(since)).filter(
      (r) => WRITE_METHODS.has(r.method) && /\/v1\/admin\/users/.test(r.path),
    );
  }

  async tasks(title: string) {
    return this.system.tasks(this.account, title);
  }
}

/** For a `before` hook: a fresh system with one authorized account. */
export async function startWithAccount(context: Mocha.Context): Promise<{ system: TestSystem; acme: AccountView }> {
  context.timeout(180_000);
  const system = await TestSystem.start();
  return { system, acme: new AccountView(system, await system.addAccount()) };
}
