// Pages of templates and of template versions are bounded by their text as well as by
// `limit` (PAGE_TEXT_BYTES, src/modules/templates/templates.repository.ts): a page of large
// bodies ends early and its cursor continues it, so walking the cursor still returns every
// row exactly once, in order, with its whole body. Bodies are two-byte characters, so a
// bound counted in characters instead of bytes would let a page pass it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PAGE_TEXT_BYTES } from '../../../src/modules/templates/templates.repository.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

interface Text {
  name: string;
  description: string;
  body: string;
}
interface TemplateJson extends Text {
  id: string;
  version: number;
}

const COUNT = 20;
/** 80,000 bytes of UTF-8 in 40,000 characters: 13 fit in PAGE_TEXT_BYTES, 26 would by characters. */
const bodyOf = (i: number) => `${i} ${'é'.repeat(40_000)}`;
const bytesOf = (rows: readonly Text[]) => rows.reduce((n, r) => n + Buffer.byteLength(r.name) + Buffer.byteLength(r.description) + Buffer.byteLength(r.body), 0);

describe('template pages bounded by their text', () => {
  let t: TestApp;
  let user: CreatedUser;

  before(async () => {
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'none', FREE_TEMPLATES: String(COUNT + 1), FREE_REQUESTS_PER_DAY: '1000000' } });
    user = await createUser(t);
  });
  after(() => t.close());

  const get = async <T>(url: string): Promise<T> => {
    const res = await t.app.inject({ method: 'GET', url, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<T>();
  };
  /** Checks one page against both bounds; more than one row only within the text budget. */
  const bounded = (items: readonly Text[], limit: number) => {
    assert.ok(items.length >= 1 && items.length <= limit);
    if (items.length > 1) assert.ok(bytesOf(items) <= PAGE_TEXT_BYTES, `${bytesOf(items)} bytes in ${items.length} rows`);
  };
  /**
   * Follows a list's continuation from its first page (`url` with `limit=100`) to its end,
   * checking every page's bounds; `next` names the continuation field and `param` the query
   * parameter it goes back in. Returns every row and each page's size.
   */
  const walkPages = async <T extends Text>(url: string, next: 'next_cursor' | 'next_before', param: 'cursor' | 'before') => {
    const rows: T[] = [];
    const sizes: number[] = [];
    let continuation: string | number | null = null;
    do {
      const query: string = continuation === null ? '' : `&${param}=${encodeURIComponent(continuation)}`;
      const page: { items: T[] } & Record<typeof next, string | number | null> = await get(`${url}?limit=100${query}`);
      bounded(page.items, 100);
      sizes.push(page.items.length);
      rows.push(...page.items);
      continuation = page[next];
    } while (continuation !== null);
    return { rows, sizes };
  };

  it('FAIL-023: GET /v1/templates ends a page at the text budget, and its cursor walks every template once, bodies whole', async () => {
    const created: TemplateJson[] = [];
    for (let i = 0; i < COUNT; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/templates', headers: user.headers, payload: { name: `T${i}`, body: bodyOf(i) } });
      assert.equal(res.statusCode, 201, res.body);
      created.push(res.json<TemplateJson>());
    }
    const { rows: seen, sizes } = await walkPages<TemplateJson>('/v1/templates', 'next_cursor', 'cursor');
    assert.deepEqual(sizes, [13, 7]);
    assert.deepEqual(seen.map((x) => [x.id, x.body]), created.map((x) => [x.id, x.body]));

    // Under the budget, `limit` ends the page as before.
    const small = await get<{ items: TemplateJson[]; next_cursor: string | null }>('/v1/templates?limit=3');
    assert.deepEqual([small.items.length, small.next_cursor !== null], [3, true]);
  });

  it('FAIL-023: GET /v1/templates/:id/versions ends a page at the text budget, and next_before walks every version once, newest first', async () => {
    const first = await t.app.inject({ method: 'POST', url: '/v1/templates', headers: user.headers, payload: { name: 'Versioned', body: bodyOf(0) } });
    assert.equal(first.statusCode, 201, first.body);
    const id = first.json<TemplateJson>().id;
    for (let version = 1; version < COUNT; version++) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/templates/${id}`, headers: { ...user.headers, 'if-match': `"${version}"` }, payload: { name: 'Versioned', description: '', body: bodyOf(version) } });
      assert.equal(res.statusCode, 200, res.body);
    }
    const { rows: seen, sizes } = await walkPages<TemplateJson>(`/v1/templates/${id}/versions`, 'next_before', 'before');
    assert.deepEqual(sizes, [13, 7]);
    assert.deepEqual(
      seen.map((x) => [x.version, x.body]),
      Array.from({ length: COUNT }, (_, i) => [COUNT - i, bodyOf(COUNT - 1 - i)]),
    );
  });
});
