// Saved column mappings per user (/v1/import/mappings): a name for what an import
// request says about a file, reusable by id or name as `mapping=` on an import. Every
// query filters by the owner; another user's mapping answers 404 like a missing one.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import type { CsvImportOptions } from './import.csv.ts';
import type { DateFormat, DecimalSeparator, DelimiterName } from './import.formats.ts';
import type { ImportTarget, PresetName } from './import.presets.ts';
import type { MappingBody, MappingOut } from './portfolios.schemas.ts';

interface MappingRow {
  id: string;
  name: string;
  preset: string | null;
  delimiter: string | null;
  date_format: string | null;
  decimal_separator: string | null;
  columns: Record<string, string> | string;
  ignored: string[] | string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, preset, delimiter, date_format, decimal_separator, columns, ignored, created_at, updated_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Mappings one user may keep. */
export const MAX_MAPPINGS = 100;

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

function mappingOut(row: MappingRow): MappingOut {
  return {
    id: row.id,
    name: row.name,
    preset: row.preset,
    delimiter: row.delimiter,
    date_format: row.date_format,
    decimal: row.decimal_separator,
    columns: json<Record<string, string>>(row.columns),
    ignore: json<string[]>(row.ignored),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

const isUniqueViolation = (err: unknown) => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';

export function createMappingsService(deps: { db: Database; clock: Clock }) {
  const { db, clock } = deps;
  const values = (body: MappingBody) => [
    body.name,
    body.preset ?? null,
    body.delimiter ?? null,
    body.date_format ?? null,
    body.decimal ?? null,
    JSON.stringify(body.columns ?? {}),
    JSON.stringify(body.ignore ?? []),
  ];
  const duplicateName = (name: string) => conflict('mapping_name_taken', `You already have a mapping named "${name}".`);

  async function find(userId: string, idOrName: string): Promise<MappingRow | undefined> {
    const byId = UUID.test(idOrName);
    const { rows } = await db.query<MappingRow>(
      `SELECT ${COLUMNS} FROM import_mappings WHERE user_id = $1 AND ${byId ? 'id = $2::uuid' : 'name = $2'}`,
      [userId, idOrName],
    );
    return rows[0];
  }

  return {
    async list(userId: string): Promise<MappingOut[]> {
      const { rows } = await db.query<MappingRow>(`SELECT ${COLUMNS} FROM import_mappings WHERE user_id = $1 ORDER BY name`, [userId]);
      return rows.map(mappingOut);
    },
    async get(userId: string, idOrName: string): Promise<MappingOut> {
      const row = await find(userId, idOrName);
      if (row === undefined) throw notFound('Mapping');
      return mappingOut(row);
    },
    async create(userId: string, body: MappingBody): Promise<MappingOut> {
      const now = clock.now();
      try {
        const { rows } = await db.query<MappingRow>(
          `INSERT INTO import_mappings (id, user_id, name, preset, delimiter, date_format, decimal_separator, columns, ignored, created_at, updated_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $10
           WHERE (SELECT count(*) FROM import_mappings WHERE user_id = $2) < $11
           RETURNING ${COLUMNS}`,
          [randomUUID(), userId, ...values(body), now, MAX_MAPPINGS],
        );
        const row = rows[0];
        if (row === undefined) throw conflict('mapping_limit', `You can keep at most ${MAX_MAPPINGS} mappings; delete one first.`);
        return mappingOut(row);
      } catch (err) {
        if (isUniqueViolation(err)) throw duplicateName(body.name);
        throw err;
      }
    },
    async replace(userId: string, id: string, body: MappingBody): Promise<MappingOut> {
      try {
        const { rows } = await db.query<MappingRow>(
          `UPDATE import_mappings SET name = $3, preset = $4, delimiter = $5, date_format = $6, decimal_separator = $7,
             columns = $8::jsonb, ignored = $9::jsonb, updated_at = $10
           WHERE user_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
          [userId, id, ...values(body), clock.now()],
        );
        const row = rows[0];
        if (row === undefined) throw notFound('Mapping');
        return mappingOut(row);
      } catch (err) {
        if (isUniqueViolation(err)) throw duplicateName(body.name);
        throw err;
      }
    },
    async remove(userId: string, id: string): Promise<void> {
      const { rowCount } = await db.query('DELETE FROM import_mappings WHERE user_id = $1 AND id = $2', [userId, id]);
      if ((rowCount ?? 0) === 0) throw notFound('Mapping');
    },
    /** A saved mapping as import options (404 when the caller has none by that id or name). */
    async options(userId: string, idOrName: string): Promise<CsvImportOptions> {
      const row = await find(userId, idOrName);
      if (row === undefined) throw notFound('Mapping');
      return {
        preset: (row.preset ?? undefined) as PresetName | undefined,
        delimiter: (row.delimiter ?? undefined) as DelimiterName | undefined,
        dateFormat: (row.date_format ?? undefined) as DateFormat | undefined,
        decimal: (row.decimal_separator ?? undefined) as DecimalSeparator | undefined,
        columns: json<Record<string, ImportTarget>>(row.columns as Record<string, ImportTarget> | string),
        ignore: json<string[]>(row.ignored),
      };
    },
  };
}

export type MappingsService = ReturnType<typeof createMappingsService>;
