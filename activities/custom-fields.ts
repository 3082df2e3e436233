import { USER_CUSTOM_FIELDS, type StoreganiseClient } from '../adapters/storeganise';

/**
 * Creates whichever of the sync's three read-only user fields Storeganise lacks (idempotent): on
 * activation, and again when a write is refused because one was deleted or never survived a reset.
 */
export async function ensureUserCustomFields(sg: StoreganiseClient): Promise<string[]> {
  const existing = new Set(await sg.listUserCustomFieldCodes());
  const created: string[] = [];
  for (const field of USER_CUSTOM_FIELDS) {
    if (existing.has(field.code)) continue;
    await sg.createUserCustomField(field);
    created.push(field.code);
  }
  return created;
}
