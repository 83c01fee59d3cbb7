// Admin module (FAIL-007): accounts, quotas and security events for the admin role.
// It owns no table: users, sessions and security events belong to the auth/users
// modules and are reached only through the functions they export.
import type { App } from '../../platform/http/types.ts';
import type { Guards } from '../../platform/http/principal.ts';
import { adminRoutes } from './admin.routes.ts';
import { createAdminService, type AdminServiceDeps } from './admin.service.ts';

export function registerAdmin(app: App, deps: AdminServiceDeps & { guards: Guards }): void {
  adminRoutes(app, { guards: deps.guards, admin: createAdminService(deps) });
}

export { createAdminService, type AdminService, type AdminServiceDeps } from './admin.service.ts';
