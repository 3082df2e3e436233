import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchAccount, BenchSystem } from './system';

export type Side = 'storeganise' | 'zendesk';
export type Field = 'name' | 'phone' | 'email';
export const FIELDS: readonly Field[] = ['name', 'phone', 'email'];

/** A seeded, linked pair and the state both sides must end in. */
export interface BenchUser {
  index: number;
  storeganiseId: string;
  zendeskId: number;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
}

/** One single-field edit, made as a person would through the sandbox's control API. */
export interface Change {
  index: number;
  user: BenchUser;
  side: Side;
  field: Field;
  /** The Storeganise key edited (`firstName`, `lastName`, `phone`, `email`). */
  storeganiseKey: 'firstName' | 'lastName' | 'phone' | 'email';
  /** Epoch ms just before the control request went out, and when it was answered. */
  madeAtMs: number;
  answeredAtMs: number;
  /** When the edit was due by the schedule; `madeAtMs - scheduledAtMs` is the generator's lag. */
  scheduledAtMs: number;
  error: string | null;
}

const FIRST_NAMES = [
  'Aiko',
  'Ben',
  'Chloe',
  'Daiki',
  'Emma',
  'Finn',
  'Grace',
  'Haruto',
  'Isla',
  'Jun',
  'Kenta',
  'Lena',
  'Mio',
  'Noah',
  'Olivia',
  'Ren',
];
const LAST_NAMES = [
  'Sato',
  'Suzuki',
  'Takahashi',
  'Tanaka',
  'Watanabe',
  'Ito',
  'Smith',
  'Jones',
  'Brown',
  'Taylor',
  'Wilson',
  'Evans',
];

/** A mobile number valid for Japan (the account's +81), distinct for every `n` below 90 million. */
export const phoneNumber = (n: number): string => `+8190${String(10_000_000 + n).slice(-8)}`;

/** Mulberry32: small, fast and deterministic, so the same seed fires the same edit mix. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function inBatches<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

/**
 * Creates `count` Storeganise customers and lets the sync create and link their Zendesk users;
 * resolves once every pair is linked both ways and the echoes have settled.
 */
export async function seedLinkedUsers(
  system: BenchSystem,
  account: BenchAccount,
  count: number,
  log: (line: string) => void,
): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  const indexes = Array.from({ length: count }, (_, i) => i);
  await inBatches(indexes, 10, async (index) => {
    const firstName = FIRST_NAMES[index % FIRST_NAMES.length] ?? 'Aiko';
    const lastName = LAST_NAMES[index % LAST_NAMES.length] ?? 'Sato';
    const email = `bench-${index}@example.com`;
    const phone = phoneNumber(50_000_000 + index);
    const created = await system.storeganise.client.createUser(account.subdomain, {
      email,
      firstName,
      lastName,
      phone,
    });
    users[index] = { index, storeganiseId: created.id, zendeskId: 0, firstName, lastName, email, phone };
  });
  const deadline = Date.now() + 60_000 + count * 1_000;
  let linked = 0;
  for (;;) {
    const [sgUsers, zdUsers] = await Promise.all([
      system.storeganise.client.listUsers(account.subdomain),
      system.zendesk.client.listUsers(account.zendeskSubdomain),
    ]);
    const zendeskByExternalId = new Map(
      zdUsers.filter((u) => u.active && u.external_id).map((u) => [String(u.external_id).toLowerCase(), u]),
    );
    const sgById = new Map(sgUsers.map((u) => [u.id, u]));
    linked = 0;
    for (const user of users) {
      const pointer = sgById.get(user.storeganiseId)?.customFields?.zendesk_userId;
      const zd = zendeskByExternalId.get(user.storeganiseId.toLowerCase());
      if (typeof pointer === 'string' && zd && String(zd.id) === pointer) {
        user.zendeskId = zd.id;
        linked++;
      }
    }
    if (linked === count) break;
    if (Date.now() > deadline) throw new Error(`only ${linked} of ${count} seeded users got linked`);
    log(`  linked ${linked}/${count} ...`);
    await sleep(1_000);
  }
  await system.settle(account, 120_000);
  return users;
}

/** The next edit: which user, which side, which field, and the new value. */
interface PlannedEdit {
  user: BenchUser;
  side: Side;
  field: Field;
  storeganiseKey: Change['storeganiseKey'];
  apply: (system: BenchSystem, account: BenchAccount) => Promise<void>;
}

/**
 * Plans the edits: users in turn (so each one is edited every `users / rate` seconds), the side
 * drawn with the Zendesk share, the field cycling per user through name, phone and email. Each
 * plan updates the expected final state of its user.
 */
export function planEdits(users: BenchUser[], count: number, zendeskShare: number, seed: number): PlannedEdit[] {
  const next = random(seed);
  const perUser = new Map<number, number>();
  const edits: PlannedEdit[] = [];
  for (let k = 0; k < count; k++) {
    const user = users[k % users.length] as BenchUser;
    const round = perUser.get(user.index) ?? 0;
    perUser.set(user.index, round + 1);
    const side: Side = next() < zendeskShare ? 'zendesk' : 'storeganise';
    const field = FIELDS[(user.index + round) % FIELDS.length] as Field;
    const sg = (patch: Record<string, string>) => (system: BenchSystem, account: BenchAccount) =>
      system.storeganise.client.updateUser(account.subdomain, user.storeganiseId, patch).then(() => undefined);
    const zd = (patch: Record<string, string>) => (system: BenchSystem, account: BenchAccount) =>
      system.zendesk.client.updateUser(account.zendeskSubdomain, user.zendeskId, patch).then(() => undefined);
    switch (field) {
      case 'name': {
        // One Storeganise key at a time; in Zendesk the one `name` changes in the matching part.
        const first = round % 2 === 0;
        const value = first
          ? `${FIRST_NAMES[k % FIRST_NAMES.length] ?? 'Aiko'}${k}`
          : `${LAST_NAMES[k % LAST_NAMES.length] ?? 'Sato'}${k}`;
        if (first) user.firstName = value;
        else user.lastName = value;
        const name = `${user.firstName} ${user.lastName}`;
        const storeganiseKey = first ? 'firstName' : 'lastName';
        edits.push({
          user,
          side,
          field,
          storeganiseKey,
          apply: side === 'zendesk' ? zd({ name }) : sg({ [storeganiseKey]: value }),
        });
        break;
      }
      case 'phone': {
        user.phone = phoneNumber(k);
        edits.push({
          user,
          side,
          field,
          storeganiseKey: 'phone',
          apply: side === 'zendesk' ? zd({ phone: user.phone }) : sg({ phone: user.phone }),
        });
        break;
      }
      case 'email': {
        user.email = `bench-${user.index}-${k}@example.com`;
        edits.push({
          user,
          side,
          field,
          storeganiseKey: 'email',
          apply: side === 'zendesk' ? zd({ email: user.email }) : sg({ email: user.email }),
        });
        break;
      }
    }
  }
  return edits;
}

/**
 * Fires the edits open loop at `rate` per second: each one is due at `start + k / rate` whether or
 * not earlier ones have been synced. Edits of one user are still made in order. With `stop`, no
 * edit is made once it answers true (the rest of the plan is left unmade).
 */
export async function fireEdits(
  system: BenchSystem,
  account: BenchAccount,
  edits: PlannedEdit[],
  rate: number,
  stop?: () => boolean,
): Promise<Change[]> {
  const changes: Change[] = [];
  const lastOfUser = new Map<number, Promise<void>>();
  const start = Date.now() + 50;
  const inFlight: Array<Promise<void>> = [];
  for (let k = 0; k < edits.length; k++) {
    if (stop?.() === true) break;
    const edit = edits[k] as PlannedEdit;
    const scheduledAtMs = start + (k * 1000) / rate;
    const wait = scheduledAtMs - Date.now();
    if (wait > 0) await sleep(wait);
    const change: Change = {
      index: k,
      user: edit.user,
      side: edit.side,
      field: edit.field,
      storeganiseKey: edit.storeganiseKey,
      madeAtMs: 0,
      answeredAtMs: 0,
      scheduledAtMs,
      error: null,
    };
    changes.push(change);
    const previous = lastOfUser.get(edit.user.index) ?? Promise.resolve();
    const made = previous.then(async () => {
      change.madeAtMs = Date.now();
      try {
        await edit.apply(system, account);
      } catch (err) {
        change.error = err instanceof Error ? err.message : String(err);
      }
      change.answeredAtMs = Date.now();
    });
    lastOfUser.set(edit.user.index, made);
    inFlight.push(made);
  }
  await Promise.all(inFlight);
  return changes;
}
