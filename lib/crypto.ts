import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_PREFIX = 'sealed.v1';

export interface EncryptionKey {
  /** Short fingerprint stored next to ciphertexts so keys can rotate. */
  readonly id: string;
  readonly key: Buffer;
}

/** AES-256-GCM keys from ENCRYPTION_KEY: the first encrypts, all decrypt. */
export class Keyring {
  private constructor(private readonly keys: readonly EncryptionKey[]) {}

  static isValidSpec(spec: string): boolean {
    return spec
      .split(',')
      .every(
        (part) => /^[A-Za-z0-9+/]+={0,2}$/.test(part.trim()) && Buffer.from(part.trim(), 'base64').length === KEY_BYTES,
      );
  }

  static fromSpec(spec: string): Keyring {
    if (!Keyring.isValidSpec(spec)) throw new Error('ENCRYPTION_KEY must be base64 of 32 bytes');
    return new Keyring(
      spec.split(',').map((part) => {
        const key = Buffer.from(part.trim(), 'base64');
        return { id: createHash('sha256').update(key).digest('hex').slice(0, 12), key };
      }),
    );
  }

  static generateSpec(): string {
    return randomBytes(KEY_BYTES).toString('base64');
  }

  get current(): EncryptionKey {
    const [first] = this.keys;
    if (first === undefined) throw new Error('empty keyring');
    return first;
  }

  byId(id: string): EncryptionKey | undefined {
    return this.keys.find((k) => k.id === id);
  }

  /** iv ‖ ciphertext ‖ tag under the current key. */
  encrypt(plaintext: Uint8Array, aad?: Uint8Array): { keyId: string; data: Buffer } {
    const { id, key } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    if (aad) cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyId: id, data: Buffer.concat([iv, body, cipher.getAuthTag()]) };
  }

  decrypt(keyId: string, data: Uint8Array, aad?: Uint8Array): Buffer {
    const entry = this.byId(keyId);
    if (!entry)
      throw new Error(`unknown encryption key id ${keyId}: add the old key to ENCRYPTION_KEY after the current one`);
    const buf = Buffer.from(data);
    if (buf.length < IV_BYTES + TAG_BYTES) throw new Error('ciphertext too short');
    const decipher = createDecipheriv('aes-256-gcm', entry.key, buf.subarray(0, IV_BYTES));
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    return Buffer.concat([decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
  }

  /** A self-describing encrypted string, for secrets kept inside workflow state. */
  seal(plaintext: string): string {
    const { keyId, data } = this.encrypt(Buffer.from(plaintext, 'utf8'));
    return `${SEALED_PREFIX}.${keyId}.${data.toString('base64url')}`;
  }

  unseal(sealed: string): string {
    const [prefix, version, keyId, data] = sealed.split('.');
    if (`${prefix}.${version}` !== SEALED_PREFIX || keyId === undefined || data === undefined)
      throw new Error('not a sealed value');
    return this.decrypt(keyId, Buffer.from(data, 'base64url')).toString('utf8');
  }

  /** A short keyed fingerprint of a secret: tells whether it changed without keeping it in clear. */
  fingerprint(secret: string): string {
    const key = createHmac('sha256', this.current.key).update('sg-zendesk-sync:fingerprint').digest();
    return createHmac('sha256', key).update(secret).digest('base64url').slice(0, 22);
  }
}

export function hmacSha256(key: string | Buffer, ...parts: Array<string | Uint8Array>): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Constant-time comparison of two base64 (or any) strings; unequal lengths compare false. */
export function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const left = Buffer.isBuffer(a) ? a : Buffer.from(a, 'utf8');
  const right = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
