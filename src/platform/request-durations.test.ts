import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { RequestDurations } from './request-durations.ts';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NAME = 'financehub_http_request_duration_seconds';

/** The exposition's lines, sorted: the two exporters may list series in different orders, and a line's labels in another order. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/\{([^}]*)\}/, (_m, labels: string) => `{${labels.split(',').sort().join(',')}}`))
    .sort();
}

const observation = fc.record({
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
  route: fc.constantFrom('/v1/me', '/v1/portfolios/:id', 'unmatched', '/a "quoted" \\ route'),
  status: fc.constantFrom(200, 201, 400, 404, 503),
  // Values on every bound, between them, at zero and past the last bound.
  seconds: fc.oneof(fc.constantFrom(0, ...BUCKETS, 11), fc.double({ min: 0, max: 20, noNaN: true })),
});

test('the request-duration histogram exports what a prom-client Histogram exports for the same requests', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
      const ours = new Registry();
      const theirs = new Registry();
      const durations = new RequestDurations({ name: NAME, help: 'HTTP request duration by route and status', buckets: BUCKETS, registry: ours });
      const reference = new Histogram({ name: NAME, help: 'HTTP request duration by route and status', labelNames: ['method', 'route', 'status_code'], buckets: BUCKETS, registers: [theirs] });
      for (const { method, route, status, seconds } of observations) {
        durations.observe(method, route, status, seconds);
        reference.observe({ method, route, status_code: String(status) }, seconds);
      }
      assert.deepEqual(lines(await ours.metrics()), lines(await theirs.metrics()));
    }),
    { numRuns: 200 },
  );
});

test('a reset empties every series', async () => {
  const registry = new Registry();
  const durations = new RequestDurations({ name: NAME, help: 'h', buckets: BUCKETS, registry });
  durations.observe('GET', '/v1/me', 200, 0.003);
  assert.match(await registry.metrics(), /_count\{method="GET",route="\/v1\/me",status_code="200"\} 1/);
  registry.resetMetrics();
  assert.doesNotMatch(await registry.metrics(), /_count/);
});
