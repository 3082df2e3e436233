import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';
import type { Config } from './config';
import { dataConverterFor } from './data-converter';

const { IndexedValueType } = temporal.api.enums.v1;

const INDEXED_TYPE = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

/** Registers the product's search attributes when missing, so a bare server or namespace just works. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => customAttributes?.[key.name] === undefined);
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPE[key.type]])),
    });
  } catch (err) {
    // Another process registering the same attributes at the same moment is fine.
    const again = await connection.operatorService.listSearchAttributes({ namespace });
    if (missing.some((key) => again.customAttributes?.[key.name] === undefined)) throw err;
  }
}

/** A client that encrypts every payload, with the search attributes it needs registered. */
export async function connectClient(config: Pick<Config, 'temporal' | 'keyring'>): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: config.temporal.address });
  await ensureSearchAttributes(connection, config.temporal.namespace);
  return { connection, client: new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverterFor(config.keyring) }) };
}
