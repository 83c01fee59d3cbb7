// Templates on the real app: CRUD for the caller only (another user's template is a 404),
// the tier cap under parallel creates, bodies validated against the data model before they
// are stored (template injection rejected), ETag / If-Match (428 without, 412 stale, both
// problem JSON), every version kept and restorable, and FAIL-009: concurrent writers
// never lose an update (version = number of successful writes, history complete).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

interface TemplateJson {
  id: string;
  name: string;
  description: string;
  body: string;
  version: number;
}
interface Problem {
  type?: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  current_version?: number;
}

describe('templates', () => {
  let t: TestApp;
  let alice: CreatedUser;
  let bob: CreatedUser;

  const call = async (user: CreatedUser, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = {}) => {
    const res = await t.app.inject({ method, url, headers: { ...user.headers, ...headers }, ...(payload === undefined ? {} : { payload }) });
    return res;
  };
  const create = async (user: CreatedUser, body = 'Value: {{totals.total_value}}') => {
    const res = await call(user, 'POST', '/v1/templates', { name: 'T', body });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<TemplateJson>();
  };

  before(async () => {
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'none', FREE_TEMPLATES: '5', PRO_TEMPLATES: '5', FREE_REQUESTS_PER_DAY: '1000000', PRO_REQUESTS_PER_DAY: '1000000' } });
    [alice, bob] = await Promise.all([createUser(t), createUser(t)]);
  });
  after(() => t.close());

  it('creates, reads with an ETag, lists, patches with If-Match and deletes', async () => {
    const created = await create(alice, '# {{portfolio.name}}\n{{#holdings}}- {{symbol}} {{weight_percent}}%\n{{/holdings}}');
    assert.equal(created.version, 1);
    const got = await call(alice, 'GET', `/v1/templates/${created.id}`);
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers.etag, '"1"');
    const patched = await call(alice, 'PATCH', `/v1/templates/${created.id}`, { name: 'Renamed' }, { 'if-match': '"1"' });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.headers.etag, '"2"');
    assert.deepEqual([patched.json<TemplateJson>().name, patched.json<TemplateJson>().version, patched.json<TemplateJson>().body], ['Renamed', 2, created.body]);
    const list = await call(alice, 'GET', '/v1/templates?limit=100');
    assert.ok(list.json<{ items: TemplateJson[] }>().items.some((x) => x.id === created.id));
    assert.equal((await call(alice, 'DELETE', `/v1/templates/${created.id}`)).statusCode, 204);
    assert.equal((await call(alice, 'GET', `/v1/templates/${created.id}`)).statusCode, 404);
  });

  it("another user's template answers 404 on every route", async () => {
    const own = await create(alice);
    const base = `/v1/templates/${own.id}`;
    for (const [method, url, payload, headers] of [
      ['GET', base, undefined, {}],
      ['PUT', base, { name: 'x', description: '', body: 'x' }, { 'if-match': '"1"' }],
      ['PATCH', base, { name: 'x' }, { 'if-match': '"1"' }],
      ['DELETE', base, undefined, {}],
      ['GET', `${base}/versions`, undefined, {}],
      ['GET', `${base}/versions/1`, undefined, {}],
      ['POST', `${base}/versions/1/restore`, undefined, { 'if-match': '"1"' }],
    ] as const) {
      const res = await call(bob, method, url, payload, headers);
      assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
      assert.equal(res.json<Problem>().code, 'not_found');
    }
    assert.equal((await call(alice, 'GET', base)).json<TemplateJson>().version, 1, 'nothing changed');
    await call(alice, 'DELETE', base);
  });

  it('PUT and PATCH without If-Match are 428, with a stale one 412 naming the current version (problem JSON)', async () => {
    const own = await create(alice);
    const url = `/v1/templates/${own.id}`;
    const missing = await call(alice, 'PUT', url, { name: 'x', description: '', body: 'x' });
    assert.equal(missing.statusCode, 428);
    assert.match(String(missing.headers['content-type']), /^application\/problem\+json/);
    assert.equal(missing.json<Problem>().code, 'precondition_required');
    const star = await call(alice, 'PATCH', url, { name: 'x' }, { 'if-match': '*' });
    assert.equal(star.statusCode, 428, 'a blind write is refused');
    assert.equal((await call(alice, 'PATCH', url, { name: 'v2' }, { 'if-match': '"1"' })).statusCode, 200);
    const stale = await call(alice, 'PUT', url, { name: 'x', description: '', body: 'x' }, { 'if-match': '"1"' });
    assert.equal(stale.statusCode, 412);
    assert.match(String(stale.headers['content-type']), /^application\/problem\+json/);
    const problem = stale.json<Problem>();
    assert.equal(problem.code, 'precondition_failed');
    assert.equal(problem.current_version, 2);
    assert.equal(problem.status, 412);
    const garbage = await call(alice, 'PATCH', url, { name: 'x' }, { 'if-match': 'W/"2"' });
    assert.equal(garbage.statusCode, 412, 'only the strong ETag matches');
    assert.equal((await call(alice, 'GET', url)).json<TemplateJson>().name, 'v2');
    await call(alice, 'DELETE', url);
  });

  it('keeps every version; restoring an old one writes it as a new version', async () => {
    const own = await create(alice, 'one {{generated_at}}');
    const url = `/v1/templates/${own.id}`;
    assert.equal((await call(alice, 'PUT', url, { name: 'T', description: 'd', body: 'two {{portfolio.name}}' }, { 'if-match': '"1"' })).statusCode, 200);
    assert.equal((await call(alice, 'PATCH', url, { body: 'three {{totals.cash}}' }, { 'if-match': '"2"' })).statusCode, 200);
    const versions = (await call(alice, 'GET', `${url}/versions?limit=2`)).json<{ items: { version: number; body: string; source: string }[]; next_before: number | null }>();
    assert.deepEqual(versions.items.map((v) => v.version), [3, 2]);
    assert.equal(versions.next_before, 2);
    const rest = (await call(alice, 'GET', `${url}/versions?before=2`)).json<{ items: { version: number; body: string; source: string }[]; next_before: number | null }>();
    assert.deepEqual(rest.items.map((v) => [v.version, v.body, v.source]), [[1, 'one {{generated_at}}', 'create']]);
    assert.equal(rest.next_before, null);
    assert.equal((await call(alice, 'GET', `${url}/versions/2`)).json<{ body: string }>().body, 'two {{portfolio.name}}');
    assert.equal((await call(alice, 'GET', `${url}/versions/9`)).statusCode, 404);
    assert.equal((await call(alice, 'POST', `${url}/versions/1/restore`)).statusCode, 428);
    const restored = await call(alice, 'POST', `${url}/versions/1/restore`, undefined, { 'if-match': '"3"' });
    assert.equal(restored.statusCode, 200, restored.body);
    assert.deepEqual([restored.json<TemplateJson>().version, restored.json<TemplateJson>().body], [4, 'one {{generated_at}}']);
    assert.equal((await call(alice, 'GET', `${url}/versions/4`)).json<{ source: string }>().source, 'restore');
    await call(alice, 'DELETE', url);
  });

  it('template injection: code, prototype lookups, partials, unescaped output and unknown variables are rejected before storing', async () => {
    const own = await create(alice);
    const bad = [
      "{{constructor.constructor('return process')()}}",
      '{{#with "x"}}{{lookup this "__proto__"}}{{/with}}',
      '{{__proto__}}',
      '{{#holdings}}{{constructor}}{{/holdings}}',
      '{{portfolio.constructor.name}}',
      '{{holdings.length}}',
      '{{#holdings}}{{map}}{{/holdings}}',
      '{{> partial}}',
      '{{{portfolio.name}}}',
      '{{& portfolio.name}}',
      '{{=<% %>=}}<% portfolio.name %>',
      '{{#holdings}}{{#news}}x{{/news}}{{/holdings}}',
      '{{#holdings}}unclosed',
      '{{nope}}',
    ];
    for (const body of bad) {
      const created = await call(alice, 'POST', '/v1/templates', { name: 'bad', body });
      assert.equal(created.statusCode, 400, `${body}: ${created.body}`);
      assert.equal(created.json<Problem>().code, 'invalid_template', body);
      const put = await call(alice, 'PUT', `/v1/templates/${own.id}`, { name: 'bad', description: '', body }, { 'if-match': '"1"' });
      assert.equal(put.statusCode, 400, body);
    }
    const huge = await call(alice, 'POST', '/v1/templates', { name: 'big', body: 'x'.repeat(65_537) });
    assert.equal(huge.statusCode, 400);
    assert.equal((await call(alice, 'GET', `/v1/templates/${own.id}`)).json<TemplateJson>().version, 1, 'nothing stored');
    await call(alice, 'DELETE', `/v1/templates/${own.id}`);
  });

  it('the tier cap holds under 20 parallel creates (exactly 5 succeed)', async () => {
    const carol = await createUser(t);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(carol, 'POST', '/v1/templates', { name: `c${i}`, body: 'x' })));
    const codes = results.map((r) => r.statusCode);
    assert.equal(codes.filter((c) => c === 201).length, 5, codes.join(','));
    assert.equal(codes.filter((c) => c === 409).length, 15);
    assert.equal(results.find((r) => r.statusCode === 409)?.json<Problem>().code, 'template_limit_reached');
  });

  it('FAIL-009: 100 concurrent PUTs with the same If-Match → exactly one 200 and 99 × 412, version +1', async () => {
    const own = await create(alice);
    const url = `/v1/templates/${own.id}`;
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(alice, 'PUT', url, { name: `w${i}`, description: '', body: `writer ${i} {{generated_at}}` }, { 'if-match': '"1"' })),
    );
    const codes = results.map((r) => r.statusCode);
    assert.equal(codes.filter((c) => c === 200).length, 1, codes.join(','));
    assert.equal(codes.filter((c) => c === 412).length, 99);
    for (const r of results.filter((x) => x.statusCode === 412)) assert.equal(r.json<Problem>().current_version, 2);
    const winner = results.find((r) => r.statusCode === 200)?.json<TemplateJson>();
    const head = (await call(alice, 'GET', url)).json<TemplateJson>();
    assert.equal(head.version, 2);
    assert.equal(head.body, winner?.body, 'the stored body is the winner’s');
    const versions = (await call(alice, 'GET', `${url}/versions?limit=100`)).json<{ items: { version: number }[] }>();
    assert.deepEqual(versions.items.map((v) => v.version), [2, 1]);
    await call(alice, 'DELETE', url);
  });

  it('FAIL-009: 100 clients retrying with fresh ETags until they succeed → version = initial + 100, 100 new versions in history', async () => {
    const own = await create(alice);
    const url = `/v1/templates/${own.id}`;
    let attempts = 0;
    // Each client reads the ETag once, then retries with the fresh one a 412 hands back.
    const client = async (i: number) => {
      let etag = (await call(alice, 'GET', url)).headers.etag as string;
      for (;;) {
        attempts += 1;
        const res = await call(alice, 'PATCH', url, { body: `client ${i} {{generated_at}}` }, { 'if-match': etag });
        if (res.statusCode === 200) return;
        assert.equal(res.statusCode, 412, res.body);
        etag = res.headers.etag as string;
        assert.equal(etag, `"${res.json<Problem>().current_version}"`);
      }
    };
    await Promise.all(Array.from({ length: 100 }, (_, i) => client(i)));
    const head = (await call(alice, 'GET', url)).json<TemplateJson>();
    assert.equal(head.version, 101);
    assert.ok(attempts >= 100);
    const bodies: string[] = [];
    let before: number | null = null;
    do {
      const page: { items: { version: number; body: string }[]; next_before: number | null } = (
        await call(alice, 'GET', `${url}/versions?limit=100${before === null ? '' : `&before=${before}`}`)
      ).json();
      bodies.push(...page.items.map((v) => v.body));
      before = page.next_before;
    } while (before !== null);
    assert.equal(bodies.length, 101);
    const written = new Set(bodies.filter((b) => b.startsWith('client ')));
    assert.equal(written.size, 100, 'every client’s write is a version of its own');
    await call(alice, 'DELETE', url);
  });
});
