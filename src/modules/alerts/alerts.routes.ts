// /v1/alerts for the caller (another user's alert answers 404), its events, and the
// caller's alert webhook. Thresholds are decimal strings (a JSON number is a 400, FAIL-002).
import { Type } from 'typebox';
import { badRequest } from '../../platform/errors.ts';
import { principalOf, type Guards } from '../../platform/http/principal.ts';
import { problemResponses } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import { normaliseSymbol } from '../market/index.ts';
import type { AlertEventRow, AlertRow } from './alerts.repository.ts';
import { Alert, AlertEventsPage, AlertIdParams, AlertsPage, CreateAlertBody, EventsQuery, PageQuery, PatchAlertBody, Webhook, WebhookBody, WebhookView } from './alerts.schemas.ts';
import type { AlertsService } from './alerts.service.ts';

export function alertJson(row: AlertRow) {
  return {
    id: row.id,
    kind: row.kind,
    symbol: row.symbol,
    interval: row.interval,
    threshold: row.threshold,
    params: row.params,
    mode: row.mode,
    cooldown_seconds: row.cooldown_seconds,
    status: row.status,
    last_fired_at: row.last_fired_at === null ? null : row.last_fired_at.toISOString(),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function eventJson(row: AlertEventRow) {
  return {
    id: row.id,
    alert_id: row.alert_id,
    kind: row.kind,
    symbol: row.symbol,
    fired_at: row.fired_at.toISOString(),
    value: row.value,
    threshold: row.threshold,
    message: row.message,
  };
}

export function alertsRoutes(app: App, deps: { guards: Guards; alerts: AlertsService }): void {
  const { alerts } = deps;
  const common = { onRequest: deps.guards.requireUser };
  const meta = { tags: ['alerts'], security: [{ bearer: [] }] };

  app.post(
    '/v1/alerts',
    { ...common, schema: { ...meta, summary: 'Create an alert', body: CreateAlertBody, response: { 201: Alert, ...problemResponses } } },
    async (request, reply) => {
      const principal = principalOf(request);
      const body = request.body;
      const symbol = normaliseSymbol(body.symbol);
      if (symbol === null) throw badRequest('invalid_symbol', 'Not a ticker symbol.', [{ field: 'body.symbol', message: 'is not a ticker symbol' }]);
      const row = await alerts.create(
        { userId: principal.userId, tier: principal.tier },
        {
          kind: body.kind,
          symbol,
          interval: body.interval ?? '1d',
          mode: body.mode ?? 'once',
          ...(body.threshold === undefined ? {} : { threshold: body.threshold }),
          ...(body.params === undefined ? {} : { params: body.params }),
          ...(body.cooldown_seconds === undefined ? {} : { cooldown_seconds: body.cooldown_seconds }),
        },
      );
      void reply.code(201);
      return alertJson(row);
    },
  );

  app.get(
    '/v1/alerts',
    { ...common, schema: { ...meta, summary: "The caller's alerts (oldest first)", querystring: PageQuery, response: { 200: AlertsPage, ...problemResponses } } },
    async (request) => {
      const page = await alerts.list(principalOf(request).userId, request.query.limit ?? 50, request.query.cursor);
      return { items: page.items.map(alertJson), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/alerts/events',
    { ...common, schema: { ...meta, summary: "Events of all the caller's alerts (oldest first, or newest first with order=desc)", querystring: EventsQuery, response: { 200: AlertEventsPage, ...problemResponses } } },
    async (request) => {
      const page = await alerts.events(principalOf(request).userId, undefined, request.query.limit ?? 50, request.query.cursor, request.query.order ?? 'asc');
      return { items: page.items.map(eventJson), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/alerts/:id',
    { ...common, schema: { ...meta, summary: 'One alert', params: AlertIdParams, response: { 200: Alert, ...problemResponses } } },
    async (request) => alertJson(await alerts.get(principalOf(request).userId, request.params.id)),
  );

  app.patch(
    '/v1/alerts/:id',
    { ...common, schema: { ...meta, summary: 'Pause, resume or change an alert', params: AlertIdParams, body: PatchAlertBody, response: { 200: Alert, ...problemResponses } } },
    async (request) => {
      const b = request.body;
      return alertJson(
        await alerts.update(principalOf(request).userId, request.params.id, {
          ...(b.status === undefined ? {} : { status: b.status }),
          ...(b.threshold === undefined ? {} : { threshold: b.threshold }),
          ...(b.mode === undefined ? {} : { mode: b.mode }),
          ...(b.cooldown_seconds === undefined ? {} : { cooldown_seconds: b.cooldown_seconds }),
        }),
      );
    },
  );

  app.delete(
    '/v1/alerts/:id',
    { ...common, schema: { ...meta, summary: 'Delete an alert and its events', params: AlertIdParams, response: { 204: Type.Null(), ...problemResponses } } },
    async (request, reply) => {
      await alerts.remove(principalOf(request).userId, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/alerts/:id/events',
    { ...common, schema: { ...meta, summary: 'Events of one alert (oldest first, or newest first with order=desc)', params: AlertIdParams, querystring: EventsQuery, response: { 200: AlertEventsPage, ...problemResponses } } },
    async (request) => {
      const page = await alerts.events(principalOf(request).userId, request.params.id, request.query.limit ?? 50, request.query.cursor, request.query.order ?? 'asc');
      return { items: page.items.map(eventJson), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/me/alert-webhook',
    { ...common, schema: { ...meta, summary: 'The webhook alert events are POSTed to, without its secret (404 when none is set)', response: { 200: WebhookView, ...problemResponses } } },
    async (request) => alerts.webhook(principalOf(request).userId),
  );

  app.put(
    '/v1/me/alert-webhook',
    { ...common, schema: { ...meta, summary: 'Set the webhook alert events are POSTed to (HTTPS, public address); returns its signing secret once', body: WebhookBody, response: { 200: Webhook, ...problemResponses } } },
    async (request) => alerts.setWebhook(principalOf(request).userId, request.body.url),
  );

  app.delete(
    '/v1/me/alert-webhook',
    { ...common, schema: { ...meta, summary: 'Remove the alert webhook', response: { 204: Type.Null(), ...problemResponses } } },
    async (request, reply) => {
      await alerts.removeWebhook(principalOf(request).userId);
      return reply.code(204).send(null);
    },
  );
}
