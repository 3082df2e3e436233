import { z } from 'zod';

const wholeNumber = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number);

export const LimitSchema = wholeNumber.pipe(z.number().int().min(1).max(1000)).default(100);
export const OffsetSchema = wholeNumber.pipe(z.number().int().min(0)).default(0);

/** `include=customFields,owner`: the related data a caller asks to be embedded. */
export const IncludeSchema = z
  .string()
  .optional()
  .transform(
    (list) =>
      new Set(
        (list ?? '')
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== ''),
      ),
  );

/** Accepts any ISO-8601 timestamp with a zone; compared as an instant. */
export const InstantSchema = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text));

export const page = <T>(items: readonly T[], query: { limit: number; offset: number }): T[] =>
  items.slice(query.offset, query.offset + query.limit);
