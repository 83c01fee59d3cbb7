import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../errors.ts';
import { decodeCursor, decodeTimeCursor, encodeCursor, encodeTimeCursor, isSerialId, isTimestampKey } from './cursor.ts';

const RULES = { sort: 'created_at', order: 'desc', key: isTimestampKey, id: isSerialId };
const isInvalidCursor = (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'invalid_cursor';

describe('the list cursor codec', () => {
  it('round-trips a cursor of the sort and order it was made for', () => {
    const payload = { s: 'created_at', o: 'desc', k: '2026-01-02T03:04:05.678Z', id: '42' };
    assert.deepEqual(decodeCursor(encodeCursor(payload), RULES), payload);
    assert.deepEqual(decodeCursor(encodeCursor({ ...payload, k: null }), RULES), { ...payload, k: null });
  });

  it('FAIL-016: a time cursor continues only the list and the order it was read in; oldest-first cursors keep their old form', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const id = '0b6f3c1e-2a4d-4e8f-9c3b-5d7a1e2f4b6c';
    const newestFirst = encodeTimeCursor('reports', at, id, 'desc');
    assert.deepEqual(decodeTimeCursor(newestFirst, 'reports', 'desc'), { at, id });
    assert.throws(() => decodeTimeCursor(newestFirst, 'reports', 'asc'), isInvalidCursor);
    assert.throws(() => decodeTimeCursor(encodeTimeCursor('reports', at, id, 'asc'), 'reports', 'desc'), isInvalidCursor);
    assert.throws(() => decodeTimeCursor(newestFirst, 'alert-events', 'desc'), isInvalidCursor);
    // A cursor handed out before the order existed reads oldest first, as it did then.
    const older = encodeCursor({ s: 'reports', o: 'time', k: at.toISOString(), id });
    assert.equal(encodeTimeCursor('reports', at, id), older);
    assert.deepEqual(decodeTimeCursor(older, 'reports'), { at, id });
  });

  it('FAIL-016: tampered cursors answer 400 invalid_cursor, whatever was changed', () => {
    const good = { s: 'created_at', o: 'desc', k: '2026-01-02T03:04:05.678Z', id: '42' };
    const tampered = [
      '',
      '%%%',
      'x'.repeat(513),
      Buffer.from('not json').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
      Buffer.from('{}').toString('base64url'),
      Buffer.from(JSON.stringify({ ...good, extra: 1 })).toString('base64url'),
      encodeCursor({ ...good, s: 'updated_at' }),
      encodeCursor({ ...good, o: 'asc' }),
      encodeCursor({ ...good, k: "2026-01-02T03:04:05.678Z'; DROP TABLE users; --" }),
      encodeCursor({ ...good, k: '2026-13-45T99:99:99.999Z' }),
      encodeCursor({ ...good, id: '0' }),
      encodeCursor({ ...good, id: '1 OR 1=1' }),
    ];
    for (const cursor of tampered) assert.throws(() => decodeCursor(cursor, RULES), isInvalidCursor, cursor);
  });

  it('is the only cursor codec: no module keeps its own, and portfolios does not reach up into analytics for one', () => {
    const root = join(import.meta.dirname, '..', '..', 'modules');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          walk(path);
          continue;
        }
        if (!entry.name.endsWith('.ts')) continue;
        const code = readFileSync(path, 'utf8').replace(/\/\/.*$/gm, '');
        // A codec of its own: a file named cursor.ts, or JSON turned into or read from
        // base64url next to the word cursor (base64url alone, e.g. for a random secret, is not one).
        const base64Json = /JSON\.(stringify|parse)\([^\n]*base64url|base64url[^\n]*JSON\.(stringify|parse)/.test(code);
        const ownCodec = entry.name === 'cursor.ts' || (/cursor/i.test(code) && base64Json && !entry.name.endsWith('.test.ts'));
        if (ownCodec) offenders.push(path);
        if (path.includes(join('modules', 'portfolios')) && /from '\.\.\/analytics\//.test(code)) offenders.push(`${path} imports analytics`);
      }
    };
    walk(root);
    assert.deepEqual(offenders, []);
  });
});
