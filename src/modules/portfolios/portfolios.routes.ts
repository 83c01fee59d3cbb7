// /v1/portfolios, its transactions, holdings and CSV import; /v1/export and /v1/import.
// Every route needs a user and acts only on the caller's data: another user's portfolio
// or transaction answers 404 exactly like a missing one (FAIL-013, FAIL-007).
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { isCurrencyCode } from '../../money/index.ts';
import { badRequest } from '../../platform/errors.ts';
import { registerWorkerJsonBody } from '../../platform/http/json-body.ts';
import { principalOf, type Guards, type Tier } from '../../platform/http/principal.ts';
import type { PortfolioCaps } from './portfolios.caps.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { CsvImportOptions } from './import.csv.ts';
import type { MappingsService } from './import.mappings.ts';
import { IMPORT_TARGETS, type ImportTarget } from './import.presets.ts';
import { importResultJson, type ImportService } from './portfolios.import.ts';
import {
  MappingBody,
  MappingList,
  MappingOut,
  MappingParams,
  ExportDocument,
  ExportImportResult,
  HoldingsOut,
  HoldingsQuery,
  IdempotencyHeaders,
  ImportQuery,
  ImportResult,
  PortfolioCreateBody,
  PortfolioList,
  PortfolioOut,
  PortfolioParams,
  PortfolioUpdateBody,
  TransactionBody,
  TransactionList,
  TransactionListQuery,
  TransactionOut,
  TransactionParams,
  TransactionPatchBody,
} from './portfolios.schemas.ts';
import { portfolioOut, transactionOut, type PortfoliosService } from './portfolios.service.ts';

export interface PortfolioRouteDeps {
  guards: Guards;
  portfolios: PortfoliosService;
  imports: ImportService;
  mappings: MappingsService;
  /** Largest CSV or JSON import body, bytes. */
  importBodyLimit: number;
  /** The caps of a tier (portfolios, transactions and splits per portfolio). */
  capsOf: (tier: Tier) => PortfolioCaps;
}

const security = [{ bearer: [] }];
const tags = ['portfolios'];
/** A 204 answer: no body; the description says what is now true. */
const NoContent = (description: string) => Type.Null({ description });

/** The JSON of each holdings answer the service handed out, for as long as the answer lives. */
const serializedHoldings = new WeakMap<object, Buffer>();

export function portfolioRoutes(app: App, deps: PortfolioRouteDeps): void {
  const { guards, portfolios, imports } = deps;
  const onRequest = guards.requireUser;
  const capsFor = (request: Parameters<typeof principalOf>[0]) => deps.capsOf(principalOf(request).tier);

  // CSV bodies are read as text by this plugin only (encapsulated), up to the import limit.
  app.addContentTypeParser(['text/csv', 'application/csv', 'text/plain'], { parseAs: 'string', bodyLimit: deps.importBodyLimit }, (_request, body, done) => {
    done(null, body);
  });

  app.get(
    '/v1/portfolios',
    { onRequest, schema: { tags, security, summary: "The caller's portfolios", response: { 200: PortfolioList, ...problemResponses } } },
    async (request) => {
      const items = await portfolios.listPortfolios(principalOf(request).userId);
      return { items: items.map(portfolioOut), next_cursor: null };
    },
  );

  app.post(
    '/v1/portfolios',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Create a portfolio (Idempotency-Key honoured)',
        headers: IdempotencyHeaders,
        body: PortfolioCreateBody,
        response: { 201: PortfolioOut, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      if (!isCurrencyCode(request.body.base_currency)) {
        throw badRequest('validation_failed', 'body.base_currency must be an ISO 4217 currency code', [
          { field: 'body.base_currency', message: 'must be an ISO 4217 currency code such as "USD"' },
        ]);
      }
      const key = request.headers['idempotency-key'];
      const outcome = await portfolios.createPortfolio(
        userId,
        { name: request.body.name, baseCurrency: request.body.base_currency },
        key === undefined ? undefined : { key, scope: 'POST /v1/portfolios', body: request.body },
        capsFor(request),
      );
      if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(outcome.status).send(outcome.body);
    },
  );

  app.get(
    '/v1/portfolios/:id',
    { onRequest, schema: { tags, security, summary: 'One portfolio', params: PortfolioParams, response: { 200: PortfolioOut, ...problemResponses } } },
    async (request) => portfolioOut(await portfolios.ownedPortfolio(principalOf(request).userId, request.params.id)),
  );

  app.patch(
    '/v1/portfolios/:id',
    {
      onRequest,
      schema: { tags, security, summary: 'Rename a portfolio', params: PortfolioParams, body: PortfolioUpdateBody, response: { 200: PortfolioOut, ...problemResponses } },
    },
    async (request) => portfolioOut(await portfolios.renamePortfolio(principalOf(request).userId, request.params.id, request.body.name)),
  );

  app.delete(
    '/v1/portfolios/:id',
    {
      onRequest,
      schema: { tags, security, summary: 'Delete a portfolio and its transactions', params: PortfolioParams, response: { 204: NoContent('Deleted: the portfolio and all its transactions are gone'), ...problemResponses } },
    },
    async (request, reply) => {
      await portfolios.deletePortfolio(principalOf(request).userId, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/portfolios/:id/transactions',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Transactions (newest first by default): enum sorts, filters, cursor pagination',
        params: PortfolioParams,
        querystring: TransactionListQuery,
        response: { 200: TransactionList, ...problemResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await portfolios.listTransactions(principalOf(request).userId, request.params.id, {
        sort: q.sort ?? 'executed_at',
        order: q.order ?? 'desc',
        limit: q.limit ?? 100,
        cursor: q.cursor,
        type: q.type,
        symbol: q.symbol?.toUpperCase(),
        from: q.from,
        to: q.to,
      });
      return { items: page.items.map(transactionOut), next_cursor: page.nextCursor };
    },
  );

  app.post(
    '/v1/portfolios/:id/transactions',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Record a transaction (Idempotency-Key honoured)',
        params: PortfolioParams,
        headers: IdempotencyHeaders,
        body: TransactionBody,
        response: { 201: TransactionOut, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const key = request.headers['idempotency-key'];
      const outcome = await portfolios.createTransaction(
        userId,
        request.params.id,
        request.body,
        key === undefined ? undefined : { key, scope: `POST /v1/portfolios/${request.params.id}/transactions`, body: request.body },
        capsFor(request),
      );
      if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(outcome.status).send(outcome.body);
    },
  );

  app.get(
    '/v1/portfolios/:id/transactions/:transactionId',
    { onRequest, schema: { tags, security, summary: 'One transaction', params: TransactionParams, response: { 200: TransactionOut, ...problemResponses } } },
    async (request) => transactionOut(await portfolios.getTransaction(principalOf(request).userId, request.params.id, request.params.transactionId)),
  );

  app.put(
    '/v1/portfolios/:id/transactions/:transactionId',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Replace a transaction (holdings are recomputed; 422 if a later sell would be uncovered)',
        params: TransactionParams,
        body: TransactionBody,
        response: { 200: TransactionOut, ...problemResponses },
      },
    },
    async (request) =>
      transactionOut(await portfolios.updateTransaction(principalOf(request).userId, request.params.id, request.params.transactionId, request.body, false, capsFor(request))),
  );

  app.patch(
    '/v1/portfolios/:id/transactions/:transactionId',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Change fields of a transaction (null clears one)',
        params: TransactionParams,
        body: TransactionPatchBody,
        response: { 200: TransactionOut, ...problemResponses },
      },
    },
    async (request) =>
      transactionOut(await portfolios.updateTransaction(principalOf(request).userId, request.params.id, request.params.transactionId, request.body, true, capsFor(request))),
  );

  app.delete(
    '/v1/portfolios/:id/transactions/:transactionId',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Delete a transaction (422 if a later sell would be uncovered)',
        params: TransactionParams,
        response: { 204: NoContent('Deleted: holdings are recomputed without the transaction'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await portfolios.deleteTransaction(principalOf(request).userId, request.params.id, request.params.transactionId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/portfolios/:id/holdings',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Holdings with FIFO lots, P&L, income, fees, cash and weights, valued at the latest quotes',
        params: PortfolioParams,
        querystring: HoldingsQuery,
        response: { 200: HoldingsOut, ...problemResponses },
      },
    },
    async (request, reply) => {
      const out = await portfolios.holdings(principalOf(request).userId, request.params.id, { includeClosed: request.query.include_closed === true });
      // The service hands back the same object while nothing it depends on changed; its
      // JSON (the route's own serializer, so the schema still decides every field) is kept
      // with it and sent as it is.
      // Kept as UTF-8 bytes: a string would be measured and encoded again on every send.
      let body = serializedHoldings.get(out);
      if (body === undefined) {
        body = Buffer.from(reply.serialize(out) as string, 'utf8');
        serializedHoldings.set(out, body);
      }
      // Typed as the answer's object; a Buffer is sent as it is.
      return reply.type('application/json; charset=utf-8').send(body as unknown as typeof out);
    },
  );

  app.post(
    '/v1/portfolios/:id/transactions/import',
    {
      onRequest,
      bodyLimit: deps.importBodyLimit,
      schema: {
        tags,
        security,
        summary: 'Import transactions from CSV (text/csv); ?dryRun=true only validates',
        params: PortfolioParams,
        querystring: ImportQuery,
        consumes: ['text/csv'],
        body: Type.String({ description: 'CSV with a header row' }),
        response: { 200: ImportResult, 201: ImportResult, ...problemResponses },
      },
    },
    async (request, reply) => {
      const userId = principalOf(request).userId;
      const q = request.query;
      const saved = q.mapping === undefined ? {} : await deps.mappings.options(userId, q.mapping);
      const columns: Record<string, ImportTarget> = { ...saved.columns };
      for (const [index, entry] of (q.map ?? []).entries()) {
        const at = entry.lastIndexOf('=');
        const target = entry.slice(at + 1);
        if (!(IMPORT_TARGETS as readonly string[]).includes(target)) {
          throw badRequest('validation_failed', `querystring.map.${index}: "${target}" is not a field; use one of ${IMPORT_TARGETS.join(', ')}`, [
            { field: `querystring.map.${index}`, message: `must end in =<field>, one of ${IMPORT_TARGETS.join(', ')}` },
          ]);
        }
        columns[entry.slice(0, at)] = target as ImportTarget;
      }
      const csv: CsvImportOptions = {
        preset: q.preset ?? saved.preset,
        delimiter: q.delimiter ?? saved.delimiter,
        dateFormat: q.date_format ?? saved.dateFormat,
        decimal: q.decimal ?? saved.decimal,
        columns,
        ignore: [...(saved.ignore ?? []), ...(q.ignore ?? [])],
      };
      const { status, result } = await imports.importCsv(userId, request.params.id, request.body, { dryRun: q.dryRun === true, csv, caps: capsFor(request) });
      // Sent in pieces, not by the schema's serialiser (a row each: megabytes for a large
      // file); importResultJson writes exactly the ImportResult fields.
      return reply.code(status).type('application/json; charset=utf-8').send(Readable.from(importResultJson(result)) as unknown as ImportResult);
    },
  );

  app.get(
    '/v1/portfolios/:id/transactions/export',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: "The portfolio's transactions as CSV, in the columns the CSV import reads back",
        params: PortfolioParams,
        produces: ['text/csv'],
        response: { 200: Type.String({ description: 'CSV with a header row' }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const body = Readable.from(await imports.exportCsv(principalOf(request).userId, request.params.id));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="transactions-${request.params.id}.csv"`)
        .send(body as unknown as string);
    },
  );

  const mappingTags = ['import'];
  app.get(
    '/v1/import/mappings',
    { onRequest, schema: { tags: mappingTags, security, summary: "The caller's saved CSV column mappings", response: { 200: MappingList, ...problemResponses } } },
    async (request) => ({ items: await deps.mappings.list(principalOf(request).userId) }),
  );
  app.post(
    '/v1/import/mappings',
    {
      onRequest,
      schema: { tags: mappingTags, security, summary: 'Save a CSV column mapping under a name', body: MappingBody, response: { 201: MappingOut, ...problemResponses } },
    },
    async (request, reply) => reply.code(201).send(await deps.mappings.create(principalOf(request).userId, request.body)),
  );
  app.get(
    '/v1/import/mappings/:id',
    { onRequest, schema: { tags: mappingTags, security, summary: 'One saved mapping', params: MappingParams, response: { 200: MappingOut, ...problemResponses } } },
    async (request) => deps.mappings.get(principalOf(request).userId, request.params.id),
  );
  app.put(
    '/v1/import/mappings/:id',
    {
      onRequest,
      schema: { tags: mappingTags, security, summary: 'Replace a saved mapping', params: MappingParams, body: MappingBody, response: { 200: MappingOut, ...problemResponses } },
    },
    async (request) => deps.mappings.replace(principalOf(request).userId, request.params.id, request.body),
  );
  app.delete(
    '/v1/import/mappings/:id',
    { onRequest, schema: { tags: mappingTags, security, summary: 'Delete a saved mapping', params: MappingParams, response: { 204: Type.Null(), ...problemResponses } } },
    async (request, reply) => {
      await deps.mappings.remove(principalOf(request).userId, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/export',
    { onRequest, schema: { tags, security, summary: 'Everything the caller owns, as JSON', response: { 200: ExportDocument, ...problemResponses } } },
    async (request, reply) => {
      const body = Readable.from(await imports.exportStream(principalOf(request).userId));
      // A stream is sent as it is, not serialised: the response schema documents the
      // document its pieces form (exportStream writes exactly the ExportDocument fields).
      return reply.type('application/json; charset=utf-8').send(body as unknown as ExportDocument);
    },
  );

  // The JSON import takes bodies of up to IMPORT_BODY_LIMIT_BYTES: parsed and checked
  // against ExportDocument on a worker thread, so neither holds the event loop (FAIL-023).
  // A scope of its own, since a content-type parser belongs to its scope.
  void app.register((scope: App, _options, done) => {
    const { validatorCompiler } = registerWorkerJsonBody(scope, { schema: ExportDocument, bodyLimit: deps.importBodyLimit, logger: scope.log });
    scope.post(
      '/v1/import',
      {
        onRequest,
        bodyLimit: deps.importBodyLimit,
        validatorCompiler,
        schema: {
          tags,
          security,
          summary: 'Import a /v1/export document as new portfolios of the caller',
          body: ExportDocument,
          response: { 201: ExportImportResult, ...problemResponses },
        },
      },
      async (request, reply) => {
        for (const [index, p] of request.body.portfolios.entries()) {
          if (!isCurrencyCode(p.base_currency)) {
            throw badRequest('validation_failed', `body.portfolios.${index}.base_currency must be an ISO 4217 currency code`, [
              { field: `body.portfolios.${index}.base_currency`, message: 'must be an ISO 4217 currency code' },
            ]);
          }
        }
        const created = await imports.importExport(principalOf(request), request.body, capsFor(request));
        return reply.code(201).send({ portfolios: created });
      },
    );
    done();
  });
}
