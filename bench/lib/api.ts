// A small client of the real HTTP API for benchmarks that set up data before measuring:
// plain fetch, a JSON helper that fails loudly on an unexpected status, and the account
// chores (register, log in, sessions, two-factor sign-in) several set-ups repeat.
import { randomBytes, randomUUID } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export interface CallOptions {
  /** Content type of a string body; JSON bodies (objects) are sent as application/json. */
  type?: string;
  headers?: Record<string, string>;
}

export interface Api {
  url: string;
  call: (method: string, route: string, token: string | undefined, body?: unknown, options?: CallOptions) => Promise<Response>;
  /** Sends the request and parses its JSON answer; throws unless the status is `expect`. */
  json: <T>(method: string, route: string, token: string | undefined, expect: number, body?: unknown, options?: CallOptions) => Promise<T>;
  login: (email: string, password: string) => Promise<{ access_token: string; refresh_token: string }>;
}

export async function expectJson<T>(res: Response, expect: number, what: string): Promise<T> {
  const body = await res.text();
  if (res.status !== expect) throw new Error(`${what}: expected ${expect}, got ${res.status}: ${body.slice(0, 300)}`);
  return (body === '' ? null : JSON.parse(body)) as T;
}

export function apiClient(url: string): Api {
  const call = (method: string, route: string, token: string | undefined, body?: unknown, options: CallOptions = {}) =>
    fetch(`${url}${route}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': options.type ?? 'application/json' }),
        ...options.headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  const json = async <T>(method: string, route: string, token: string | undefined, expect: number, body?: unknown, options?: CallOptions) => {
    let res: Response;
    try {
      res = await call(method, route, token, body, options);
    } catch (err) {
      // A keep-alive socket the server closed just as it was reused (after a long stall,
      // its idle timer fires late): a read is safe to send again on a new one.
      if (method !== 'GET') throw err;
      res = await call(method, route, token, body, options);
    }
    return expectJson<T>(res, expect, `${method} ${route}`);
  };
  const login = (email: string, password: string) => json<{ access_token: string; refresh_token: string }>('POST', '/v1/auth/login', undefined, 200, { email, password });
  return { url, call, json, login };
}

export interface BenchUser {
  id: string;
  email: string;
  password: string;
  /** An access token of the user's first session. */
  token: string;
}

/** A password the strength check accepts (random, so zxcvbn scores it 4). */
export function strongPassword(length = 24): string {
  return `Fh7-${randomBytes(Math.ceil(length * 0.75)).toString('base64url')}`.slice(0, length);
}

/** Registers and logs in a new user. */
export async function newUser(api: Api, prefix: string, password = strongPassword()): Promise<BenchUser> {
  const email = `${prefix}-${randomUUID()}@bench.test`;
  const { id } = await api.json<{ id: string }>('POST', '/v1/auth/register', undefined, 201, { email, password });
  const { access_token: token } = await api.login(email, password);
  return { id, email, password, token };
}

/** `count` more sessions of `user` (logins, `parallel` at a time: each verifies the password with argon2id). */
export async function addSessions(api: Api, user: BenchUser, count: number, parallel = 4): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (left > 0) {
        left--;
        await api.login(user.email, user.password);
      }
    }),
  );
}

/** The current TOTP code of a base32 secret (RFC 6238: SHA-1, 6 digits, 30 s, as the server uses). */
export function totpCode(secret: string, at = Date.now()): string {
  return new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: at });
}

/** Turns two-factor sign-in on for `user`; returns the secret and the ten recovery codes. */
export async function enableMfa(api: Api, user: BenchUser): Promise<{ secret: string; recoveryCodes: string[] }> {
  const { secret } = await api.json<{ secret: string }>('POST', '/v1/me/mfa/totp', user.token, 201);
  const { recovery_codes: recoveryCodes } = await api.json<{ recovery_codes: string[] }>('POST', '/v1/me/mfa/totp/confirm', user.token, 200, { code: totpCode(secret) });
  return { secret, recoveryCodes };
}
