/**
 * Mapping between Storeganise's two name fields and Zendesk's single `name`, chosen so that a
 * name mapped across and back compares equal and never causes a write.
 */

export const NAME_FORMATS = ['first_last', 'last_first'] as const;
export type NameFormat = (typeof NAME_FORMATS)[number];

/** Stands in for a last name Zendesk never had, e.g. for a one-word name such as "Cher". */
export const UNKNOWN_LAST_NAME = 'unknown';

export interface PersonName {
  firstName: string;
  lastName: string;
}

/** Trim, and collapse any run of white space (incl. U+3000 ideographic space, tabs, newlines, NBSP) to one ASCII space. */
export function normaliseWhitespace(text: string): string {
  // `\s` with the `u` flag covers the Unicode space separators, so Japanese full-width spaces count too.
  return text.replace(/\s+/gu, ' ').trim();
}

/** Storeganise → Zendesk: "First Last" or "Last First"; a last name equal to `unknown` is left out; empty parts left out; whitespace normalised. */
export function formatZendeskName(
  name: { firstName?: string | null; lastName?: string | null },
  format: NameFormat,
): string {
  const firstName = normaliseWhitespace(name.firstName ?? '');
  const storedLastName = normaliseWhitespace(name.lastName ?? '');
  // The placeholder only marks a missing last name; showing it to agents would also break the round trip.
  const lastName = storedLastName === UNKNOWN_LAST_NAME ? '' : storedLastName;
  const parts = format === 'first_last' ? [firstName, lastName] : [lastName, firstName];
  return parts.filter((part) => part !== '').join(' ');
}

/** Zendesk → Storeganise: normalise, split on spaces; exactly two parts split per format; one part or 3+ parts → all in firstName, lastName `unknown`; empty → null. */
export function splitZendeskName(zendeskName: string | null | undefined, format: NameFormat): PersonName | null {
  const normalised = normaliseWhitespace(zendeskName ?? '');
  if (normalised === '') return null;

  const parts = normalised.split(' ');
  const [first, second] = parts;
  if (parts.length === 2 && first !== undefined && second !== undefined) {
    const split =
      format === 'first_last' ? { firstName: first, lastName: second } : { firstName: second, lastName: first };
    // A real last name of "unknown" would be dropped when formatted back, so such a name is kept whole.
    if (split.lastName !== UNKNOWN_LAST_NAME) return split;
  }
  return { firstName: normalised, lastName: UNKNOWN_LAST_NAME };
}

/** True when the Storeganise name already formats to the (normalised) Zendesk name, so no write is needed in either direction (round-trip stability: e.g. firstName "Mary Ann", lastName "Smith" vs Zendesk "Mary Ann Smith" agree). */
export function namesAgree(
  storeganiseName: { firstName?: string | null; lastName?: string | null },
  zendeskName: string | null | undefined,
  format: NameFormat,
): boolean {
  return formatZendeskName(storeganiseName, format) === normaliseWhitespace(zendeskName ?? '');
}
