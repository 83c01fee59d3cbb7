// Signing keys for access tokens (EdDSA/Ed25519, each with a `kid`). Two sources:
//  - the database (default): a key is generated on first start; `financehub keys rotate`
//    adds a new one and retires the previous, which keeps verifying until every token it
//    signed has expired;
//  - JWT_KEYS / JWT_KEYS_FILE: a JWK Set of private keys; the first signs, all verify.
// Running instances re-read the database keys a minute after the last read (lazily, on
// use, by the injected clock) and when a token names a kid they do not know, so a
// rotation reaches every instance without a restart.
// With JWT_KEYS_ENCRYPTION_KEY set, the private half of database keys is stored sealed
// (AES-256-GCM, bound to the kid): a copy of the database alone cannot sign tokens.
// Keys stored in clear before the variable was set are sealed at the next start.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { ConfigError } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database, Queryable } from '../../platform/db/index.ts';
import type { Logger } from '../../platform/logger.ts';
import { createSecretBox, SecretBoxError, type SecretBox } from '../../platform/secret-box.ts';

export const SIGNING_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** How often running instances re-read database keys; also part of a retired key's grace. */
export const KEY_RELOAD_INTERVAL_MS = 60_000;
const UNKNOWN_KID_RELOAD_MIN_MS = 5_000;

export interface KeyRecord {
  kid: string;
  alg: SigningAlgorithm;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: Date;
  retiredAt: Date | null;
}

interface LoadedKey {
  record: KeyRecord;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** Bad JWT_KEYS / JWT_KEYS_FILE: stops the process with one line naming the variable. */
export class KeyConfigError extends ConfigError {}

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, k: _k, ...rest } = jwk;
  return rest;
}

/** Parses JWT_KEYS (or the file's content): `{"keys":[{kty,crv,x,[y],d,kid,alg}, ...]}`. */
export function parseKeySet(text: string, variable: string): KeyRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeyConfigError(variable, 'is not valid JSON (expected {"keys":[...]})');
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeyConfigError(variable, 'must be {"keys":[...]} with at least one key');
  const seen = new Set<string>();
  return keys.map((raw, i) => {
    const jwk = raw as JWK;
    const where = `key ${i}`;
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new KeyConfigError(variable, `${where} needs a "kid"`);
    if (seen.has(jwk.kid)) throw new KeyConfigError(variable, `${where}: duplicate kid "${jwk.kid}"`);
    seen.add(jwk.kid);
    if (!(SIGNING_ALGORITHMS as readonly string[]).includes(jwk.alg ?? '')) {
      throw new KeyConfigError(variable, `${where}: "alg" must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
    }
    if (typeof jwk.d !== 'string') throw new KeyConfigError(variable, `${where}: must be a private key (with "d")`);
    return { kid: jwk.kid, alg: jwk.alg as SigningAlgorithm, privateJwk: jwk, publicJwk: publicPart(jwk), createdAt: new Date(0), retiredAt: null };
  });
}

export async function generateKeyRecord(alg: SigningAlgorithm, now: Date): Promise<KeyRecord> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const kid = randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateJwk, publicJwk: publicPart(privateJwk), createdAt: now, retiredAt: null };
}

interface KeyDbRow {
  kid: string;
  alg: SigningAlgorithm;
  /** The JWK, or `{ sealed }` when JWT_KEYS_ENCRYPTION_KEY was set when it was written. */
  private_jwk: JWK | { sealed: string };
  public_jwk: JWK;
  created_at: Date;
  retired_at: Date | null;
}

const sealedAad = (kid: string) => `jwt_keys:${kid}`;
const isSealedJwk = (jwk: KeyDbRow['private_jwk']): jwk is { sealed: string } => typeof (jwk as { sealed?: unknown }).sealed === 'string';

/** The box for JWT_KEYS_ENCRYPTION_KEY, or undefined when it is not set. */
export function jwtKeysBox(secret: string | undefined): SecretBox | undefined {
  return secret === undefined ? undefined : createSecretBox(secret, 'jwt-keys');
}

export function createKeysRepository(db: Database, box?: SecretBox) {
  const toRecord = (row: KeyDbRow): KeyRecord => {
    let privateJwk: JWK;
    if (isSealedJwk(row.private_jwk)) {
      if (box === undefined) throw new KeyConfigError('JWT_KEYS_ENCRYPTION_KEY', 'is not set, but the signing keys in the database are encrypted; set the key they were encrypted with');
      try {
        privateJwk = JSON.parse(box.open(row.private_jwk.sealed, sealedAad(row.kid))) as JWK;
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
        throw new KeyConfigError('JWT_KEYS_ENCRYPTION_KEY', `does not decrypt signing key ${row.kid}; set the key the keys were encrypted with`);
      }
    } else {
      privateJwk = row.private_jwk;
    }
    return { kid: row.kid, alg: row.alg, privateJwk, publicJwk: row.public_jwk, createdAt: row.created_at, retiredAt: row.retired_at };
  };
  const stored = (key: KeyRecord) => JSON.stringify(box === undefined ? key.privateJwk : { sealed: box.seal(JSON.stringify(key.privateJwk), sealedAad(key.kid)) });
  const rowsOf = async (q: Queryable) =>
    (await q.query<KeyDbRow>('SELECT kid, alg, private_jwk, public_jwk, created_at, retired_at FROM jwt_keys ORDER BY created_at DESC, kid')).rows;
  const all = async (q: Queryable): Promise<KeyRecord[]> => (await rowsOf(q)).map(toRecord);
  const insert = (q: Queryable, key: KeyRecord) =>
    q.query('INSERT INTO jwt_keys (kid, alg, private_jwk, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)', [
      key.kid,
      key.alg,
      stored(key),
      JSON.stringify(key.publicJwk),
      key.createdAt,
    ]);
  const lock = (q: Queryable) => q.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':financehub:jwt_keys'))`);
  return {
    all: () => all(db),
    /**
     * Generates the first key unless one exists; the lock makes concurrent starts agree.
     * With a box, keys still stored in clear are sealed here.
     */
    ensureOne: (generate: () => Promise<KeyRecord>) =>
      db.transaction(async (tx) => {
        await lock(tx);
        if (box !== undefined) {
          for (const row of await rowsOf(tx)) {
            if (isSealedJwk(row.private_jwk)) continue;
            await tx.query('UPDATE jwt_keys SET private_jwk = $2 WHERE kid = $1', [row.kid, stored(toRecord(row))]);
          }
        }
        const existing = await all(tx);
        if (existing.some((k) => k.retiredAt === null)) return existing;
        await insert(tx, await generate());
        return all(tx);
      }),
    /** Adds a new signing key and retires the others (they keep verifying for a while). */
    rotate: (key: KeyRecord) =>
      db.transaction(async (tx) => {
        await lock(tx);
        await tx.query('UPDATE jwt_keys SET retired_at = $1 WHERE retired_at IS NULL', [key.createdAt]);
        await insert(tx, key);
        return all(tx);
      }),
  };
}

export interface KeyStoreOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  accessTokenTtlSeconds: number;
  jwtKeys: string | undefined;
  jwtKeysFile: string | undefined;
  /** JWT_KEYS_ENCRYPTION_KEY: seals the private keys stored in the database. */
  jwtKeysEncryptionKey?: string | undefined;
}

export interface KeyStore {
  readonly source: 'database' | 'environment';
  signingKey: () => Promise<{ kid: string; alg: SigningAlgorithm; key: CryptoKey }>;
  /** The public key for a kid while it still verifies; reloads once on an unknown kid. */
  verificationKey: (kid: string) => Promise<{ alg: SigningAlgorithm; key: CryptoKey } | undefined>;
  jwks: () => { keys: JWK[] };
  reload: () => Promise<void>;
}

export async function createKeyStore(options: KeyStoreOptions): Promise<KeyStore> {
  const { db, clock, logger } = options;
  const repo = createKeysRepository(db, jwtKeysBox(options.jwtKeysEncryptionKey));
  const source = options.jwtKeys !== undefined || options.jwtKeysFile !== undefined ? 'environment' : 'database';
  // A retired key verifies for one token lifetime after retirement, plus the time an
  // instance may take to notice the rotation and stop signing with it.
  const verifyGraceMs = options.accessTokenTtlSeconds * 1000 + KEY_RELOAD_INTERVAL_MS;

  let keys: LoadedKey[] = [];
  const load = async (records: KeyRecord[]) => {
    const loaded: LoadedKey[] = [];
    for (const record of records) {
      const existing = keys.find((k) => k.record.kid === record.kid);
      if (existing !== undefined) {
        loaded.push({ ...existing, record });
        continue;
      }
      loaded.push({
        record,
        privateKey: (await importJWK(record.privateJwk, record.alg)) as CryptoKey,
        publicKey: (await importJWK(record.publicJwk, record.alg)) as CryptoKey,
      });
    }
    keys = loaded;
  };

  if (source === 'environment') {
    let text = options.jwtKeys;
    const variable = text !== undefined ? 'JWT_KEYS' : 'JWT_KEYS_FILE';
    if (text === undefined && options.jwtKeysFile !== undefined) {
      try {
        text = readFileSync(options.jwtKeysFile, 'utf8');
      } catch (err) {
        throw new KeyConfigError('JWT_KEYS_FILE', `cannot read ${options.jwtKeysFile}: ${(err as Error).message}`);
      }
    }
    try {
      await load(parseKeySet(text ?? '', variable));
    } catch (err) {
      if (err instanceof KeyConfigError) throw err;
      throw new KeyConfigError(variable, `a key could not be imported: ${(err as Error).message}`);
    }
  } else {
    const records = await repo.ensureOne(async () => {
      logger.info({ event: 'signing_key_generated' }, 'generated the first access-token signing key');
      return generateKeyRecord('EdDSA', clock.now());
    });
    await load(records);
  }

  const stillVerifies = (k: LoadedKey) => k.record.retiredAt === null || k.record.retiredAt.getTime() + verifyGraceMs > clock.now().getTime();

  let lastReload = clock.now().getTime();
  let reloading: Promise<void> | undefined;
  const reload = (): Promise<void> => {
    if (source !== 'database') return Promise.resolve();
    lastReload = clock.now().getTime();
    reloading ??= repo
      .all()
      .then(load)
      .finally(() => {
        reloading = undefined;
      });
    return reloading;
  };
  /**
   * Re-reads database keys once KEY_RELOAD_INTERVAL_MS has passed on the injected clock
   * (lazily, on use, so a rotation reaches every instance and tests can move time).
   * A failed reload keeps the keys already loaded.
   */
  const refreshIfStale = async () => {
    if (source !== 'database' || clock.now().getTime() - lastReload < KEY_RELOAD_INTERVAL_MS) return;
    try {
      await reload();
    } catch (err) {
      logger.warn({ err, event: 'signing_keys_reload_failed' }, 'could not reload signing keys; using the ones loaded');
    }
  };

  const refreshAfterUnknownKid = async () => {
    try {
      await reload();
    } catch (err) {
      logger.warn({ err, event: 'signing_keys_reload_failed' }, 'could not reload signing keys');
    }
  };

  return {
    source,
    signingKey: async () => {
      await refreshIfStale();
      // Database keys: the newest unretired one; environment keys: the first listed.
      const active = keys.find((k) => k.record.retiredAt === null) ?? keys[0];
      if (active === undefined) throw new Error('no signing key loaded');
      return { kid: active.record.kid, alg: active.record.alg, key: active.privateKey };
    },
    verificationKey: async (kid) => {
      await refreshIfStale();
      let found = keys.find((k) => k.record.kid === kid);
      if (found === undefined && source === 'database' && clock.now().getTime() - lastReload >= UNKNOWN_KID_RELOAD_MIN_MS) {
        await refreshAfterUnknownKid();
        found = keys.find((k) => k.record.kid === kid);
      }
      if (found === undefined || !stillVerifies(found)) return undefined;
      return { alg: found.record.alg, key: found.publicKey };
    },
    jwks: () => ({ keys: keys.filter(stillVerifies).map((k) => k.record.publicJwk) }),
    reload,
  };
}
