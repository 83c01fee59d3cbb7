import { loadConfig } from '../../config.ts';
import { systemClock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { createLogger } from '../../platform/logger.ts';
import { createKeysRepository, generateKeyRecord, jwtKeysBox, KEY_RELOAD_INTERVAL_MS, type KeyRecord } from '../../modules/auth/keys.ts';
import { createSecurityEvents, createSecurityEventsRepository } from '../../modules/auth/security-events.ts';
import type { Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';

/** Adds a new signing key and retires the current one (it keeps verifying for a while). */
export async function rotateSigningKey(db: Database, now: Date, jwtKeysEncryptionKey?: string): Promise<{ added: KeyRecord; all: KeyRecord[] }> {
  const added = await generateKeyRecord('EdDSA', now);
  // Sealed like the keys the server writes when JWT_KEYS_ENCRYPTION_KEY is set.
  const all = await createKeysRepository(db, jwtKeysBox(jwtKeysEncryptionKey)).rotate(added);
  return { added, all };
}

export const keysRotateCommand: Command = {
  words: ['keys', 'rotate'],
  summary: 'add a new access-token signing key; older keys keep verifying until their tokens expire',
  usage: `financehub keys rotate

Generates a new EdDSA (Ed25519) signing key in the database and retires the current one.
Running instances pick the new key up within a minute (or at once when they see a token
signed with it); a retired key keeps verifying for ACCESS_TOKEN_TTL plus one minute, so
no valid token is cut short. Not available when keys come from JWT_KEYS / JWT_KEYS_FILE:
rotate those by adding the new key first in the list (see docs/auth.md).`,
  async run({ io }) {
    const config = loadConfig();
    if (config.jwtKeys !== undefined || config.jwtKeysFile !== undefined) {
      io.err('financehub keys rotate: signing keys come from JWT_KEYS / JWT_KEYS_FILE; put the new key first in that set instead');
      return 1;
    }
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    return await withRuntime(config, logger, io, async (runtime) => {
      const { added, all } = await rotateSigningKey(runtime.db, systemClock.now(), config.jwtKeysEncryptionKey);
      const events = createSecurityEvents({ repo: createSecurityEventsRepository(runtime.db), clock: systemClock, logger });
      await events.recordSecurityEvent({ event: 'signing_key_rotated', details: { kid: added.kid, source: 'cli' } });
      const graceSeconds = config.accessTokenTtl + KEY_RELOAD_INTERVAL_MS / 1000;
      io.out(`new signing key ${added.kid}; ${all.length - 1} older key(s) keep verifying for ${graceSeconds} s after retirement`);
      return 0;
    });
  },
};

export const keysGenerateCommand: Command = {
  words: ['keys', 'generate'],
  summary: 'print a new private signing key as a JWT_KEYS value (JWK Set)',
  usage: `financehub keys generate

Prints {"keys":[<private Ed25519 JWK with kid and alg>]} for JWT_KEYS or a JWT_KEYS_FILE.
To rotate keys kept that way, put the new key first in the existing "keys" array (the
first key signs, all listed keys verify) and drop the old one after ACCESS_TOKEN_TTL.
Keep the output secret: it can sign tokens.`,
  async run({ io }) {
    const key = await generateKeyRecord('EdDSA', new Date());
    io.out(JSON.stringify({ keys: [key.privateJwk] }));
    return 0;
  },
};
