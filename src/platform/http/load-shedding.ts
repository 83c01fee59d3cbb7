// Load shedding (FAIL-023): past the configured event-loop delay or heap use, new
// requests are refused early with 503 and Retry-After instead of queueing until the
// process collapses. Liveness is never shed, so an orchestrator does not kill a
// process that is merely busy.
import { serviceUnavailable } from '../errors.ts';
import type { App } from './types.ts';

export interface PressureLimits {
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  retryAfterSeconds: number;
}

export interface PressureReadings {
  eventLoopDelayMs: () => number;
  heapUsedBytes: () => number;
}

const NEVER_SHED = new Set(['/health/live']);

export function overloadReason(limits: PressureLimits, readings: PressureReadings): string | undefined {
  if (limits.maxEventLoopDelayMs > 0 && readings.eventLoopDelayMs() > limits.maxEventLoopDelayMs) {
    return 'event loop delay';
  }
  if (limits.maxHeapUsedBytes > 0 && readings.heapUsedBytes() > limits.maxHeapUsedBytes) {
    return 'heap use';
  }
  return undefined;
}

export function registerLoadShedding(app: App, limits: PressureLimits, readings: PressureReadings): void {
  app.addHook('onRequest', (request, _reply, done) => {
    // The pressure first: it is a cached reading, while naming the route builds Fastify's
    // routeOptions object.
    const reason = overloadReason(limits, readings);
    if (reason === undefined || NEVER_SHED.has(request.routeOptions.url ?? '')) return done();
    request.log.warn({ event: 'load_shed', reason }, 'request shed under load');
    done(serviceUnavailable('overloaded', `The server is overloaded (${reason}); retry later.`, limits.retryAfterSeconds));
  });
}
