// Readiness: each component is checked with a bound, and the answer says whether the
// service can take traffic. Details are only for operators (FAIL-018).

export interface ComponentCheck {
  name: string;
  /** Whether a failure makes the whole service unready (Redis does not: we degrade). */
  critical: boolean;
  check(): Promise<void>;
}

export interface ComponentStatus {
  name: string;
  status: 'ok' | 'unavailable';
  latency_ms: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  components: ComponentStatus[];
}

const CHECK_TIMEOUT_MS = 2000;

async function run(check: ComponentCheck): Promise<ComponentStatus> {
  const started = performance.now();
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
    ]);
    return { name: check.name, status: 'ok', latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      name: check.name,
      status: 'unavailable',
      latency_ms: Math.round(performance.now() - started),
      error: err instanceof Error ? err.message : 'failed',
    };
  }
}

export function createHealthService(checks: ComponentCheck[]) {
  return {
    async readiness(): Promise<Readiness> {
      const components = await Promise.all(checks.map(run));
      const ready = components.every((c, i) => c.status === 'ok' || checks[i]?.critical === false);
      return { ready, components };
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
