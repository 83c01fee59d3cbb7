// Encryption of secrets at rest (TOTP secrets, JWT signing keys): AES-256-GCM from
// node:crypto with a fresh 96-bit IV per value. The key is derived with HKDF-SHA256 from
// an operator's secret and a purpose label, so one secret can protect several kinds of
// data without their ciphertexts being interchangeable; the associated data (for
// example the owning user's id) binds a ciphertext to its row, so copying an encrypted
// value onto another row does not decrypt.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;

export interface SecretBox {
  seal: (plaintext: string, associatedData: string) => string;
  /** Throws when the value was sealed with another key, for another row, or altered. */
  open: (sealed: string, associatedData: string) => string;
}

export class SecretBoxError extends Error {}

/** Sealed values look like `v1.<iv>.<tag>.<ciphertext>` (base64url parts). */
export function isSealed(value: string): boolean {
  return /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
}

export function createSecretBox(secret: string | Buffer, purpose: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `financehub:${purpose}`, 32));
  return {
    seal: (plaintext, associatedData) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    open: (sealed, associatedData) => {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== VERSION || iv === undefined || tag === undefined || body === undefined) throw new SecretBoxError('not a sealed value');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(associatedData, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('the value cannot be decrypted with this key');
      }
    },
  };
}
