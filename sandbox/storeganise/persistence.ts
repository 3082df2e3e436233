import { z } from 'zod';
import { FieldChangeLog } from '../common/change-log';
import { UnreadableStateFile } from '../common/state-file';
import {
  AddonStateSchema,
  CustomFieldModelSchema,
  CustomFieldTitleSchema,
  CustomFieldTypeSchema,
  CustomFieldValuesSchema,
  OwnerAclSchema,
  RentalStateSchema,
} from './records';
import type { Account, AccountRegistry } from './state';

// The records a restarted Storeganise sandbox needs to carry on where it stopped: accounts with
// their add-on settings and keys, users (custom fields included), rentals, jobs and custom-field
// definitions. The event list, the change log, the request log and faults start empty.

const SNAPSHOT_VERSION = 1;

const UserSchema = z.object({
  id: z.string(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  phone: z.string().optional(),
  language: z.string(),
  disabled: z.boolean(),
  customFields: CustomFieldValuesSchema,
  created: z.string(),
  updated: z.string(),
});

const RentalSchema = z.object({
  id: z.string(),
  unitId: z.string(),
  siteId: z.string(),
  ownerId: z.string(),
  state: RentalStateSchema,
  startDate: z.string(),
  endDate: z.string().optional(),
  moveInJobId: z.string().optional(),
  price: z.number(),
  deposit: z.number(),
  customFields: CustomFieldValuesSchema,
  created: z.string(),
  updated: z.string(),
});

const JobSchema = z.object({
  id: z.string(),
  type: z.string(),
  state: z.string(),
  ownerId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  result: z.record(z.string(), z.unknown()).optional(),
  steps: z
    .array(
      z.object({
        id: z.string(),
        type: z.string(),
        state: z.string(),
        completedAt: z.string().optional(),
        result: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .optional(),
  created: z.string(),
  updated: z.string(),
});

const CustomFieldSchema = z.object({
  id: z.string(),
  model: CustomFieldModelSchema,
  code: z.string(),
  type: CustomFieldTypeSchema,
  title: CustomFieldTitleSchema,
  ownerAcl: OwnerAclSchema,
  created: z.string(),
});

const StoreganiseSnapshotSchema = z.object({
  version: z.literal(SNAPSHOT_VERSION),
  accounts: z.array(
    z.object({
      subdomain: z.string(),
      addonId: z.string(),
      addonApiKey: z.string(),
      adminApiKey: z.string().nullable(),
      addonState: AddonStateSchema,
      webhookUrl: z.string().nullable(),
      webhookSecret: z.string(),
      settings: z.record(z.string(), z.unknown()),
      siteId: z.string(),
      created: z.string(),
      settingsUpdated: z.string(),
      users: z.array(UserSchema),
      rentals: z.array(RentalSchema),
      jobs: z.array(JobSchema),
      customFields: z.array(CustomFieldSchema),
    }),
  ),
});
type StoreganiseSnapshot = z.infer<typeof StoreganiseSnapshotSchema>;

export function storeganiseSnapshot(registry: AccountRegistry): StoreganiseSnapshot {
  return {
    version: SNAPSHOT_VERSION,
    accounts: registry.list().map((account) => ({
      subdomain: account.subdomain,
      addonId: account.addonId,
      addonApiKey: account.addonApiKey,
      adminApiKey: account.adminApiKey,
      addonState: account.addonState,
      webhookUrl: account.webhookUrl,
      webhookSecret: account.webhookSecret,
      settings: account.settings,
      siteId: account.siteId,
      created: account.created,
      settingsUpdated: account.settingsUpdated,
      users: [...account.users.values()],
      rentals: [...account.rentals.values()],
      jobs: [...account.jobs.values()],
      customFields: [...account.customFields],
    })),
  };
}

/** Replaces whatever the sandbox holds with a snapshot read from `file`. */
export function restoreStoreganise(registry: AccountRegistry, raw: unknown, file: string): void {
  const parsed = StoreganiseSnapshotSchema.safeParse(raw);
  if (!parsed.success)
    throw new UnreadableStateFile(
      file,
      `not a Storeganise sandbox snapshot: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`,
    );
  registry.clear();
  for (const saved of parsed.data.accounts) {
    const account: Account = {
      ...saved,
      users: new Map(saved.users.map((user) => [user.id, { ...user, phone: user.phone }])),
      rentals: new Map(
        saved.rentals.map((rental) => [
          rental.id,
          { ...rental, endDate: rental.endDate, moveInJobId: rental.moveInJobId },
        ]),
      ),
      jobs: new Map(saved.jobs.map((job) => [job.id, { ...job, result: job.result, steps: job.steps }])),
      customFields: saved.customFields,
      events: [],
      changes: new FieldChangeLog(saved.subdomain),
    };
    registry.restore(account);
  }
}
