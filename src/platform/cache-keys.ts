// Every cache, rate-limit and pub/sub key is built here, and only here (FAIL-008):
// `financehub:v1:<kind>:<part>:<part>…`. Each part is percent-encoded, so a ':' (or a
// '%') inside a part can never forge another key's boundaries: cacheKey('q', 'a:b')
// and cacheKey('q', 'a', 'b') always differ. Bump the version when a key's meaning
// changes, so old entries are simply never read again.

const NAMESPACE = 'financehub:v1';
const KIND = /^[a-z][a-z0-9_-]{0,63}$/;

export type KeyPart = string | number;

/** Escapes one part: encodeURIComponent leaves no ':' and turns '%' into '%25'. */
export function escapeKeyPart(part: KeyPart): string {
  if (typeof part === 'number' && !Number.isFinite(part)) throw new TypeError(`cache key part must be finite, got ${part}`);
  return encodeURIComponent(String(part));
}

/** `kind` is a fixed lower-case name from code (never input); parts may be anything. */
export function cacheKey(kind: string, ...parts: KeyPart[]): string {
  if (!KIND.test(kind)) throw new TypeError(`cache key kind must match ${String(KIND)}, got "${kind}"`);
  return [NAMESPACE, kind, ...parts.map(escapeKeyPart)].join(':');
}
