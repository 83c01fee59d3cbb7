// An import's answer is written in pieces (importResultJson) instead of by the route's
// schema serialiser: the pieces must form the same document the serialiser writes, for any
// counts, errors and statuses, with fields the schema does not name left out as it leaves
// them out; and a large answer must really come in pieces of ANSWER_ROWS_PER_PIECE rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import fastJson from 'fast-json-stringify';
import { ANSWER_ROWS_PER_PIECE, importResultJson } from './portfolios.import.ts';
import { ImportResult } from './portfolios.schemas.ts';
import { countLoopTurns } from '../../../test/helpers/stalls.ts';

const serialise: (value: ImportResult) => string = fastJson(ImportResult as never);

async function piecesOf(result: ImportResult): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of importResultJson(result)) pieces.push(piece);
  return pieces;
}

const status = fc.record(
  {
    row: fc.nat(),
    status: fc.constantFrom('would_import', 'duplicate', 'invalid', 'skipped'),
    type: fc.string(),
    symbol: fc.string({ unit: 'grapheme' }),
    reason: fc.string({ unit: 'binary' }),
    // Not in the schema: neither way of writing the answer may send it.
    internal: fc.string(),
  },
  { requiredKeys: ['row', 'status'] },
);
const result = fc.record({
  dry_run: fc.boolean(),
  valid: fc.boolean(),
  rows: fc.nat(),
  imported: fc.nat(),
  would_import: fc.nat(),
  duplicates: fc.nat(),
  skipped: fc.nat(),
  errors: fc.array(fc.record({ row: fc.nat(), field: fc.string(), reason: fc.string({ unit: 'binary' }), hidden: fc.string() }), { maxLength: 5 }),
  statuses: fc.array(status, { maxLength: 5 }),
  extra: fc.string(),
});

describe('import answers written in pieces', () => {
  it('FAIL-023: the pieces form the document the schema serialiser writes, unknown fields left out', async () => {
    await fc.assert(
      fc.asyncProperty(result, async (value) => {
        const answer = value as unknown as ImportResult;
        const text = (await piecesOf(answer)).join('');
        assert.deepEqual(JSON.parse(text), JSON.parse(serialise(answer)));
        assert.doesNotMatch(text, /"(internal|hidden|extra)"/);
      }),
      { numRuns: 300 },
    );
  });

  it('FAIL-023: a 50,000-row answer comes in pieces of ANSWER_ROWS_PER_PIECE rows with a turn of the event loop between them, the same document as in one go', async () => {
    const statuses = Array.from({ length: 50_000 }, (_, i) => ({ row: i + 2, status: 'would_import' as const, type: 'buy', symbol: `S${i % 40}` }));
    const errors = Array.from({ length: 4_500 }, (_, i) => ({ row: i + 2, field: 'quantity', reason: 'must be positive' }));
    const answer: ImportResult = { dry_run: true, valid: false, rows: 50_000, imported: 0, would_import: 50_000, duplicates: 0, skipped: 0, errors, statuses };
    // Turns of the event loop while the pieces are made: one at least between two pieces of rows.
    const { result: pieces, turns } = await countLoopTurns(() => piecesOf(answer));
    assert.ok(turns >= Math.ceil(4_500 / ANSWER_ROWS_PER_PIECE) + Math.ceil(50_000 / ANSWER_ROWS_PER_PIECE) - 2, `${turns} turns of the loop`);
    // The counts, 3 pieces of errors, the separator, 25 pieces of statuses, the end.
    assert.equal(pieces.length, 1 + Math.ceil(4_500 / ANSWER_ROWS_PER_PIECE) + 1 + Math.ceil(50_000 / ANSWER_ROWS_PER_PIECE) + 1);
    assert.ok(pieces.every((piece) => piece.length < 200_000), 'no piece is more than a few thousand rows');
    assert.equal(pieces.join(''), serialise(answer));
  });
});
