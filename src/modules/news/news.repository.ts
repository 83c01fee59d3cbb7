// News rows: inserted once per (symbol, provider id) and per (symbol, URL); listed newest
// first with a keyset cursor.
import type { Database } from '../../platform/db/index.ts';

export interface NewsRow {
  id: string;
  symbol: string;
  provider: string;
  provider_id: string;
  headline: string;
  summary: string;
  source: string | null;
  url: string | null;
  image_url: string | null;
  published_at: Date;
  sentiment: string;
}

const COLUMNS = 'id, symbol, provider, provider_id, headline, summary, source, url, image_url, published_at, sentiment::text AS sentiment';

export function createNewsRepository(db: Database) {
  return {
    /** Inserts what is new; returns only the rows actually inserted (duplicates by id or URL are skipped). */
    async insert(rows: NewsRow[], at: Date): Promise<NewsRow[]> {
      const inserted: NewsRow[] = [];
      for (const row of rows) {
        const { rows: out } = await db.query<NewsRow>(
          `INSERT INTO news_items (id, symbol, provider, provider_id, headline, summary, source, url, image_url, published_at, sentiment, fetched_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::numeric, $12)
           ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
          [row.id, row.symbol, row.provider, row.provider_id, row.headline, row.summary, row.source, row.url, row.image_url, row.published_at, row.sentiment, at],
        );
        if (out[0] !== undefined) inserted.push(out[0]);
      }
      return inserted;
    },
    async list(symbols: string[], from: Date, to: Date, limit: number, before?: { at: Date; id: string }): Promise<NewsRow[]> {
      const { rows } = await db.query<NewsRow>(
        `SELECT ${COLUMNS} FROM news_items
          WHERE symbol = ANY($1::text[]) AND published_at >= $2 AND published_at <= $3
            AND ($4::timestamptz IS NULL OR (published_at, id) < ($4::timestamptz, $5::uuid))
          ORDER BY published_at DESC, id DESC LIMIT $6`,
        [symbols, from, to, before?.at ?? null, before?.id ?? null, limit],
      );
      return rows;
    },
  };
}

export type NewsRepository = ReturnType<typeof createNewsRepository>;
