// IMPORT_BODY_LIMIT_BYTES bounds both import routes, byte for byte: a body of exactly the
// limit is read, one byte more is a 413 problem before anything is parsed or stored.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

const LIMIT = 4096;

/** A valid CSV of deposits of exactly `bytes` bytes (a `pad` column, ignored by the request, takes the slack). */
function csvOfSize(bytes: number): string {
  const header = 'date,type,amount,currency,pad\n';
  const row = '2024-01-02,deposit,100,USD,\n';
  let csv = header;
  while (Buffer.byteLength(csv) + row.length * 2 < bytes) csv += row;
  const last = '2024-01-03,deposit,1,USD,';
  csv += last + 'x'.repeat(bytes - Buffer.byteLength(csv) - last.length - 1) + '\n';
  assert.equal(Buffer.byteLength(csv), bytes);
  return csv;
}

/** An export document of exactly `bytes` bytes (whitespace takes the slack). */
function exportOfSize(bytes: number): string {
  const doc = JSON.stringify({ format: 'financehub-export', version: 1, portfolios: [] });
  return doc + ' '.repeat(bytes - Buffer.byteLength(doc));
}

describe('IMPORT_BODY_LIMIT_BYTES', () => {
  let t: TestApp;
  let user: CreatedUser;
  let pid: string;
  before(async () => {
    t = await buildTestApp({ env: { IMPORT_BODY_LIMIT_BYTES: String(LIMIT) } });
    user = await createUser(t);
    pid = await createPortfolio(t, user);
  });
  after(() => t.close());

  const count = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions WHERE portfolio_id = $1', [pid])).rows[0]?.n;
  const post = (url: string, contentType: string, payload: string) =>
    t.app.inject({ method: 'POST', url, headers: { ...user.headers, 'content-type': contentType }, payload });

  it('a CSV import of exactly the limit is read; one byte over is 413 problem JSON and stores nothing', async () => {
    const url = `/v1/portfolios/${pid}/transactions/import?dryRun=true&ignore=pad`;
    const atLimit = await post(url, 'text/csv', csvOfSize(LIMIT));
    assert.equal(atLimit.statusCode, 200, atLimit.body);
    assert.equal(atLimit.json<{ valid: boolean }>().valid, true);

    const over = await post(`/v1/portfolios/${pid}/transactions/import`, 'text/csv', csvOfSize(LIMIT + 1));
    assert.equal(over.statusCode, 413, over.body);
    assert.match(String(over.headers['content-type']), /^application\/problem\+json/);
    assert.equal(over.json<{ code: string }>().code, 'payload_too_large');
    assert.equal(await count(), 0);
  });

  it('a JSON import (/v1/import) of exactly the limit is read; one byte over is 413 problem JSON', async () => {
    const atLimit = await post('/v1/import', 'application/json', exportOfSize(LIMIT));
    assert.notEqual(atLimit.statusCode, 413, atLimit.body);
    assert.ok(atLimit.statusCode < 500, atLimit.body);
    const over = await post('/v1/import', 'application/json', exportOfSize(LIMIT + 1));
    assert.equal(over.statusCode, 413, over.body);
    assert.match(String(over.headers['content-type']), /^application\/problem\+json/);
    assert.equal(over.json<{ code: string }>().code, 'payload_too_large');
  });

  /** POST /v1/import with `body` sent as a stream of 1 KiB chunks, so no Content-Length is announced unless given. */
  const postStream = (body: string, headers: Record<string, string> = {}) => {
    const bytes = Buffer.from(body);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 1024) }, (_, i) => bytes.subarray(i * 1024, (i + 1) * 1024));
    return t.app.inject({ method: 'POST', url: '/v1/import', headers: { ...user.headers, 'content-type': 'application/json', ...headers }, payload: Readable.from(chunks) });
  };

  it('a JSON import streamed without Content-Length is read up to the limit; one byte more is 413 problem JSON', async () => {
    const atLimit = await postStream(exportOfSize(LIMIT));
    assert.notEqual(atLimit.statusCode, 413, atLimit.body);
    assert.ok(atLimit.statusCode < 500, atLimit.body);
    const over = await postStream(exportOfSize(LIMIT + 1));
    assert.equal(over.statusCode, 413, over.body);
    assert.match(String(over.headers['content-type']), /^application\/problem\+json/);
    assert.equal(over.json<{ code: string }>().code, 'payload_too_large');
  });

  it('a JSON import whose body is not as long as its Content-Length says is 400 problem JSON', async () => {
    const body = exportOfSize(2000);
    const res = await postStream(body, { 'content-length': String(Buffer.byteLength(body) + 10) });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.json<{ code: string }>().code, 'invalid_content_length');
  });
});
