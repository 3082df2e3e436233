import { z } from 'zod';

/**
 * Who made a change: `api` is a request to the product-facing API (the sync service writing),
 * `control` is the `/_sandbox` control API (a person editing in the product's UI).
 */
export const ChangeOriginSchema = z.enum(['api', 'control']);
export type ChangeOrigin = z.infer<typeof ChangeOriginSchema>;

/** A user field's value as the sandbox stores it; null when the field has no value. */
export const ChangeValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]);
export type ChangeValue = z.infer<typeof ChangeValueSchema>;

/** One field of one user taking a new value; `userId` is a string on Storeganise, a number on Zendesk. */
export function fieldChangeSchema<Id extends z.ZodType<string | number>>(userId: Id) {
  return z.object({
    /** Per account, from 1, in the order the changes were made. */
    seq: z.number().int(),
    atMs: z.number(),
    /** `atMs` as ISO-8601 with milliseconds. */
    at: z.string(),
    account: z.string(),
    userId,
    /** e.g. `email`, `customFields.zendesk_userId`, `user_fields.customer_status`. */
    field: z.string(),
    value: ChangeValueSchema,
    via: ChangeOriginSchema,
  });
}

export interface FieldChange<Id extends string | number> {
  readonly seq: number;
  readonly atMs: number;
  readonly at: string;
  readonly account: string;
  readonly userId: Id;
  readonly field: string;
  readonly value: ChangeValue;
  readonly via: ChangeOrigin;
}

export const ChangesQuerySchema = z.object({
  sinceSeq: z.coerce.number().int().min(0).optional(),
  userId: z.string().min(1).optional(),
});
export type ChangesQuery = z.infer<typeof ChangesQuerySchema>;

/** What a test oracle replays: every value every user field of one account has held, in order. */
export class FieldChangeLog<Id extends string | number> {
  private readonly entries: Array<FieldChange<Id>> = [];

  constructor(private readonly account: string) {}

  record(userId: Id, atMs: number, via: ChangeOrigin, values: Iterable<readonly [string, ChangeValue]>): void {
    const at = new Date(atMs).toISOString();
    for (const [field, value] of values) {
      // Copied so that a later in-place edit of an array value cannot rewrite this entry.
      const stored = Array.isArray(value) ? [...value] : value;
      this.entries.push({
        seq: this.entries.length + 1,
        atMs,
        at,
        account: this.account,
        userId,
        field,
        value: stored,
        via,
      });
    }
  }

  list(filter: ChangesQuery = {}): Array<FieldChange<Id>> {
    return this.entries.filter(
      (e) =>
        (filter.sinceSeq === undefined || e.seq > filter.sinceSeq) &&
        (filter.userId === undefined || String(e.userId) === filter.userId),
    );
  }
}
