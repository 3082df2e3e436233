import { classify, isWrite, type ApiRequest } from './measure';
import type { BenchAccount, BenchSystem } from './system';
import { FIELDS, phoneNumber, type BenchUser, type Field } from './workload';

/** Zendesk calls caused by one Storeganise edit made while nothing else runs. */
export interface IsolatedEdit {
  field: Field;
  /** Calls from the webhook until the Zendesk write was answered: the edit's own workflow. */
  ownCalls: number;
  /** Every Zendesk call until the sync settled, the echo's reads included. */
  callsWithEcho: number;
  /** `GET /users/:id`, `PUT /users/:id`, ... in order. */
  endpoints: string[];
  writes: number;
}

/**
 * Makes single-field edits in Storeganise one at a time on the otherwise idle system and counts
 * the Zendesk calls each causes. Under load, calls are attributed to edits by user and time; here
 * nothing else runs, so every call in the window belongs to the edit.
 */
export async function probeStoreganiseEdits(
  system: BenchSystem,
  account: BenchAccount,
  users: readonly BenchUser[],
  perField: number,
): Promise<IsolatedEdit[]> {
  const results: IsolatedEdit[] = [];
  let n = 0;
  for (const field of FIELDS) {
    for (let i = 0; i < perField; i++) {
      const user = users[n % users.length] as BenchUser;
      n++;
      const since = (await system.zendesk.client.requests({ account: account.zendeskSubdomain })).lastSeq;
      const madeAtMs = Date.now();
      let key: 'firstName' | 'phone' | 'email';
      if (field === 'name') {
        key = 'firstName';
        user.firstName = `Probe${n}`;
        await system.storeganise.client.updateUser(account.subdomain, user.storeganiseId, {
          firstName: user.firstName,
        });
      } else if (field === 'phone') {
        key = 'phone';
        user.phone = phoneNumber(30_000_000 + n);
        await system.storeganise.client.updateUser(account.subdomain, user.storeganiseId, { phone: user.phone });
      } else {
        key = 'email';
        user.email = `bench-probe-${n}@example.com`;
        await system.storeganise.client.updateUser(account.subdomain, user.storeganiseId, { email: user.email });
      }
      await system.settle(account, 60_000);
      const requests: ApiRequest[] = (
        await system.zendesk.client.requests({ account: account.zendeskSubdomain, sinceSeq: since })
      ).requests;
      const webhook = system.tap.deliveries.find(
        (w) =>
          w.source === 'storeganise' &&
          w.sentAtMs >= madeAtMs &&
          w.userId === user.storeganiseId &&
          w.changedKeys.includes(key),
      );
      const write = requests.find((r) => isWrite(r) && r.status < 300);
      const own = requests.filter(
        (r) => webhook !== undefined && write !== undefined && r.atMs >= webhook.sentAtMs && r.atMs <= write.atMs,
      );
      results.push({
        field,
        ownCalls: own.length,
        callsWithEcho: requests.length,
        endpoints: requests.map((r) => classify('zendesk', r, users).endpoint),
        writes: requests.filter(isWrite).length,
      });
    }
  }
  return results;
}
