// Where the key sealing TOTP secrets comes from, in order:
//  1. MFA_ENCRYPTION_KEY;
//  2. JWT_KEYS_ENCRYPTION_KEY (HKDF with another purpose label, so the two uses never share a key);
//  3. otherwise a random 256-bit key generated on first start and stored in app_settings.
// With 1 or 2, a copy of the database alone (a backup, a dump, read-only SQL injection)
// does not reveal the secrets. With 3 the key sits in the same database, so the sealing
// only keeps secrets out of logs, exports of single tables and casual reads of mfa_totp.
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../platform/db/index.ts';
import { createSecretBox, type SecretBox } from '../../platform/secret-box.ts';

export const MFA_KEY_SETTING = 'mfa_encryption_key';
const PURPOSE = 'mfa-totp';

export async function mfaSecretBox(
  options: { mfaEncryptionKey: string | undefined; jwtKeysEncryptionKey: string | undefined },
  db: Queryable,
): Promise<{ box: SecretBox; source: 'MFA_ENCRYPTION_KEY' | 'JWT_KEYS_ENCRYPTION_KEY' | 'database' }> {
  if (options.mfaEncryptionKey !== undefined) return { box: createSecretBox(options.mfaEncryptionKey, PURPOSE), source: 'MFA_ENCRYPTION_KEY' };
  if (options.jwtKeysEncryptionKey !== undefined) return { box: createSecretBox(options.jwtKeysEncryptionKey, PURPOSE), source: 'JWT_KEYS_ENCRYPTION_KEY' };
  // Two instances starting together: the first insert wins and both read the same key.
  await db.query(`INSERT INTO app_settings (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO NOTHING`, [
    MFA_KEY_SETTING,
    JSON.stringify(randomBytes(32).toString('base64url')),
  ]);
  const { rows } = await db.query<{ value: unknown }>('SELECT value FROM app_settings WHERE key = $1', [MFA_KEY_SETTING]);
  const stored = rows[0]?.value;
  if (typeof stored !== 'string' || stored.length < 32) throw new Error(`app_settings.${MFA_KEY_SETTING} is not a generated key`);
  return { box: createSecretBox(Buffer.from(stored, 'base64url'), PURPOSE), source: 'database' };
}
