// Generated templates with a job worker: a new template from chosen sections; replacing a
// body needs If-Match; a generation that loses to a user edit records `conflict` with the
// version it lost to (FAIL-009: concurrent generate jobs and user edits never lose a write).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { waitFor } from '../../helpers/wait.ts';

interface GenerationJson {
  id: string;
  template_id: string | null;
  status: string;
  result_version: number | null;
  current_version: number | null;
}

describe('generated templates', () => {
  let t: TestApp;
  let alice: CreatedUser;
  let bob: CreatedUser;

  const call = (user: CreatedUser, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method, url, headers: { ...user.headers, ...headers }, ...(payload === undefined ? {} : { payload }) });
  const settled = (id: string) =>
    waitFor('generation finished', async () => {
      const g = (await call(alice, 'GET', `/v1/templates/generations/${id}`)).json<GenerationJson>();
      return g.status === 'queued' ? undefined : g;
    });

  before(async () => {
    t = await buildTestApp({ worker: true, env: { MARKET_DATA_PROVIDER: 'none', JOBS_POLL_INTERVAL_MS: '500', JOBS_CONCURRENCY: '4' } });
    [alice, bob] = await Promise.all([createUser(t), createUser(t)]);
  });
  after(() => t.close());

  it('generates a new template from the chosen sections', async () => {
    const res = await call(alice, 'POST', '/v1/templates/generate', { sections: ['summary', 'holdings'], name: 'Gen' });
    assert.equal(res.statusCode, 202, res.body);
    const done = await settled(res.json<GenerationJson>().id);
    assert.equal(done.status, 'done');
    assert.ok(done.template_id !== null);
    const template = (await call(alice, 'GET', `/v1/templates/${done.template_id}`)).json<{ body: string; version: number }>();
    assert.equal(template.version, 1);
    assert.match(template.body, /## Summary[\s\S]*## Holdings/);
    assert.doesNotMatch(template.body, /## News/);
    assert.equal((await call(bob, 'GET', `/v1/templates/generations/${done.id}`)).statusCode, 404);
    assert.equal((await call(alice, 'POST', '/v1/templates/generate', { sections: ['nonsense'] })).statusCode, 400);
  });

  it('replacing a body needs If-Match (428), and writes a new version with source generate', async () => {
    const template = (await call(alice, 'POST', '/v1/templates', { name: 'T', body: 'x' })).json<{ id: string }>();
    assert.equal((await call(alice, 'POST', '/v1/templates/generate', { sections: ['news'], template_id: template.id })).statusCode, 428);
    assert.equal((await call(bob, 'POST', '/v1/templates/generate', { sections: ['news'], template_id: template.id }, { 'if-match': '"1"' })).statusCode, 404);
    const res = await call(alice, 'POST', '/v1/templates/generate', { sections: ['news'], template_id: template.id }, { 'if-match': '"1"' });
    const done = await settled(res.json<GenerationJson>().id);
    assert.deepEqual([done.status, done.result_version], ['done', 2]);
    assert.equal((await call(alice, 'GET', `/v1/templates/${template.id}/versions/2`)).json<{ source: string }>().source, 'generate');
  });

  it('FAIL-009: a generation that loses to a user edit records a conflict and overwrites nothing', async () => {
    const template = (await call(alice, 'POST', '/v1/templates', { name: 'T', body: 'x' })).json<{ id: string }>();
    assert.equal((await call(alice, 'PATCH', `/v1/templates/${template.id}`, { body: 'user edit' }, { 'if-match': '"1"' })).statusCode, 200);
    const res = await call(alice, 'POST', '/v1/templates/generate', { sections: ['summary'], template_id: template.id }, { 'if-match': '"1"' });
    const lost = await settled(res.json<GenerationJson>().id);
    assert.deepEqual([lost.status, lost.current_version, lost.result_version], ['conflict', 2, null]);
    const head = (await call(alice, 'GET', `/v1/templates/${template.id}`)).json<{ body: string; version: number }>();
    assert.deepEqual([head.version, head.body], [2, 'user edit']);
  });

  it('FAIL-009: concurrent generate jobs and user edits on one version never lose a write (one winner, every loser recorded)', async () => {
    const template = (await call(alice, 'POST', '/v1/templates', { name: 'T', body: 'x' })).json<{ id: string }>();
    const requests = await Promise.all([
      ...Array.from({ length: 10 }, () => call(alice, 'POST', '/v1/templates/generate', { sections: ['summary'], template_id: template.id }, { 'if-match': '"1"' })),
      ...Array.from({ length: 10 }, (_, i) => call(alice, 'PATCH', `/v1/templates/${template.id}`, { body: `user ${i}` }, { 'if-match': '"1"' })),
    ]);
    const generations = await Promise.all(requests.slice(0, 10).map((r) => settled(r.json<GenerationJson>().id)));
    const edits = requests.slice(10).map((r) => r.statusCode);
    const wins = generations.filter((g) => g.status === 'done').length + edits.filter((c) => c === 200).length;
    assert.equal(wins, 1, JSON.stringify({ gens: generations.map((g) => g.status), edits }));
    assert.equal(generations.filter((g) => g.status === 'conflict').length + edits.filter((c) => c === 412).length, 19);
    const head = (await call(alice, 'GET', `/v1/templates/${template.id}`)).json<{ version: number }>();
    assert.equal(head.version, 2);
    const versions = (await call(alice, 'GET', `/v1/templates/${template.id}/versions`)).json<{ items: unknown[] }>();
    assert.equal(versions.items.length, 2);
  });
});
