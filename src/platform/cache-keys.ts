// The one place cache keys (and pub/sub channel names) are built (FAIL-008): every key
// is `financehub:v1:<kind>:<part>:<part>…`. Parts are escaped so that no part can
// contain the separator: two different (kind, parts) never produce the same key, even
// when a part contains `:` or looks like another part's escape.

const NAMESPACE = 'financehub:v1';
const KIND = /^[a-z][a-z0-9_-]{0,39}$/;
/** Characters kept as they are; everything else becomes %XXXX (one UTF-16 unit, 4 hex digits). */
const SAFE = /[A-Za-z0-9._-]/;

/** Fixed-width escape of every unsafe UTF-16 code unit, so the encoding is injective. */
export function escapeKeyPart(part: string): string {
  let out = '';
  for (let i = 0; i < part.length; i++) {
    const ch = part[i] ?? '';
    out += SAFE.test(ch) ? ch : `%${part.charCodeAt(i).toString(16).padStart(4, '0')}`;
  }
  return out;
}

export type KeyPart = string | number | boolean | Date;

function partText(part: KeyPart): string {
  if (part instanceof Date) return part.toISOString();
  return String(part);
}

/** `cacheKey('quote', 'AAPL')` → `financehub:v1:quote:AAPL`. `kind` is a fixed word, never input. */
export function cacheKey(kind: string, ...parts: KeyPart[]): string {
  if (!KIND.test(kind)) throw new Error(`cache key kind must match ${KIND.source}, got "${kind}"`);
  return [NAMESPACE, kind, ...parts.map((p) => escapeKeyPart(partText(p)))].join(':');
}
