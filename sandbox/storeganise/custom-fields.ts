import { Router } from 'express';
import { z } from 'zod';
import { requestAccount } from './auth';
import { SgApiError, parseInput } from './errors';
import {
  CustomFieldModelSchema,
  CustomFieldTitleSchema,
  CustomFieldTypeSchema,
  CustomFieldValueSchema,
  OwnerAclSchema,
  type CustomFieldModel,
  type CustomFieldValue,
  type CustomFieldValues,
  type SandboxCustomField,
} from './records';
import { newObjectId, nowIso, type Account, type CustomFieldDefinition } from './state';

/** A write to custom fields: keys given are set, `null` clears a key, keys not given are kept. */
export const CustomFieldPatchSchema = z.record(z.string(), z.union([CustomFieldValueSchema, z.null()]));
export type CustomFieldPatch = z.infer<typeof CustomFieldPatchSchema>;

export const NewCustomFieldSchema = z.object({
  model: CustomFieldModelSchema,
  code: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must start with a letter and hold only letters, digits and _'),
  type: CustomFieldTypeSchema,
  title: CustomFieldTitleSchema,
  ownerAcl: OwnerAclSchema.default('none'),
});
export type NewCustomField = z.input<typeof NewCustomFieldSchema>;

const ListCustomFieldsQuerySchema = z.object({ model: CustomFieldModelSchema.optional() });

export function listCustomFields(account: Account, model?: CustomFieldModel): CustomFieldDefinition[] {
  return account.customFields.filter((field) => model === undefined || field.model === model);
}

export function createCustomField(
  account: Account,
  input: z.infer<typeof NewCustomFieldSchema>,
): CustomFieldDefinition {
  if (account.customFields.some((field) => field.model === input.model && field.code === input.code)) {
    throw new SgApiError(409, `Custom field "${input.code}" already exists for ${input.model}`);
  }
  const field: CustomFieldDefinition = { id: newObjectId(), ...input, created: nowIso() };
  account.customFields.push(field);
  return field;
}

/**
 * Deletes a definition, as an admin can in the settings; the values records held under its code go
 * with it, and no webhook is sent (no record was edited).
 */
export function deleteCustomField(account: Account, model: CustomFieldModel, code: string): void {
  const index = account.customFields.findIndex((field) => field.model === model && field.code === code);
  if (index < 0) throw new SgApiError(404, `Custom field not found: ${model}.${code}`);
  account.customFields.splice(index, 1);
  const records = model === 'user' ? account.users.values() : model === 'unitRental' ? account.rentals.values() : [];
  for (const record of records) delete record.customFields[code];
}

export const customFieldView = (field: CustomFieldDefinition): SandboxCustomField => ({ ...field });

function valueMatchesType(field: CustomFieldDefinition, value: CustomFieldValue): boolean {
  switch (field.type) {
    case 'string':
      return typeof value === 'string';
    case 'array':
      return Array.isArray(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number';
    case 'date':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value));
  }
}

const sameValue = (a: CustomFieldValue | undefined, b: CustomFieldValue | undefined): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

/**
 * Merges a custom-field write into the current values of a record of `model`. Unknown codes and
 * values of the wrong type are refused as a whole, so a bad write changes nothing.
 */
export function mergeCustomFields(
  account: Account,
  model: CustomFieldModel,
  current: CustomFieldValues,
  patch: CustomFieldPatch,
): { values: CustomFieldValues; changedKeys: string[] } {
  const values: CustomFieldValues = { ...current };
  const changedKeys: string[] = [];
  for (const [code, value] of Object.entries(patch)) {
    const field = account.customFields.find((f) => f.model === model && f.code === code);
    if (!field) throw new SgApiError(400, `Unknown custom field for ${model}: ${code}`);
    if (value !== null && !valueMatchesType(field, value)) {
      throw new SgApiError(400, `Custom field ${code} expects a value of type ${field.type}`);
    }
    if (sameValue(values[code], value ?? undefined)) continue;
    if (value === null) delete values[code];
    else values[code] = value;
    changedKeys.push(`customFields.${code}`);
  }
  return { values, changedKeys };
}

export function customFieldsRouter(): Router {
  const router = Router();
  router.get('/custom-fields', (req, res) => {
    const query = parseInput(ListCustomFieldsQuerySchema, req.query, 'query');
    res.json(listCustomFields(requestAccount(req), query.model).map(customFieldView));
  });
  router.post('/custom-fields', (req, res) => {
    const input = parseInput(NewCustomFieldSchema, req.body, 'body');
    res.status(201).json(customFieldView(createCustomField(requestAccount(req), input)));
  });
  return router;
}
