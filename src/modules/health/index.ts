export { createHealthService, type ComponentCheck, type HealthService } from './health.service.ts';
export { healthRoutes, type HealthRouteDeps } from './health.routes.ts';
