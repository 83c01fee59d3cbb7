// Bulk import and export. CSV from brokers (header aliases, every bad row reported with
// its line, field and reason; a dry run writes nothing; a real run is all-or-nothing in
// one database transaction and skips rows equal to a transaction already stored), and
// the JSON export of everything a user owns, which imports into another account and
// reproduces the same holdings.
import { capReached, checkTransactionCaps, splitsIn, type PortfolioCaps } from './portfolios.caps.ts';
import { randomUUID } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import { plainExact, SCALE, toPlain } from '../../money/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { csvCell } from '../../platform/csv.ts';
import type { Database } from '../../platform/db/index.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Tier } from '../../platform/http/principal.ts';
import { InsufficientQuantityError, Ledger, sortForReplay, toLedger } from './holdings.ts';
import { INSERT_ROWS, type PortfoliosRepository } from './portfolios.repository.ts';
import { EXPORT_FORMAT, EXPORT_TRANSACTION_FIELDS, type ExportDocument, type ImportResult } from './portfolios.schemas.ts';
import { insufficientQuantity, portfolioOut, transactionOut } from './portfolios.service.ts';
import type { Transaction, TransactionFields, TransactionInput } from './portfolios.types.ts';
import { validateTransaction } from './transactions.validation.ts';
import { parseTransactionsCsv, ROWS_PER_TURN, type CsvImportOptions, type RowProblem } from './import.csv.ts';

export { MAX_IMPORT_ROWS, parseTransactionsCsv, type CsvImportOptions, type RowProblem } from './import.csv.ts';

/** Rows per INSERT statement of an import on PGlite. */
export const PGLITE_INSERT_ROWS = 100;

/** Transactions read and serialised per piece of a streamed export. */
export const EXPORT_PAGE_ROWS = 250;

/** Rows of an import's answer serialised per piece (about 140 kB, a few milliseconds). */
export const ANSWER_ROWS_PER_PIECE = 2_000;

/**
 * An import's answer (ImportResult) as JSON text in pieces, a turn of the event loop between
 * them (FAIL-023). A 50,000-row file answers 3.4 MB with a status per row, which the route's
 * schema serialiser wrote in one go: 45–150 ms of main-thread time. Every object is rebuilt
 * from the schema's fields, so, as with the serialiser, nothing else can reach the answer.
 */
export async function* importResultJson(result: ImportResult): AsyncGenerator<string> {
  const { dry_run, valid, rows, imported, would_import, duplicates, skipped } = result;
  const counts = JSON.stringify({ dry_run, valid, rows, imported, would_import, duplicates, skipped });
  yield `${counts.slice(0, -1)},"errors":[`;
  yield* jsonPieces(result.errors, (e) => ({ row: e.row, field: e.field, reason: e.reason }));
  yield '],"statuses":[';
  yield* jsonPieces(result.statuses, (st) => ({ row: st.row, status: st.status, type: st.type, symbol: st.symbol, reason: st.reason }));
  yield ']}';
}

/** The items of a JSON array, comma-separated, ANSWER_ROWS_PER_PIECE per piece. */
async function* jsonPieces<T>(items: readonly T[], fields: (item: T) => object): AsyncGenerator<string> {
  for (let start = 0; start < items.length; start += ANSWER_ROWS_PER_PIECE) {
    if (start > 0) await setImmediate();
    const text = items
      .slice(start, start + ANSWER_ROWS_PER_PIECE)
      .map((item) => JSON.stringify(fields(item)))
      .join(',');
    yield start === 0 ? text : `,${text}`;
  }
}

/** Identity of a transaction's contents, for "exact duplicate" detection (values compared numerically). */
export function duplicateKey(tx: TransactionInput): string {
  const plain = (v: TransactionInput['quantity']) => (v === null ? '' : toPlain(v));
  return JSON.stringify([
    tx.type,
    tx.symbol ?? '',
    plain(tx.quantity),
    plain(tx.price),
    plain(tx.amount),
    toPlain(tx.fee),
    tx.currency,
    toPlain(tx.fxRate),
    tx.ratioNumerator ?? '',
    tx.ratioDenominator ?? '',
    tx.executedAt.toISOString(),
    tx.note ?? '',
  ]);
}

/** An exported transaction: exactly the fields the import takes back, in schema order. */
function exportTransaction(tx: Transaction): Record<string, unknown> {
  const out: Record<string, unknown> = transactionOut(tx);
  const picked: Record<string, unknown> = {};
  for (const field of EXPORT_TRANSACTION_FIELDS) if (field in out) picked[field] = out[field];
  return picked;
}

/**
 * Replays existing and new transactions together and reports every new sell that would
 * exceed the holding at its time (not just the first), as row problems.
 */
async function replayProblems(existing: readonly TransactionFields[], added: Array<TransactionFields & { row: number }>): Promise<RowProblem[]> {
  const problems: RowProblem[] = [];
  const ledger = new Ledger();
  const rowOf = new Map(added.map((tx) => [tx.id, tx.row]));
  for (const [index, tx] of sortForReplay([...existing, ...added]).entries()) {
    if (index % ROWS_PER_TURN === ROWS_PER_TURN - 1) await setImmediate();
    try {
      ledger.apply(toLedger(tx));
    } catch (err) {
      if (!(err instanceof InsufficientQuantityError)) throw err;
      const row = rowOf.get(tx.id);
      // A sell already stored cannot fail on its own; an earlier added row does not take
      // shares away, so this only happens through a new row.
      problems.push({
        row: row ?? 0,
        field: 'quantity',
        reason: `insufficient_quantity: selling ${plainExact(err.requested)} ${err.symbol} exceeds the ${err.held.format(SCALE.quantity)} held at that time`,
      });
    }
  }
  return problems;
}

/** Items sorted in one piece while ordering a large import (a few milliseconds of work). */
const SORT_RUN = 2048;

/**
 * The replay order of a large import as positions in the document, in slices (FAIL-023):
 * the order sortForReplay gives (by time; ties keep their order in the document), from the
 * times alone. An export is already in that order, which one pass confirms; anything else
 * is sorted in runs of SORT_RUN and merged, with a turn of the loop between runs and every
 * SORT_RUN merged positions. Positions are small integers, which cost the collector nothing.
 */
async function replayOrder(times: Float64Array): Promise<number[]> {
  const positions = Array.from({ length: times.length }, (_, i) => i);
  let sorted = true;
  for (let i = 1; i < times.length && sorted; i++) sorted = (times[i - 1] as number) <= (times[i] as number);
  if (sorted) return positions;
  const byTime = (a: number, b: number) => (times[a] as number) - (times[b] as number) || a - b;
  let runs: number[][] = [];
  for (let start = 0; start < positions.length; start += SORT_RUN) {
    runs.push(positions.slice(start, start + SORT_RUN).sort(byTime));
    await setImmediate();
  }
  while (runs.length > 1) {
    const merged: number[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const left = runs[r] as number[];
      const right = runs[r + 1];
      if (right === undefined) {
        merged.push(left);
        continue;
      }
      const out: number[] = [];
      let i = 0;
      let j = 0;
      while (i < left.length || j < right.length) {
        // The left run came first in the document: it wins ties.
        if (j >= right.length || (i < left.length && byTime(left[i] as number, right[j] as number) <= 0)) out.push(left[i++] as number);
        else out.push(right[j++] as number);
        if (out.length % SORT_RUN === 0) await setImmediate();
      }
      merged.push(out);
    }
    runs = merged;
  }
  return runs[0] ?? [];
}

/** The caller's watchlist, from the market module (exported with the portfolios, restored by an import). */
export interface WatchlistAccess {
  list(userId: string): Promise<Array<{ symbol: string; added_at: Date | string }>>;
  add(principal: { userId: string; tier: Tier }, symbol: string): Promise<void>;
}

export interface ImportDeps {
  db: Database;
  repo: PortfoliosRepository;
  clock: Clock;
  logger: Logger;
  watchlist?: WatchlistAccess | undefined;
  newId?: () => string;
}

/** Columns of the CSV export, in the import's own field names (it reads them back unmapped). */
export const CSV_EXPORT_COLUMNS = [
  'executed_at', 'type', 'symbol', 'quantity', 'price', 'amount', 'fee', 'currency', 'fx_rate', 'ratio_numerator', 'ratio_denominator', 'note',
] as const;

/**
 * One CSV field: formula-looking text neutralised with a leading quote (FAIL-007, the
 * importer takes it off again), quoted when it holds a quote, comma or line break.
 */
function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  return csvCell(String(value));
}

export function createImportService(deps: ImportDeps) {
  const { db, repo, clock, logger } = deps;
  const newId = deps.newId ?? randomUUID;
  // On PGlite every statement runs on the main thread: a 500-row INSERT of a large import
  // would hold it for ~30–60 ms, 100 rows for a fifth of that (FAIL-023).
  const insertBatchRows = db.kind === 'pglite' ? PGLITE_INSERT_ROWS : INSERT_ROWS;

  return {
    /**
     * Imports CSV rows into a portfolio the user owns. `onProgress(done, total)` is called
     * as rows are written (the CLI draws its progress bar from it).
     */
    async importCsv(
      userId: string,
      portfolioId: string,
      text: string,
      /** `caps`: the caller's tier limits (HTTP); the operator's CLI passes none. */
      options: { dryRun: boolean; csv?: CsvImportOptions; onProgress?: (done: number, total: number) => void; caps?: PortfolioCaps },
    ): Promise<{ status: number; result: ImportResult }> {
      // Parsing and validating (the costly, CPU-bound part) happen before the transaction
      // and yield to the event loop as they go; the portfolio's base currency, the one
      // thing validation needs from it, never changes once it is created.
      const owned = await repo.findPortfolio(db, userId, portfolioId);
      if (owned === null) throw notFound('Portfolio');
      const { rows, fileProblems } = await parseTransactionsCsv(text, { ...options.csv, baseCurrency: owned.baseCurrency });
      const errors: RowProblem[] = [...fileProblems];
      const now = clock.now();
      const valid: Array<{ row: number; input: TransactionInput }> = [];
      const statuses: ImportResult['statuses'] = [];
      const statusOf = new Map<number, ImportResult['statuses'][number]>();
      for (const [index, parsed] of rows.entries()) {
        if (parsed.skipped !== undefined) {
          statuses.push({ row: parsed.row, status: 'skipped', reason: parsed.skipped });
          continue;
        }
        const status: ImportResult['statuses'][number] = { row: parsed.row, status: 'invalid' };
        statuses.push(status);
        statusOf.set(parsed.row, status);
        errors.push(...parsed.problems);
        const result = validateTransaction(parsed.raw, { baseCurrency: owned.baseCurrency, now });
        if (!result.ok) {
          // A cell that could not be read is reported once, as read: validation then sees
          // it missing ("is required"), which would only repeat the same problem.
          const unreadable = new Set(parsed.problems.map((p) => p.field));
          errors.push(...result.errors.filter((e) => !unreadable.has(e.field)).map((e) => ({ row: parsed.row, field: e.field, reason: e.message })));
        }
        else if (parsed.problems.length === 0) {
          valid.push({ row: parsed.row, input: result.value });
          status.status = 'would_import';
          status.type = result.value.type;
          if (result.value.symbol !== null) status.symbol = result.value.symbol;
        }
        if (index % ROWS_PER_TURN === ROWS_PER_TURN - 1) await setImmediate();
      }
      return db.transaction(async (q) => {
        const portfolio = await repo.findPortfolio(q, userId, portfolioId, { forUpdate: true });
        if (portfolio === null) throw notFound('Portfolio');

        const existing = await repo.allTransactions(q, userId, portfolioId);
        const counts = new Map<string, number>();
        for (const [index, tx] of existing.entries()) {
          const key = duplicateKey(tx);
          counts.set(key, (counts.get(key) ?? 0) + 1);
          if (index % ROWS_PER_TURN === ROWS_PER_TURN - 1) await setImmediate();
        }
        const fresh: Array<{ row: number; input: TransactionInput; id: string }> = [];
        let duplicates = 0;
        for (const [index, item] of valid.entries()) {
          if (index % ROWS_PER_TURN === ROWS_PER_TURN - 1) await setImmediate();
          const key = duplicateKey(item.input);
          const left = counts.get(key) ?? 0;
          if (left > 0) {
            counts.set(key, left - 1);
            duplicates += 1;
            const status = statusOf.get(item.row);
            if (status !== undefined) status.status = 'duplicate';
          } else fresh.push({ ...item, id: newId() });
        }
        // Counted under the portfolio's row lock, so parallel imports cannot pass the caps together.
        if (options.caps !== undefined) {
          checkTransactionCaps(options.caps, { total: existing.length, splits: splitsIn(existing) }, fresh.length, splitsIn(fresh.map((f) => f.input)));
        }
        const replay = await replayProblems(existing, fresh.map((f) => ({ ...f.input, id: f.id, row: f.row })));
        for (const problem of replay) {
          const status = statusOf.get(problem.row);
          if (status !== undefined) status.status = 'invalid';
        }
        errors.push(...replay);
        errors.sort((a, b) => a.row - b.row);
        for (const problem of errors) {
          const status = statusOf.get(problem.row);
          if (status !== undefined && status.reason === undefined) status.reason = `${problem.field}: ${problem.reason}`;
        }
        const wouldImport = statuses.filter((st) => st.status === 'would_import').length;

        const result: ImportResult = {
          dry_run: options.dryRun,
          valid: errors.length === 0,
          rows: rows.length,
          imported: 0,
          would_import: wouldImport,
          duplicates,
          skipped: statuses.filter((st) => st.status === 'skipped').length,
          errors,
          statuses,
        };
        if (options.dryRun) return { status: 200, result };
        if (errors.length > 0) {
          throw new AppError(422, 'import_invalid', 'Unprocessable content', {
            detail: `${errors.length} problem(s) in the file; nothing was imported. Each is listed in rows[].`,
            errors: errors.slice(0, 100).map((e) => ({ field: `row ${e.row}: ${e.field}`, message: e.reason })),
            extra: { rows: errors },
          });
        }
        let done = 0;
        options.onProgress?.(0, fresh.length);
        await repo.insertTransactions(q, { portfolioId, userId, now }, fresh, (written) => {
          done = written;
          options.onProgress?.(written, fresh.length);
        });
        await repo.bumpRevision(q, portfolioId);
        logger.info({ event: 'transactions_imported', userId, portfolioId, imported: done, duplicates }, 'transactions imported');
        return { status: 201, result: { ...result, imported: done } };
      });
    },

    /**
     * Everything the user owns (an ExportDocument: portfolios and their transactions in
     * replay order, decimals as strings) as JSON text in pieces of EXPORT_PAGE_ROWS
     * transactions: each piece is one keyset read and one small serialisation, so the
     * work is linear and no piece holds the event loop for long, however large the
     * account. The portfolios are read before the first piece, so a failure to start is
     * still an error answer rather than a cut-off body.
     */
    async exportStream(userId: string): Promise<AsyncGenerator<string>> {
      const portfolios = await repo.listPortfolios(db, userId);
      const watchlist = (await deps.watchlist?.list(userId)) ?? [];
      const exportedAt = clock.now().toISOString();
      async function* pieces(): AsyncGenerator<string> {
        yield `{"format":${JSON.stringify(EXPORT_FORMAT)},"version":1,"exported_at":${JSON.stringify(exportedAt)},"portfolios":[`;
        for (const [index, portfolio] of portfolios.entries()) {
          const head = JSON.stringify(portfolioOut(portfolio));
          yield `${index === 0 ? '' : ','}${head.slice(0, -1)},"transactions":[`;
          let after: { executedAt: Date; seq: number } | null = null;
          let first = true;
          for (;;) {
            const page = await repo.transactionsAfterIndexed(db, userId, portfolio.id, after, EXPORT_PAGE_ROWS);
            let text = '';
            for (const tx of page) {
              text += (first ? '' : ',') + JSON.stringify(exportTransaction(tx));
              first = false;
            }
            if (text !== '') yield text;
            const last = page.at(-1);
            if (last === undefined || page.length < EXPORT_PAGE_ROWS) break;
            after = { executedAt: last.executedAt, seq: last.seq };
          }
          yield ']}';
        }
        const items = watchlist.map((w) => ({ symbol: w.symbol, added_at: new Date(w.added_at).toISOString() }));
        yield `],"watchlist":${JSON.stringify(items)}}`;
      }
      return pieces();
    },

    /**
     * One portfolio's transactions as CSV (header CSV_EXPORT_COLUMNS, replay order), in
     * keyset pages like the JSON export; the CSV import reads it back unchanged.
     */
    async exportCsv(userId: string, portfolioId: string): Promise<AsyncGenerator<string>> {
      const portfolio = await repo.findPortfolio(db, userId, portfolioId);
      if (portfolio === null) throw notFound('Portfolio');
      async function* pieces(): AsyncGenerator<string> {
        yield `${CSV_EXPORT_COLUMNS.join(',')}\n`;
        let after: { executedAt: Date; seq: number } | null = null;
        for (;;) {
          const page = await repo.transactionsAfterIndexed(db, userId, portfolioId, after, EXPORT_PAGE_ROWS);
          let text = '';
          for (const tx of page) {
            const out: Record<string, string | number | null> = transactionOut(tx);
            text += `${CSV_EXPORT_COLUMNS.map((column) => csvField(out[column])).join(',')}\n`;
          }
          if (text !== '') yield text;
          const last = page.at(-1);
          if (last === undefined || page.length < EXPORT_PAGE_ROWS) break;
          after = { executedAt: last.executedAt, seq: last.seq };
        }
      }
      return pieces();
    },

    /**
     * Imports an export into the caller's account as new portfolios (new ids), in replay
     * order, all-or-nothing. Every transaction is validated as if it were entered anew.
     */
    async importExport(principal: { userId: string; tier: Tier }, doc: ExportDocument, caps?: PortfolioCaps): Promise<Array<{ source_id: string | null; id: string; name: string; transactions: number }>> {
      const { userId } = principal;
      const created = await db.transaction(async (q) => {
        if (caps !== undefined) {
          await repo.lockUserPortfolios(q, userId);
          const count = await repo.countPortfolios(q, userId);
          if (count + doc.portfolios.length > caps.portfolios) throw capReached('portfolios', caps.portfolios, count);
        }
        const now = clock.now();
        const created: Array<{ source_id: string | null; id: string; name: string; transactions: number }> = [];
        for (const [index, source] of doc.portfolios.entries()) {
          // Each transaction is validated twice, once to check the document and once to
          // replay and write it, and ordered by its time alone, rather than kept validated:
          // 27,000 kept transactions (Decimals, Dates, copies) all survived young collections,
          // three of 36-53 ms each when the collector got no helper thread (FAIL-023), and
          // raised the stall test's largest live heap from 111 to 155 MB. Only a write batch is kept at once.
          const validate = (tx: (typeof source.transactions)[number]) => validateTransaction(tx, { baseCurrency: source.base_currency, now });
          const times = new Float64Array(source.transactions.length);
          let splits = 0;
          const problems: Array<{ field: string; message: string }> = [];
          for (const [txIndex, tx] of source.transactions.entries()) {
            if (txIndex % ROWS_PER_TURN === ROWS_PER_TURN - 1) await setImmediate();
            const result = validate(tx);
            if (result.ok) {
              times[txIndex] = result.value.executedAt.getTime();
              if (result.value.type === 'split') splits++;
            } else {
              problems.push(...result.errors.map((e) => ({ field: `portfolios.${index}.transactions.${txIndex}.${e.field}`, message: e.message })));
            }
          }
          if (problems.length > 0) throw new AppError(400, 'validation_failed', 'Validation failed', { detail: problems.map((p) => `${p.field} ${p.message}`).join('; ').slice(0, 2000), errors: problems.slice(0, 100) });
          if (caps !== undefined) checkTransactionCaps(caps, { total: 0, splits: 0 }, source.transactions.length, splits);
          const order = await replayOrder(times);
          const portfolio = await repo.insertPortfolio(q, {
            id: newId(),
            userId,
            name: source.name,
            baseCurrency: source.base_currency,
            createdAt: now,
            updatedAt: now,
          });
          // Replayed in order before each batch is written: an oversold sell is the same 422,
          // and the transaction rolls back whatever was written before it.
          const owner = { portfolioId: portfolio.id, userId, now };
          const ledger = new Ledger();
          let batch: Array<{ id: string; input: TransactionInput }> = [];
          for (const [n, position] of order.entries()) {
            if (n % ROWS_PER_TURN === ROWS_PER_TURN - 1) await setImmediate();
            const result = validate(source.transactions[position] as (typeof source.transactions)[number]);
            if (!result.ok) throw new Error('an import row passed validation once and failed it on the second reading');
            const tx = { ...result.value, id: newId() };
            try {
              ledger.apply(toLedger(tx));
            } catch (err) {
              if (err instanceof InsufficientQuantityError) throw insufficientQuantity(err);
              throw err;
            }
            batch.push({ id: tx.id, input: tx });
            if (batch.length === insertBatchRows) {
              await repo.insertTransactions(q, owner, batch, undefined, insertBatchRows);
              batch = [];
            }
          }
          if (batch.length > 0) await repo.insertTransactions(q, owner, batch, undefined, insertBatchRows);
          created.push({ source_id: source.id ?? null, id: portfolio.id, name: portfolio.name, transactions: order.length });
        }
        logger.info({ event: 'export_imported', userId, portfolios: created.length }, 'export imported');
        return created;
      });
      // The watchlist is restored after the portfolios commit, through the market
      // module's own rules (symbol grammar, the plan's cap: a full watchlist is a 409).
      for (const item of doc.watchlist ?? []) await deps.watchlist?.add(principal, item.symbol);
      return created;
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
