// FAIL-023: the OpenAPI document is built while the server starts (`serve` passes
// buildDocs), not by the first request for it: @fastify/swagger builds it on first use and
// keeps it, and the first GET /docs/yaml held the event loop for over 100 ms of CPU.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { monitorCpuStalls } from '../../helpers/stalls.ts';

/** The stall budget (docs/limits.md): building the YAML on first use took 80–115 ms of CPU here, 12–19 built at start-up. */
const MAX_STALL_MS = 100;

/** The longest CPU stall while the first GET /docs/yaml is answered. */
async function firstDocumentStall(t: TestApp): Promise<number> {
  const stalls = monitorCpuStalls();
  const yaml = await t.app.inject({ method: 'GET', url: '/docs/yaml' });
  const longest = stalls.stop();
  assert.equal(yaml.statusCode, 200);
  assert.match(yaml.body, /^openapi: 3\.1\.0$/m);
  return longest;
}

describe('the OpenAPI document', () => {
  let built: TestApp;
  let lazy: TestApp;
  before(async () => {
    built = await buildTestApp({ buildDocs: true });
    lazy = await buildTestApp({ shareWith: built });
  });
  after(async () => {
    await lazy.close();
    await built.close();
  });

  it(`FAIL-023: built at start-up, its first request holds the event loop under ${MAX_STALL_MS} ms of CPU, and for under half of what building it on first use does`, async (context) => {
    const atStart = await firstDocumentStall(built);
    const onFirstUse = await firstDocumentStall(lazy);
    context.diagnostic(`longest stall ${atStart.toFixed(1)} ms of CPU built at start-up, ${onFirstUse.toFixed(1)} ms built by the request`);
    assert.ok(atStart < MAX_STALL_MS, `${atStart.toFixed(0)} ms of CPU`);
    // Measured in one run, so the ratio holds on a slow machine too. Half, not less: the two
    // usually differ five- to sixfold, but a collector pause in the small figure has brought
    // them within 2.5× on a loaded CI machine, which says nothing about the document.
    assert.ok(2 * atStart < onFirstUse, `built at start-up ${atStart.toFixed(0)} ms, on first use ${onFirstUse.toFixed(0)} ms of CPU`);
  });
});
