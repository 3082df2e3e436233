import type { DataConverter } from '@temporalio/common';
import type { Keyring } from './crypto';
import { EncryptionCodec } from './payload-codec';

export const failureConverterPath = require.resolve('./failure-converter');

/** The one data converter every client and worker uses. */
export function dataConverterFor(keyring: Keyring): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keyring)], failureConverterPath };
}
