import type { Payload, PayloadCodec } from '@temporalio/common';
import { ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Keyring } from './crypto';

const ENCODING = 'binary/encrypted';
const METADATA_ENCODING_KEY = 'encoding';
const METADATA_KEY_ID = 'encryption-key-id';

/**
 * Encrypts every payload (arguments, results, signals, memos, failures) with AES-256-GCM before it
 * reaches the Temporal server, so personal data and secrets never sit in history in clear text.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(
      payloads.map((payload) => {
        const { keyId, data } = this.keyring.encrypt(temporal.api.common.v1.Payload.encode(payload).finish());
        return {
          metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCODING), [METADATA_KEY_ID]: Buffer.from(keyId) },
          data,
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(
      payloads.map((payload) => {
        const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
        if (encoding === undefined || encoding === null || Buffer.from(encoding).toString() !== ENCODING)
          return payload;
        const keyId = payload.metadata?.[METADATA_KEY_ID];
        if (keyId === undefined || keyId === null || !payload.data)
          throw new ValueError('Encrypted payload without key id or data');
        const clear = this.keyring.decrypt(Buffer.from(keyId).toString(), payload.data);
        return temporal.api.common.v1.Payload.decode(clear);
      }),
    );
  }
}
