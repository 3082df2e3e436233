import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  judgeRun,
  type FieldChange,
  type LinkedPair,
  type PersonEdit,
  type SideStates,
  type SyncedField,
} from '../bench/oracle';
import { isZendeskUserEvent, storeganiseUserEventEffect } from '../domain/events';
import type { FaultSettingsInput } from '../sandbox/common/faults';
import { mulberry32 } from '../sandbox/common/random';
import { customerStatusQuery, customerWorkflowId } from '../workflows/definitions';
import { AccountView, type LinkedCustomer } from './support/customers';
import { TestSystem } from './support/system';

/**
 * The model-based randomized convergence test (issue 8): rounds of random interleavings of edits
 * on both sides of many customers, each round under a different mix of faults (duplicated,
 * reordered and delayed deliveries, a backlog while no worker runs, a slow Storeganise, lost
 * answers, 5xx and 429 with Retry-After). After each round the oracle (bench/oracle.ts) judges
 * what people did against what each side went through: no lost edit, both sides equal, each field
 * on its latest edit, no edit reverted, no write back, one Zendesk user per customer; and every
 * accepted event is accounted for by its customer.
 *
 * Reproduce a run: CONVERGENCE_SEED=<seed> npx mocha test/convergence.test.ts
 */
const SEED = Number(process.env.CONVERGENCE_SEED ?? 20261129);
const ROUNDS = Number(process.env.CONVERGENCE_ROUNDS ?? 8);
const CUSTOMERS = Number(process.env.CONVERGENCE_CUSTOMERS ?? 28);
const FIELDS: readonly SyncedField[] = ['name', 'email', 'phone'];
const LAST_NAME = 'Okabe';
/** The conflict wait of this run: longer than any delivery delay the faults below cause. */
const SETTLE_SECONDS = 8;

type Round = { name: string; storeganise: FaultSettingsInput; zendesk: FaultSettingsInput; backlog: boolean };

const ROUND_KINDS: ReadonlyArray<(seed: number) => Round> = [
  (seed) => ({
    name: 'duplicated and reordered deliveries',
    storeganise: { seed, webhooks: { duplicate: 2, reorderWindowMs: 400 } },
    zendesk: { seed, webhooks: { duplicate: 1, reorderWindowMs: 400 } },
    backlog: false,
  }),
  (seed) => ({
    name: 'delayed deliveries',
    storeganise: { seed, webhooks: { delayMs: { min: 0, max: 2_500 } } },
    zendesk: { seed, webhooks: { delayMs: { min: 0, max: 2_500 } } },
    backlog: false,
  }),
  (seed) => ({
    name: 'a backlog while no worker runs',
    storeganise: { seed, webhooks: { reorderWindowMs: 200 } },
    zendesk: { seed },
    backlog: true,
  }),
  (seed) => ({
    name: 'lost answers and 5xx on both sides',
    storeganise: { seed, lostResponseRate: 0.25, errorRate: 0.2, errorStatus: 502 },
    zendesk: { seed, lostResponseRate: 0.25, errorRate: 0.2, errorStatus: 503 },
    backlog: false,
  }),
  (seed) => ({
    name: '429 bursts with Retry-After and a slow Storeganise',
    storeganise: { seed, latencyMs: 250 },
    zendesk: { seed, force: { status: 429, count: 4, retryAfterSeconds: 1 } },
    backlog: false,
  }),
  (seed) => ({
    name: 'everything at once',
    storeganise: {
      seed,
      lostResponseRate: 0.15,
      errorRate: 0.1,
      webhooks: { duplicate: 1, delayMs: { min: 0, max: 1_500 } },
    },
    zendesk: {
      seed,
      lostResponseRate: 0.15,
      errorRate: 0.1,
      force: { status: 429, count: 2, retryAfterSeconds: 1 },
      webhooks: { duplicate: 1, delayMs: { min: 0, max: 1_500 } },
    },
    backlog: true,
  }),
];

interface PlannedEdit {
  side: 'storeganise' | 'zendesk';
  field: SyncedField;
  /** Wait before the edit, ms. */
  gapMs: number;
}

/** A random interleaving for one customer: 1–4 edits, often the same field on both sides close together. */
function interleaving(random: () => number): PlannedEdit[] {
  const edits: PlannedEdit[] = [];
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) {
    const previous = edits.at(-1);
    const clash = previous !== undefined && random() < 0.45;
    const side = clash
      ? previous.side === 'storeganise'
        ? 'zendesk'
        : 'storeganise'
      : random() < 0.5
        ? 'storeganise'
        : 'zendesk';
    const field = clash ? previous.field : (FIELDS[Math.floor(random() * FIELDS.length)] ?? 'name');
    edits.push({ side, field, gapMs: Math.floor(random() * (clash ? 1_200 : 2_000)) });
  }
  return edits;
}

describe('convergence at any lag (randomized, model-based)', function () {
  this.timeout(30 * 60_000);
  let system: TestSystem;
  let view: AccountView;
  let customers: LinkedCustomer[] = [];
  let unique = 0;

  before(async function () {
    this.timeout(300_000);
    system = await TestSystem.start({ CONFLICT_SETTLE_SECONDS: String(SETTLE_SECONDS) });
    view = new AccountView(
      system,
      await system.addAccount({ settings: { zendesk_statusFieldKey: '' }, statusField: false }),
    );
    customers = [];
    for (let i = 0; i < CUSTOMERS; i += 7) {
      customers.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(7, CUSTOMERS - i) }, (_, j) =>
            view.createLinkedCustomer({
              firstName: `Start${i + j}`,
              lastName: LAST_NAME,
              phone: `090-7000-${String(1000 + i + j)}`,
            }),
          ),
        )),
      );
    }
  });
  after(async () => system?.close());

  const states = async (): Promise<SideStates> => {
    const [sg, zd] = await Promise.all([
      system.storeganise.client.listUsers(view.account.subdomain),
      system.zendesk.client.listUsers(view.account.zendeskSubdomain),
    ]);
    return {
      storeganise: sg.map((u) => ({
        id: u.id,
        firstName: u.firstName,
        lastName: u.lastName,
        email: u.email,
        phone: u.phone ?? null,
      })),
      zendesk: zd.map((u) => ({
        id: u.id,
        name: u.name,
        email: u.email,
        phone: u.phone,
        externalId: u.external_id,
        active: u.active,
        role: u.role,
      })),
    };
  };

  /** Makes one edit as a person would, through the sandbox's admin UI; answers what the edited side shows. */
  async function edit(customer: LinkedCustomer, planned: PlannedEdit): Promise<string> {
    const n = ++unique;
    const { subdomain, zendeskSubdomain } = view.account;
    const first = `Ed${n}x${SEED % 1000}`;
    const phone = `090${String(20_000_000 + n * 7).padStart(8, '0')}`;
    const email = `edit${n}.s${SEED}@example.com`;
    if (planned.side === 'storeganise') {
      const patch = {
        name: { firstName: first },
        email: { email },
        phone: { phone: `${phone.slice(0, 3)}-${phone.slice(3, 7)}-${phone.slice(7)}` },
      }[planned.field];
      await system.storeganise.client.updateUser(subdomain, customer.sgId, patch);
    } else {
      const patch = {
        name: { name: `${first} ${LAST_NAME}` },
        email: { email },
        phone: { phone: `+81${phone.slice(1)}` },
      }[planned.field];
      await system.zendesk.client.updateUser(zendeskSubdomain, customer.zdId, patch);
    }
    return { name: `${first} ${LAST_NAME}`, email, phone: `+81${phone.slice(1)}` }[planned.field];
  }

  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round + 1}: every accepted edit lands and both sides end on the latest edit`, async () => {
      const random = mulberry32(SEED * 1_000 + round);
      const kind = ROUND_KINDS[round % ROUND_KINDS.length];
      assert.ok(kind);
      const faults = kind(SEED + round);
      const scripts = customers.map((customer) => ({ customer, edits: interleaving(random) }));
      const reproduce = `CONVERGENCE_SEED=${SEED} npx mocha test/convergence.test.ts   (round ${round + 1}: ${faults.name})`;

      const [sgChanges, zdChanges] = await Promise.all([
        system.storeganise.client.changes(view.account.subdomain),
        system.zendesk.client.changes(view.account.zendeskSubdomain),
      ]);
      const since = {
        storeganise: Math.max(0, ...sgChanges.map((c) => c.seq)),
        zendesk: Math.max(0, ...zdChanges.map((c) => c.seq)),
      };
      const baseline = await states();
      const eventsBefore = {
        storeganise: (await system.storeganise.client.events(view.account.subdomain)).length,
        zendesk: (await system.zendesk.client.events(view.account.zendeskSubdomain)).length,
      };

      await system.storeganise.client.setFaults(view.account.subdomain, faults.storeganise);
      await system.zendesk.client.setFaults(view.account.zendeskSubdomain, faults.zendesk);
      if (faults.backlog) await system.stopWorker();
      const edits: PersonEdit[] = [];
      try {
        await Promise.all(
          scripts.map(async ({ customer, edits: planned }) => {
            for (const step of planned) {
              await sleep(step.gapMs);
              const value = await edit(customer, step);
              edits.push({ side: step.side, userKey: customer.sgId, field: step.field, value, atMs: Date.now() });
            }
          }),
        );
      } finally {
        if (faults.backlog) {
          await sleep(2_000);
          await system.startWorker();
        }
      }
      // Faults on the sync's own calls stay until the backlog is worked off; deliveries settle either way.
      await system.settle(view.account, 240_000);
      await system.storeganise.client.setFaults(view.account.subdomain, {});
      await system.zendesk.client.setFaults(view.account.zendeskSubdomain, {});
      await system.settle(view.account, 120_000);

      const [sgAfter, zdAfter] = await Promise.all([
        system.storeganise.client.changes(view.account.subdomain, { sinceSeq: since.storeganise }),
        system.zendesk.client.changes(view.account.zendeskSubdomain, { sinceSeq: since.zendesk }),
      ]);
      const pairs: LinkedPair[] = customers.map((c) => ({ userKey: c.sgId, storeganiseId: c.sgId, zendeskId: c.zdId }));
      const changes: { storeganise: FieldChange[]; zendesk: FieldChange[] } = {
        storeganise: sgAfter,
        zendesk: zdAfter,
      };
      const verdict = judgeRun({
        edits,
        pairs,
        baseline,
        final: await states(),
        changes,
        nameFormat: 'first_last',
        defaultCallingCode: '+81',
      });
      const { counts } = verdict;
      // A raced write (the sync's write landing within a second of a person's edit of that field on that record) is reported, not failed: neither API has a conditional write.
      const failures = verdict.findings
        .filter((f) => f.kind !== 'foreignWrite' && f.kind !== 'racedWrite')
        .map((f) => `${f.kind}: ${f.line}`);
      const summary = `${faults.name}: ${edits.length} edits, ${counts.syncWrites ?? '?'} sync writes; lost ${counts.lostEdits}, divergent ${counts.divergentPairs}, differences ${counts.finalStateDifferences}, stale ${counts.staleOverwrites}, raced ${counts.racedWrites}, reverted ${counts.revertedEdits}, writes back ${counts.writesBack}, duplicates ${counts.duplicateUsers}`;
      assert.deepEqual(failures, [], `${summary}\nreproduce: ${reproduce}`);
      assert.equal(counts.lostEdits, 0, summary);
      assert.equal(counts.staleOverwrites, 0, summary);
      assert.equal(counts.writesBack, 0, summary);
      assert.equal(counts.foreignWrites, 0, summary);
      assert.ok(edits.length >= customers.length, 'every customer was edited');

      // Every event the sandboxes sent about these customers is accounted for: a run of its own, or an outcome its customer recorded.
      const sgIds = new Set(customers.map((c) => c.sgId));
      const zdIds = new Map(customers.map((c) => [String(c.zdId), c.sgId]));
      const sent = new Map<string, string>();
      for (const event of (await system.storeganise.client.events(view.account.subdomain)).slice(
        eventsBefore.storeganise,
      )) {
        const userId = typeof event.data.userId === 'string' ? event.data.userId : '';
        const keys = Array.isArray(event.data.changedKeys) ? event.data.changedKeys.map(String) : null;
        if (sgIds.has(userId) && event.sent && storeganiseUserEventEffect(event.type, keys) !== null)
          sent.set(event.id, userId);
      }
      for (const { envelope, webhookIds } of (await system.zendesk.client.events(view.account.zendeskSubdomain)).slice(
        eventsBefore.zendesk,
      )) {
        const sgId = zdIds.get(envelope.detail.id);
        if (sgId !== undefined && webhookIds.length > 0 && isZendeskUserEvent(envelope.type))
          sent.set(envelope.id, sgId);
      }
      const accounted = new Set<string>();
      for (const c of customers) {
        const status = await system.client.workflow
          .getHandle(customerWorkflowId(view.account.subdomain, `sg:${c.sgId}`))
          .query(customerStatusQuery);
        for (const outcome of status.outcomes) accounted.add(outcome.eventId);
      }
      const missing = [...sent.keys()].filter((id) => !accounted.has(id));
      assert.ok(
        sent.size >= edits.length,
        `the sandboxes sent an event per edit at least (${sent.size} for ${edits.length})`,
      );
      assert.deepEqual(missing, [], `every accepted event is accounted for (${faults.name})`);
      console.log(`      ${summary}; ${sent.size} events accounted for`);
      for (const raced of verdict.findings.filter((f) => f.kind === 'racedWrite'))
        console.log(`        raced: ${raced.line}`);
    });
  }
});
