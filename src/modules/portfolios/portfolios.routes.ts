// /v1/portfolios, its transactions, holdings and CSV import; /v1/export and /v1/import.
// Every route needs a user and acts only on the caller's data: another user's portfolio
// or transaction answers 404 exactly like a missing one (FAIL-013, FAIL-007).
import { Type } from 'typebox';
import { isCurrencyCode } from '../../money/index.ts';
import { badRequest } from '../../platform/errors.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { ImportService } from './portfolios.import.ts';
import {
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
  /** Largest CSV or JSON import body, bytes. */
  importBodyLimit: number;
}

const security = [{ bearer: [] }];
const tags = ['portfolios'];
const NoContent = Type.Null({ description: 'no content' });

export function portfolioRoutes(app: App, deps: PortfolioRouteDeps): void {
  const { guards, portfolios, imports } = deps;
  const preHandler = guards.requireUser;

  // CSV bodies are read as text by this plugin only (encapsulated), up to the import limit.
  app.addContentTypeParser(['text/csv', 'application/csv', 'text/plain'], { parseAs: 'string', bodyLimit: deps.importBodyLimit }, (_request, body, done) => {
    done(null, body);
  });

  app.get(
    '/v1/portfolios',
    { preHandler, schema: { tags, security, summary: "The caller's portfolios", response: { 200: PortfolioList, ...problemResponses } } },
    async (request) => {
      const items = await portfolios.listPortfolios(principalOf(request).userId);
      return { items: items.map(portfolioOut), next_cursor: null };
    },
  );

  app.post(
    '/v1/portfolios',
    {
      preHandler,
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
      );
      if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(outcome.status).send(outcome.body);
    },
  );

  app.get(
    '/v1/portfolios/:id',
    { preHandler, schema: { tags, security, summary: 'One portfolio', params: PortfolioParams, response: { 200: PortfolioOut, ...problemResponses } } },
    async (request) => portfolioOut(await portfolios.ownedPortfolio(principalOf(request).userId, request.params.id)),
  );

  app.patch(
    '/v1/portfolios/:id',
    {
      preHandler,
      schema: { tags, security, summary: 'Rename a portfolio', params: PortfolioParams, body: PortfolioUpdateBody, response: { 200: PortfolioOut, ...problemResponses } },
    },
    async (request) => portfolioOut(await portfolios.renamePortfolio(principalOf(request).userId, request.params.id, request.body.name)),
  );

  app.delete(
    '/v1/portfolios/:id',
    {
      preHandler,
      schema: { tags, security, summary: 'Delete a portfolio and its transactions', params: PortfolioParams, response: { 204: NoContent, ...problemResponses } },
    },
    async (request, reply) => {
      await portfolios.deletePortfolio(principalOf(request).userId, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/portfolios/:id/transactions',
    {
      preHandler,
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
      preHandler,
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
      );
      if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(outcome.status).send(outcome.body);
    },
  );

  app.get(
    '/v1/portfolios/:id/transactions/:transactionId',
    { preHandler, schema: { tags, security, summary: 'One transaction', params: TransactionParams, response: { 200: TransactionOut, ...problemResponses } } },
    async (request) => transactionOut(await portfolios.getTransaction(principalOf(request).userId, request.params.id, request.params.transactionId)),
  );

  app.put(
    '/v1/portfolios/:id/transactions/:transactionId',
    {
      preHandler,
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
      transactionOut(await portfolios.updateTransaction(principalOf(request).userId, request.params.id, request.params.transactionId, request.body, false)),
  );

  app.patch(
    '/v1/portfolios/:id/transactions/:transactionId',
    {
      preHandler,
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
      transactionOut(await portfolios.updateTransaction(principalOf(request).userId, request.params.id, request.params.transactionId, request.body, true)),
  );

  app.delete(
    '/v1/portfolios/:id/transactions/:transactionId',
    {
      preHandler,
      schema: {
        tags,
        security,
        summary: 'Delete a transaction (422 if a later sell would be uncovered)',
        params: TransactionParams,
        response: { 204: NoContent, ...problemResponses },
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
      preHandler,
      schema: {
        tags,
        security,
        summary: 'Holdings with FIFO lots, P&L, income, fees, cash and weights, valued at the latest quotes',
        params: PortfolioParams,
        querystring: HoldingsQuery,
        response: { 200: HoldingsOut, ...problemResponses },
      },
    },
    (request) => portfolios.holdings(principalOf(request).userId, request.params.id, { includeClosed: request.query.include_closed === true }),
  );

  app.post(
    '/v1/portfolios/:id/transactions/import',
    {
      preHandler,
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
      const { status, result } = await imports.importCsv(principalOf(request).userId, request.params.id, request.body, {
        dryRun: request.query.dryRun === true,
      });
      return reply.code(status).send(result);
    },
  );

  app.get(
    '/v1/export',
    { preHandler, schema: { tags, security, summary: 'Everything the caller owns, as JSON', response: { 200: ExportDocument, ...problemResponses } } },
    (request) => imports.exportAll(principalOf(request).userId),
  );

  app.post(
    '/v1/import',
    {
      preHandler,
      bodyLimit: deps.importBodyLimit,
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
      const created = await imports.importExport(principalOf(request).userId, request.body);
      return reply.code(201).send({ portfolios: created });
    },
  );
}
