// Stall cases of the portfolio, transaction and import-mapping routes not among the
// benchmark's original cases: single reads and writes on the largest portfolio (an edit or
// a delete replays all its transactions to check later sells), the CSV export and a dry-run
// import of the whole portfolio, and the mappings at their caps.
import { randomUUID } from 'node:crypto';
import { IMPORT_TARGETS } from '../../src/modules/portfolios/import.presets.ts';
import { MAX_MAPPINGS } from '../../src/modules/portfolios/import.mappings.ts';
import { MAX_NOTE_LENGTH } from '../../src/modules/portfolios/transactions.validation.ts';
import { needed, type Case, type CaseGroup, type StallsFixture } from './stalls.ts';

/** Longest portfolio and mapping names, mapping header names, Idempotency-Key. */
const NAME_MAX = 100;
const HEADER_MAX = 200;
const MAPPING_ITEMS = 100;
const IDEMPOTENCY_KEY_MAX = 255;

const pad = (text: string, length: number, fill = 'x') => `${text}${fill.repeat(Math.max(0, length - text.length))}`.slice(0, length);

/** A mapping at every bound of its schema: 100 columns and 100 ignored headers of 200 characters. */
function largestMapping(name: string) {
  return {
    name: pad(name, NAME_MAX),
    preset: null,
    delimiter: 'semicolon',
    date_format: 'dd.MM.yyyy',
    decimal: 'comma',
    columns: Object.fromEntries(Array.from({ length: MAPPING_ITEMS }, (_, i) => [pad(`Column ${i} `, HEADER_MAX, 'c'), IMPORT_TARGETS[i % IMPORT_TARGETS.length]])),
    ignore: Array.from({ length: MAPPING_ITEMS }, (_, i) => pad(`Ignored ${i} `, HEADER_MAX, 'i')),
  };
}

interface TransactionOut {
  id: string;
  type: string;
  symbol: string | null;
  quantity: string | null;
  price: string | null;
  fee: string;
  currency: string;
  executed_at: string;
}

export async function portfolioCases(f: StallsFixture, imported: string[]): Promise<CaseGroup> {
  const { api } = f;
  const token = f.user.token;
  const rows = f.rows.toLocaleString('en-US');
  f.log(`${f.mode}: ${MAX_MAPPINGS - f.repeat} import mappings of the largest size …`);
  for (let i = 0; i < MAX_MAPPINGS - f.repeat; i++) await api.json('POST', '/v1/import/mappings', token, 201, largestMapping(`Seeded ${String(i).padStart(3, '0')} `));
  // The earliest buy: editing it replays every later transaction.
  const { items } = await api.json<{ items: TransactionOut[] }>('GET', `/v1/portfolios/${f.big}/transactions?sort=executed_at&order=asc&limit=10`, token, 200);
  const buy = items.find((t) => t.type === 'buy');
  if (buy === undefined) throw new Error('the large portfolio has no buy among its first transactions');
  const note = pad('Edited by the stall benchmark. ', MAX_NOTE_LENGTH, 'n');
  const edited = { type: 'buy', symbol: buy.symbol, quantity: buy.quantity, price: buy.price, fee: buy.fee, currency: buy.currency, executed_at: buy.executed_at, note };

  let transactionId = '';
  let mappingId = '';
  let portfolioId = '';
  const mappings: string[] = [];
  const cases: Case[] = [
    {
      label: `POST /v1/portfolios (${NAME_MAX}-character name, ${IDEMPOTENCY_KEY_MAX}-character Idempotency-Key)`,
      routes: ['POST /v1/portfolios'],
      send: () =>
        api.call('POST', '/v1/portfolios', token, { name: pad(`New ${randomUUID()} `, NAME_MAX), base_currency: 'USD' }, { headers: { 'idempotency-key': pad(`key-${randomUUID()}-`, IDEMPOTENCY_KEY_MAX) } }),
      expect: [201],
    },
    { label: 'GET /v1/portfolios/:id', routes: ['GET /v1/portfolios/:id'], send: () => api.call('GET', `/v1/portfolios/${f.big}`, token), expect: [200] },
    {
      label: `PATCH /v1/portfolios/:id (${NAME_MAX}-character name)`,
      routes: ['PATCH /v1/portfolios/:id'],
      send: () => api.call('PATCH', `/v1/portfolios/${f.big}`, token, { name: pad(`Large ${randomUUID()} `, NAME_MAX) }),
      expect: [200],
    },
    {
      label: 'GET /v1/portfolios/:id/transactions/:transactionId',
      routes: ['GET /v1/portfolios/:id/transactions/:transactionId'],
      send: () => api.call('GET', `/v1/portfolios/${f.big}/transactions/${buy.id}`, token),
      expect: [200],
    },
    {
      label: `PUT /v1/portfolios/:id/transactions/:transactionId (the earliest buy of ${rows}: every later sell re-checked; ${MAX_NOTE_LENGTH}-character note)`,
      repeat: f.heavyRepeat,
      routes: ['PUT /v1/portfolios/:id/transactions/:transactionId'],
      send: () => api.call('PUT', `/v1/portfolios/${f.big}/transactions/${buy.id}`, token, edited),
      expect: [200],
    },
    {
      label: `PATCH /v1/portfolios/:id/transactions/:transactionId (the earliest buy of ${rows}: every later sell re-checked)`,
      repeat: f.heavyRepeat,
      routes: ['PATCH /v1/portfolios/:id/transactions/:transactionId'],
      send: () => api.call('PATCH', `/v1/portfolios/${f.big}/transactions/${buy.id}`, token, { quantity: buy.quantity, note }),
      expect: [200],
    },
    {
      label: `DELETE /v1/portfolios/:id/transactions/:transactionId (the earliest of ${rows}: every later sell re-checked)`,
      repeat: f.heavyRepeat,
      routes: ['DELETE /v1/portfolios/:id/transactions/:transactionId'],
      prepare: async () => {
        transactionId = (await api.json<{ id: string }>('POST', `/v1/portfolios/${f.big}/transactions`, token, 201, { type: 'deposit', amount: '1', executed_at: '2000-01-01' })).id;
      },
      send: () => api.call('DELETE', `/v1/portfolios/${f.big}/transactions/${transactionId}`, token),
      expect: [204],
    },
    {
      label: `GET /v1/portfolios/:id/transactions/export (${rows} transactions as CSV)`,
      repeat: f.heavyRepeat,
      routes: ['GET /v1/portfolios/:id/transactions/export'],
      send: () => api.call('GET', `/v1/portfolios/${f.big}/transactions/export`, token),
      expect: [200],
    },
    {
      label: `POST /v1/portfolios/:id/transactions/import?dryRun=true (${rows} CSV rows, every one a duplicate of a stored transaction)`,
      repeat: f.heavyRepeat,
      routes: ['POST /v1/portfolios/:id/transactions/import'],
      send: () => api.call('POST', `/v1/portfolios/${f.big}/transactions/import?dryRun=true`, token, f.csv, { type: 'text/csv' }),
      expect: [200],
    },
    {
      label: `POST /v1/import/mappings (${MAPPING_ITEMS} columns and ${MAPPING_ITEMS} ignored headers of ${HEADER_MAX} characters; up to the cap of ${MAX_MAPPINGS})`,
      routes: ['POST /v1/import/mappings'],
      send: () => api.call('POST', '/v1/import/mappings', token, largestMapping(`Posted ${randomUUID()} `)),
      settle: (body) => void mappings.push((JSON.parse(body) as { id: string }).id),
      expect: [201],
    },
    { label: `GET /v1/import/mappings (${MAX_MAPPINGS} mappings of the largest size)`, routes: ['GET /v1/import/mappings'], send: () => api.call('GET', '/v1/import/mappings', token), expect: [200] },
    {
      label: 'GET /v1/import/mappings/:id',
      routes: ['GET /v1/import/mappings/:id'],
      prepare: () => {
        mappingId = mappings[0] ?? '';
      },
      send: () => api.call('GET', `/v1/import/mappings/${needed(mappingId, 'posted mapping')}`, token),
      expect: [200],
    },
    {
      label: 'PUT /v1/import/mappings/:id (the largest size)',
      routes: ['PUT /v1/import/mappings/:id'],
      send: () => api.call('PUT', `/v1/import/mappings/${needed(mappingId, 'posted mapping')}`, token, largestMapping(`Replaced ${randomUUID()} `)),
      expect: [200],
    },
    {
      label: 'DELETE /v1/import/mappings/:id',
      routes: ['DELETE /v1/import/mappings/:id'],
      prepare: () => {
        mappingId = mappings.pop() ?? '';
      },
      send: () => api.call('DELETE', `/v1/import/mappings/${needed(mappingId, 'posted mapping')}`, token),
      expect: [204],
    },
  ];
  const late: Case[] = [
    {
      label: `DELETE /v1/portfolios/:id (${rows} transactions)`,
      routes: ['DELETE /v1/portfolios/:id'],
      // The portfolios the CSV import case filled, one per repetition.
      prepare: () => {
        const next = imported.pop();
        if (next === undefined) throw new Error('no portfolio left from the CSV import case');
        portfolioId = next;
      },
      send: () => api.call('DELETE', `/v1/portfolios/${portfolioId}`, token),
      expect: [204],
    },
  ];
  return { cases, late };
}
