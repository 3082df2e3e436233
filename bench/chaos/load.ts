import { setTimeout as sleep } from 'node:timers/promises';
import { formatZendeskName } from '../../domain/names';
import { mulberry32, type Random } from '../../sandbox/common/random';
import type { SandboxInstallation } from '../../sandbox/installation';
import type { LinkedPair, PersonEdit, Side, SyncedField } from '../oracle';
import { eventually, NAME_FORMAT, type ChaosSystem } from './system';

/** A seeded customer and its linked Zendesk user. */
export interface ChaosUser extends LinkedPair {
  index: number;
  zendeskId: number;
}

/** An edit the generator made; `error` when the control request failed (then it is not judged). */
export interface MadeEdit extends PersonEdit {
  /** Part of a deliberate same-field edit on both sides within a few seconds. */
  twoSided: boolean;
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
const FIELDS: readonly SyncedField[] = ['name', 'email', 'phone'];

const pick = <T>(items: readonly T[], random: Random): T => items[Math.floor(random() * items.length)] as T;

/** A Japanese mobile number (the account's +81), distinct for every `n` below 90 million. */
const mobileDigits = (n: number): string => `90${String(10_000_000 + n).slice(-8)}`;

/**
 * Creates the customers in Storeganise and waits until the sync has created and linked their
 * Zendesk users both ways (pointer in Storeganise, `external_id` in Zendesk).
 */
export async function seedLinkedUsers(
  system: ChaosSystem,
  account: SandboxInstallation,
  count: number,
  note: (line: string) => void,
): Promise<ChaosUser[]> {
  const created: Array<{ index: number; id: string }> = [];
  for (let index = 0; index < count; index++) {
    const user = await system.storeganise.client.createUser(account.subdomain, {
      email: `chaos-${index}@example.com`,
      firstName: `${FIRST_NAMES[index % FIRST_NAMES.length] ?? 'Aiko'}S${index}`,
      lastName: `${LAST_NAMES[index % LAST_NAMES.length] ?? 'Sato'}S${index}`,
      phone: `+81${mobileDigits(50_000_000 + index)}`,
    });
    created.push({ index, id: user.id });
  }
  return eventually(
    `${count} seeded customers to be linked`,
    async () => {
      const [sgUsers, zdUsers] = await Promise.all([
        system.storeganise.client.listUsers(account.subdomain),
        system.zendesk.client.listUsers(account.zendeskSubdomain),
      ]);
      const zendeskByExternalId = new Map(
        zdUsers.filter((u) => u.active && u.external_id).map((u) => [String(u.external_id).toLowerCase(), u]),
      );
      const pointers = new Map(sgUsers.map((u) => [u.id, u.customFields?.zendesk_userId]));
      const linked = created.flatMap(({ index, id }) => {
        const zd = zendeskByExternalId.get(id.toLowerCase());
        return zd && pointers.get(id) === String(zd.id)
          ? [{ index, userKey: `u${index}`, storeganiseId: id, zendeskId: zd.id }]
          : [];
      });
      if (linked.length < count) note(`  linked ${linked.length}/${count} ...`);
      return linked.length === count ? linked : null;
    },
    120_000 + count * 2_000,
  );
}

/** One planned edit: which user, side and field, and the request that makes it. */
interface PlannedEdit {
  user: ChaosUser;
  side: Side;
  field: SyncedField;
  twoSided: boolean;
}

/**
 * Random single-field edits on both sides, made as people make them (through the sandboxes'
 * control APIs), each with a value used nowhere else in the run, plus a few same-field edits of
 * one user on both sides within a couple of seconds every minute. Edits of one user on one side
 * are made one after the other, as one person would.
 */
export class EditLoad {
  readonly edits: MadeEdit[] = [];
  private readonly random: Random;
  private counter = 0;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly system: ChaosSystem,
    private readonly account: SandboxInstallation,
    private readonly users: readonly ChaosUser[],
    seed: number,
  ) {
    this.random = mulberry32(seed ^ 0x5eed_ed17);
  }

  /** Fires `rate` edits per second (open loop) and a two-sided conflict every `conflictEveryMs`, until `untilMs`. */
  async run(options: { rate: number; conflictEveryMs: number; untilMs: number }): Promise<void> {
    const start = Date.now();
    let fired = 0;
    let conflicts = 0;
    for (;;) {
      const nextEdit = start + (fired * 1000) / options.rate;
      const nextConflict = start + (conflicts + 0.5) * options.conflictEveryMs;
      const next = Math.min(nextEdit, nextConflict);
      if (next >= options.untilMs) break;
      await sleep(Math.max(0, next - Date.now()));
      if (next === nextEdit) {
        fired++;
        this.fire({
          user: pick(this.users, this.random),
          side: this.random() < 0.5 ? 'storeganise' : 'zendesk',
          field: pick(FIELDS, this.random),
          twoSided: false,
        });
      } else {
        conflicts++;
        this.fireConflict();
      }
    }
    await Promise.all([...this.inFlight]);
  }

  /** The same field of one user edited on both sides, the second edit 0–2.5 s after the first: within and beyond the 1 s tolerance. */
  private fireConflict(): void {
    const user = pick(this.users, this.random);
    const field = pick(FIELDS, this.random);
    const first: Side = this.random() < 0.5 ? 'storeganise' : 'zendesk';
    const gapMs = Math.floor(this.random() * 2_500);
    this.fire({ user, side: first, field, twoSided: true });
    const second = sleep(gapMs).then(() =>
      this.fire({ user, side: first === 'storeganise' ? 'zendesk' : 'storeganise', field, twoSided: true }),
    );
    this.track(second);
  }

  private fire(plan: PlannedEdit): void {
    const chainKey = `${plan.user.userKey}:${plan.side}`;
    const previous = this.chains.get(chainKey) ?? Promise.resolve();
    const made = previous.then(() => this.make(plan));
    this.chains.set(chainKey, made);
    this.track(made);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async make(plan: PlannedEdit): Promise<void> {
    const k = ++this.counter;
    const atMs = Date.now();
    const edit: MadeEdit = {
      side: plan.side,
      userKey: plan.user.userKey,
      field: plan.field,
      value: '',
      atMs,
      twoSided: plan.twoSided,
      error: null,
    };
    this.edits.push(edit);
    try {
      edit.value = plan.side === 'storeganise' ? await this.editStoreganise(plan, k) : await this.editZendesk(plan, k);
    } catch (err) {
      edit.error = err instanceof Error ? err.message : String(err);
    }
  }

  /** Returns the field as Storeganise shows it after the edit (a name as first and last joined in the account's format). */
  private async editStoreganise(plan: PlannedEdit, k: number): Promise<string> {
    const { client } = this.system.storeganise;
    const id = plan.user.storeganiseId;
    switch (plan.field) {
      case 'name': {
        // One name part at a time, as a person fixing a first or a last name would.
        const patch =
          this.random() < 0.5
            ? { firstName: `${pick(FIRST_NAMES, this.random)}${k}` }
            : { lastName: `${pick(LAST_NAMES, this.random)}${k}` };
        const user = await client.updateUser(this.account.subdomain, id, patch);
        return formatZendeskName(user, NAME_FORMAT);
      }
      case 'email': {
        const email = `chaos-${plan.user.index}-${k}@example.com`;
        await client.updateUser(this.account.subdomain, id, { email });
        return email;
      }
      case 'phone': {
        // A third typed in the local format, which the sync must compare and write as E.164.
        const digits = mobileDigits(k);
        const phone =
          this.random() < 0.3 ? `0${digits.slice(0, 2)}-${digits.slice(2, 6)}-${digits.slice(6)}` : `+81${digits}`;
        await client.updateUser(this.account.subdomain, id, { phone });
        return phone;
      }
    }
  }

  private async editZendesk(plan: PlannedEdit, k: number): Promise<string> {
    const { client } = this.system.zendesk;
    const value =
      plan.field === 'name'
        ? this.zendeskName(k)
        : plan.field === 'email'
          ? `chaos-${plan.user.index}-${k}@example.com`
          : this.zendeskPhone(k);
    await client.updateUser(this.account.zendeskSubdomain, plan.user.zendeskId, { [plan.field]: value });
    return value;
  }

  /** Mostly "First Last"; sometimes one word or three, which Storeganise holds as firstName with lastName `unknown`. */
  private zendeskName(k: number): string {
    const first = `${pick(FIRST_NAMES, this.random)}${k}`;
    const last = `${pick(LAST_NAMES, this.random)}${k}`;
    const shape = this.random();
    if (shape < 0.05) return first;
    if (shape < 0.1) return `${first} Ann ${last}`;
    return `${first} ${last}`;
  }

  private zendeskPhone(k: number): string {
    const digits = mobileDigits(k);
    return this.random() < 0.2 ? `+81 ${digits.slice(0, 2)} ${digits.slice(2, 6)} ${digits.slice(6)}` : `+81${digits}`;
  }
}
