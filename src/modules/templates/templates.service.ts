// Templates for the caller: count capped by tier, bodies validated before they are stored,
// and every change a new version written atomically against the version the writer saw
// (If-Match, FAIL-009): a missing precondition is a 428, a stale one a 412 that names the
// current version. Restoring a version writes its content as a new version.
import { randomUUID } from 'node:crypto';
import type { TierLimits } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { decodeTimeCursor, encodeTimeCursor } from '../../platform/http/cursor.ts';
import { validateTemplate } from './language.ts';
import type { TemplateChange, TemplateRow, TemplatesRepository, TemplateVersionRow } from './templates.repository.ts';

export interface TemplatesServiceDeps {
  db: Database;
  repo: TemplatesRepository;
  clock: Clock;
  tiers: { free: TierLimits; pro: TierLimits };
}

export const preconditionRequired = () =>
  new AppError(428, 'precondition_required', 'Precondition required', { detail: 'Send If-Match with the ETag of the version you are changing.' });

export const preconditionFailed = (current: number) =>
  new AppError(412, 'precondition_failed', 'Precondition failed', {
    detail: `The template is at version ${current}; fetch it again and reapply your change.`,
    extra: { current_version: current },
    headers: { etag: `"${current}"` },
  });

/** The version an If-Match header names: a strong ETag `"<n>"`; absent or `*` → 428; anything else matches no version. */
export function expectedVersion(ifMatch: string | undefined): number {
  if (ifMatch === undefined || ifMatch.trim() === '' || ifMatch.trim() === '*') throw preconditionRequired();
  const match = /^"([1-9][0-9]{0,8})"$/.exec(ifMatch.trim());
  return match === null ? 0 : Number(match[1]);
}

export function createTemplatesService(deps: TemplatesServiceDeps) {
  const { db, repo, clock } = deps;

  const owned = async (userId: string, id: string): Promise<TemplateRow> => {
    const row = await repo.get(db, userId, id);
    if (row === undefined) throw notFound('Template');
    return row;
  };

  /** One atomic new version; 404 for a template the user does not have, 412 when `expected` is stale. */
  const write = async (userId: string, id: string, expected: number, change: TemplateChange, source: TemplateVersionRow['source']): Promise<TemplateRow> => {
    if (change.body !== undefined) validateTemplate(change.body);
    const result = await db.transaction((tx) => repo.update(tx, userId, id, expected, change, source, clock.now()));
    if ('current' in result) {
      if (result.current === null) throw notFound('Template');
      throw preconditionFailed(result.current);
    }
    return result;
  };

  return {
    async create(user: { userId: string; tier: 'free' | 'pro' }, input: { name: string; description?: string | undefined; body: string }): Promise<TemplateRow> {
      validateTemplate(input.body);
      const cap = deps.tiers[user.tier].templates;
      const row = await repo.create({ id: randomUUID(), user_id: user.userId, name: input.name, description: input.description ?? '', body: input.body, created_at: clock.now() }, cap);
      if (row === 'full') throw new AppError(409, 'template_limit_reached', 'Conflict', { detail: `Your tier allows ${cap} templates.`, extra: { limit: cap } });
      return row;
    },
    get: owned,
    async list(userId: string, limit: number, cursor?: string): Promise<{ items: TemplateRow[]; nextCursor: string | null }> {
      const after = cursor === undefined ? undefined : decodeTimeCursor(cursor, 'templates');
      const page = await repo.list(userId, limit, after);
      const last = page.rows.at(-1);
      return { items: page.rows, nextCursor: page.more && last !== undefined ? encodeTimeCursor('templates', last.created_at, last.id) : null };
    },
    update: (userId: string, id: string, expected: number, change: TemplateChange) => write(userId, id, expected, change, 'update'),
    async restore(userId: string, id: string, version: number, expected: number): Promise<TemplateRow> {
      const old = await repo.version(db, userId, id, version);
      if (old === undefined) throw notFound('Template version');
      return write(userId, id, expected, { name: old.name, description: old.description, body: old.body }, 'restore');
    },
    async remove(userId: string, id: string): Promise<void> {
      if (!(await repo.remove(userId, id))) throw notFound('Template');
    },
    async versions(userId: string, id: string, limit: number, before?: number): Promise<{ items: TemplateVersionRow[]; nextBefore: number | null }> {
      await owned(userId, id);
      const page = await repo.versions(userId, id, limit, before);
      const last = page.rows.at(-1);
      return { items: page.rows, nextBefore: page.more && last !== undefined ? last.version : null };
    },
    async version(userId: string, id: string, version: number): Promise<TemplateVersionRow> {
      const row = await repo.version(db, userId, id, version);
      if (row === undefined) throw notFound('Template version');
      return row;
    },
  };
}

export type TemplatesService = ReturnType<typeof createTemplatesService>;
