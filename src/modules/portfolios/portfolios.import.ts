// Bulk import and export. CSV from brokers (header aliases, every bad row reported with
// its line, field and reason; a dry run writes nothing; a real run is all-or-nothing in
// one database transaction and skips rows equal to a transaction already stored), and
// the JSON export of everything a user owns, which imports into another account and
// reproduces the same holdings.
import { randomUUID } from 'node:crypto';
import { CsvError, parse } from 'csv-parse/sync';
import { plainExact, SCALE, toPlain } from '../../money/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import { AppError, badRequest, notFound } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { InsufficientQuantityError, Ledger, sortForReplay, toLedger } from './holdings.ts';
import type { PortfoliosRepository } from './portfolios.repository.ts';
import { EXPORT_FORMAT, type ExportDocument, type ImportResult } from './portfolios.schemas.ts';
import { checkReplay, portfolioOut, transactionOut } from './portfolios.service.ts';
import type { Transaction, TransactionFields, TransactionInput } from './portfolios.types.ts';
import { validateTransaction, type RawTransaction } from './transactions.validation.ts';

/** Most rows one CSV import takes (the body limit bounds it too). */
export const MAX_IMPORT_ROWS = 50_000;

type Column = keyof RawTransaction | 'ratio';

/**
 * Header aliases, compared after lower-casing and dropping everything but letters and
 * digits (`Trade Price`, `trade_price` and `TradePrice` are all `tradeprice`).
 */
const HEADER_ALIASES: Record<string, Column> = {
  date: 'executed_at',
  tradedate: 'executed_at',
  executedat: 'executed_at',
  datetime: 'executed_at',
  symbol: 'symbol',
  ticker: 'symbol',
  code: 'symbol',
  type: 'type',
  action: 'type',
  quantity: 'quantity',
  qty: 'quantity',
  shares: 'quantity',
  units: 'quantity',
  price: 'price',
  unitprice: 'price',
  tradeprice: 'price',
  amount: 'amount',
  value: 'amount',
  total: 'amount',
  fee: 'fee',
  fees: 'fee',
  commission: 'fee',
  currency: 'currency',
  ccy: 'currency',
  fxrate: 'fx_rate',
  exchangerate: 'fx_rate',
  note: 'note',
  notes: 'note',
  comment: 'note',
  ratio: 'ratio',
  splitratio: 'ratio',
  rationumerator: 'ratio_numerator',
  numerator: 'ratio_numerator',
  ratiodenominator: 'ratio_denominator',
  denominator: 'ratio_denominator',
};

/** Broker words for the transaction types. */
const TYPE_ALIASES: Record<string, string> = {
  buy: 'buy',
  bought: 'buy',
  purchase: 'buy',
  sell: 'sell',
  sold: 'sell',
  sale: 'sell',
  dividend: 'dividend',
  dividends: 'dividend',
  div: 'dividend',
  interest: 'interest',
  fee: 'fee',
  fees: 'fee',
  commission: 'fee',
  split: 'split',
  stocksplit: 'split',
  deposit: 'deposit',
  contribution: 'deposit',
  withdrawal: 'withdrawal',
  withdraw: 'withdrawal',
};

const normaliseHeader = (header: string) => header.toLowerCase().replace(/[^a-z0-9]/g, '');

export interface RowProblem {
  row: number;
  field: string;
  reason: string;
}

interface ParsedRow {
  row: number;
  raw: RawTransaction;
  problems: RowProblem[];
}

function integerOrProblem(text: string | undefined, field: string, row: number, problems: RowProblem[]): number | null {
  if (text === undefined || text.trim() === '') return null;
  if (!/^[0-9]{1,7}$/.test(text.trim())) {
    problems.push({ row, field, reason: 'must be a whole number' });
    return null;
  }
  return Number.parseInt(text.trim(), 10);
}

/** Parses CSV text into raw transactions; throws 400 for a file that is not CSV at all. */
export function parseTransactionsCsv(text: string): { rows: ParsedRow[]; fileProblems: RowProblem[] } {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    const parsed: unknown = parse(text, {
      columns: (headers: string[]) => headers.map((h) => HEADER_ALIASES[normaliseHeader(h)] ?? `ignored:${h}`),
      info: true,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: false,
      max_record_size: 64 * 1024,
    });
    records = parsed as typeof records;
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw badRequest('invalid_csv', `The file is not valid CSV${line === undefined ? '' : ` (line ${line})`}: ${err.message}`);
    }
    throw err;
  }
  if (records.length > MAX_IMPORT_ROWS) throw badRequest('too_many_rows', `At most ${MAX_IMPORT_ROWS} rows per import.`);

  const fileProblems: RowProblem[] = [];
  const header: unknown = parse(text, { bom: true, to_line: 1 });
  const headerLine = header as string[][];
  const columns = new Set((headerLine[0] ?? []).map((h) => HEADER_ALIASES[normaliseHeader(h)]));
  for (const needed of ['executed_at', 'type'] as const) {
    if (!columns.has(needed)) fileProblems.push({ row: 1, field: needed, reason: `no column for ${needed === 'executed_at' ? 'date' : 'type'} in the header` });
  }

  const rows = records.map(({ record, info }): ParsedRow => {
    const row = info.lines;
    const problems: RowProblem[] = [];
    const cell = (column: Column): string | undefined => {
      const value = record[column];
      return value === undefined || value === '' ? undefined : value;
    };
    const typeText = cell('type');
    const type = typeText === undefined ? undefined : (TYPE_ALIASES[normaliseHeader(typeText)] ?? typeText);
    let ratioNumerator = integerOrProblem(cell('ratio_numerator'), 'ratio_numerator', row, problems);
    let ratioDenominator = integerOrProblem(cell('ratio_denominator'), 'ratio_denominator', row, problems);
    const ratio = cell('ratio');
    if (ratio !== undefined) {
      // "2:1", "2/1" or "2-for-1": new shares for old.
      const match = /^\s*([0-9]{1,7})\s*(?::|\/|-for-|for)\s*([0-9]{1,7})\s*$/i.exec(ratio);
      if (match === null) problems.push({ row, field: 'ratio', reason: 'must look like 2:1 (new shares : old shares)' });
      else {
        ratioNumerator = Number.parseInt(match[1] ?? '', 10);
        ratioDenominator = Number.parseInt(match[2] ?? '', 10);
      }
    }
    const currency = cell('currency');
    return {
      row,
      problems,
      raw: {
        type,
        symbol: cell('symbol'),
        quantity: cell('quantity'),
        price: cell('price'),
        amount: cell('amount'),
        fee: cell('fee'),
        currency: currency?.toUpperCase(),
        fx_rate: cell('fx_rate'),
        ratio_numerator: ratioNumerator,
        ratio_denominator: ratioDenominator,
        executed_at: cell('executed_at'),
        note: cell('note'),
      },
    };
  });
  return { rows, fileProblems };
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

/**
 * Replays existing and new transactions together and reports every new sell that would
 * exceed the holding at its time (not just the first), as row problems.
 */
function replayProblems(existing: readonly TransactionFields[], added: Array<TransactionFields & { row: number }>): RowProblem[] {
  const problems: RowProblem[] = [];
  const ledger = new Ledger();
  const rowOf = new Map(added.map((tx) => [tx.id, tx.row]));
  for (const tx of sortForReplay([...existing, ...added])) {
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

export interface ImportDeps {
  db: Database;
  repo: PortfoliosRepository;
  clock: Clock;
  logger: Logger;
  newId?: () => string;
}

export function createImportService(deps: ImportDeps) {
  const { db, repo, clock, logger } = deps;
  const newId = deps.newId ?? randomUUID;

  return {
    /**
     * Imports CSV rows into a portfolio the user owns. `onProgress(done, total)` is called
     * as rows are written (the CLI draws its progress bar from it).
     */
    importCsv(
      userId: string,
      portfolioId: string,
      text: string,
      options: { dryRun: boolean; onProgress?: (done: number, total: number) => void },
    ): Promise<{ status: number; result: ImportResult }> {
      return db.transaction(async (q) => {
        const portfolio = await repo.findPortfolio(q, userId, portfolioId, { forUpdate: true });
        if (portfolio === null) throw notFound('Portfolio');
        const { rows, fileProblems } = parseTransactionsCsv(text);
        const errors: RowProblem[] = [...fileProblems];
        const now = clock.now();
        const valid: Array<{ row: number; input: TransactionInput }> = [];
        for (const parsed of rows) {
          errors.push(...parsed.problems);
          const result = validateTransaction(parsed.raw, { baseCurrency: portfolio.baseCurrency, now });
          if (!result.ok) errors.push(...result.errors.map((e) => ({ row: parsed.row, field: e.field, reason: e.message })));
          else if (parsed.problems.length === 0) valid.push({ row: parsed.row, input: result.value });
        }

        const existing = await repo.allTransactions(q, userId, portfolioId);
        const counts = new Map<string, number>();
        for (const tx of existing) counts.set(duplicateKey(tx), (counts.get(duplicateKey(tx)) ?? 0) + 1);
        const fresh: Array<{ row: number; input: TransactionInput; id: string }> = [];
        let duplicates = 0;
        for (const item of valid) {
          const key = duplicateKey(item.input);
          const left = counts.get(key) ?? 0;
          if (left > 0) {
            counts.set(key, left - 1);
            duplicates += 1;
          } else fresh.push({ ...item, id: newId() });
        }
        errors.push(...replayProblems(existing, fresh.map((f) => ({ ...f.input, id: f.id, row: f.row }))));
        errors.sort((a, b) => a.row - b.row);

        const result: ImportResult = {
          dry_run: options.dryRun,
          valid: errors.length === 0,
          rows: rows.length,
          imported: 0,
          would_import: errors.length === 0 ? fresh.length : 0,
          duplicates,
          errors,
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

    /** Everything the user owns: portfolios and their transactions, decimals as strings. */
    async exportAll(userId: string): Promise<ExportDocument> {
      const portfolios = await repo.listPortfolios(db, userId);
      const transactions = await repo.allUserTransactions(db, userId);
      const byPortfolio = new Map<string, Transaction[]>();
      for (const tx of transactions) byPortfolio.set(tx.portfolioId, [...(byPortfolio.get(tx.portfolioId) ?? []), tx]);
      return {
        format: EXPORT_FORMAT,
        version: 1,
        exported_at: clock.now().toISOString(),
        portfolios: portfolios.map((p) => ({
          ...portfolioOut(p),
          transactions: (byPortfolio.get(p.id) ?? []).map(transactionOut),
        })),
      };
    },

    /**
     * Imports an export into the caller's account as new portfolios (new ids), in replay
     * order, all-or-nothing. Every transaction is validated as if it were entered anew.
     */
    importExport(userId: string, doc: ExportDocument): Promise<Array<{ source_id: string | null; id: string; name: string; transactions: number }>> {
      return db.transaction(async (q) => {
        const now = clock.now();
        const created: Array<{ source_id: string | null; id: string; name: string; transactions: number }> = [];
        for (const [index, source] of doc.portfolios.entries()) {
          const inputs: Array<TransactionInput & { id: string }> = [];
          const problems: Array<{ field: string; message: string }> = [];
          for (const [txIndex, tx] of source.transactions.entries()) {
            const result = validateTransaction(tx, { baseCurrency: source.base_currency, now });
            if (result.ok) inputs.push({ ...result.value, id: newId() });
            else problems.push(...result.errors.map((e) => ({ field: `portfolios.${index}.transactions.${txIndex}.${e.field}`, message: e.message })));
          }
          if (problems.length > 0) throw new AppError(400, 'validation_failed', 'Validation failed', { detail: problems.map((p) => `${p.field} ${p.message}`).join('; ').slice(0, 2000), errors: problems.slice(0, 100) });
          const ordered = sortForReplay(inputs);
          checkReplay(ordered);
          const portfolio = await repo.insertPortfolio(q, {
            id: newId(),
            userId,
            name: source.name,
            baseCurrency: source.base_currency,
            createdAt: now,
            updatedAt: now,
          });
          await repo.insertTransactions(q, { portfolioId: portfolio.id, userId, now }, ordered.map((tx) => ({ id: tx.id, input: tx })));
          created.push({ source_id: source.id ?? null, id: portfolio.id, name: portfolio.name, transactions: ordered.length });
        }
        logger.info({ event: 'export_imported', userId, portfolios: created.length }, 'export imported');
        return created;
      });
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
