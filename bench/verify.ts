import type { BenchAccount, BenchSystem } from './system';
import type { BenchUser } from './workload';

/**
 * Both sides must hold each user's last edit: Storeganise first/last name, email and phone, and
 * Zendesk `name` ("First Last", the account's format), primary email and phone. Returns one line
 * per difference.
 */
export async function verifyFinalState(system: BenchSystem, account: BenchAccount, users: readonly BenchUser[]): Promise<string[]> {
  const [sgUsers, zdUsers] = await Promise.all([system.storeganise.client.listUsers(account.subdomain), system.zendesk.client.listUsers(account.zendeskSubdomain)]);
  const sgById = new Map(sgUsers.map((u) => [u.id, u]));
  const zdById = new Map(zdUsers.map((u) => [u.id, u]));
  const problems: string[] = [];
  const expect = (where: string, field: string, actual: unknown, wanted: unknown): void => {
    if (actual !== wanted) problems.push(`${where}: ${field} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
  };
  for (const user of users) {
    const sg = sgById.get(user.storeganiseId);
    const zd = zdById.get(user.zendeskId);
    const sgWhere = `user #${user.index} Storeganise ${user.storeganiseId}`;
    const zdWhere = `user #${user.index} Zendesk ${user.zendeskId}`;
    if (!sg) problems.push(`${sgWhere}: missing`);
    else {
      expect(sgWhere, 'firstName', sg.firstName, user.firstName);
      expect(sgWhere, 'lastName', sg.lastName, user.lastName);
      expect(sgWhere, 'email', sg.email.toLowerCase(), user.email);
      expect(sgWhere, 'phone', sg.phone ?? null, user.phone);
    }
    if (!zd) problems.push(`${zdWhere}: missing`);
    else {
      expect(zdWhere, 'name', zd.name, `${user.firstName} ${user.lastName}`);
      expect(zdWhere, 'email', zd.email, user.email);
      expect(zdWhere, 'phone', zd.phone, user.phone);
      expect(zdWhere, 'active', zd.active, true);
    }
  }
  const zendeskUsers = zdUsers.filter((u) => u.role === 'end-user').length;
  if (zendeskUsers !== users.length) problems.push(`Zendesk holds ${zendeskUsers} end users for ${users.length} Storeganise customers`);
  return problems;
}
