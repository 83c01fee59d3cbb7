// Stall cases of the template, generation and report routes, at the template body's cap
// (TEMPLATE_BODY_MAX_CHARS). Reports are Markdown tables whose rows repeat per holding: the
// most rows a body at the cap renders over the large portfolio (the most Markdown → HTML
// work), and the most characters (the largest output, which the report GET routes read),
// never past the rendered cap (RENDERED_MAX_CHARS). Routes that enqueue a job are measured
// until the job has finished.
//
// One more report row is not at a cap but at a shape: table rows right after a list item,
// with no header, are a lazy continuation of that item, and marked (Markdown → HTML) takes
// time growing with the square of their number there. It is measured at a size that takes
// seconds, not at the cap, where it would take many minutes.
import { randomUUID } from 'node:crypto';
import { SECTIONS } from '../../src/modules/templates/generate.ts';
import { RENDERED_MAX_CHARS, TEMPLATE_BODY_MAX_CHARS } from '../../src/modules/templates/language.ts';
import type { Api } from './api.ts';
import { needed, sleep, type Case, type CaseGroup, type StallsFixture } from './stalls.ts';

/** Templates a pro user may keep (PRO_TEMPLATES' default), and the largest list page. */
const TEMPLATES_CAP = 100;
const PAGE = 100;
/** Versions of the templates whose versions are listed or deleted: a full page. */
const VERSIONS = 100;
const NAME_MAX = 200;
const DESCRIPTION_MAX = 2000;
/** The report's rendered Markdown aims this close to the cap: the rest of it (totals, narrative, performance) is a few kB. */
const RENDERED_TARGET = RENDERED_MAX_CHARS - 100_000;
const JOB_TIMEOUT_MS = 900_000;

/** Every part of the data model once (so the render collects and formats all of it). */
const HEAD = [
  '# {{portfolio.name}} ({{portfolio.base_currency}})',
  '',
  'Generated {{generated_at}}. Total value {{totals.total_value}}, market value {{totals.market_value}}, cost {{totals.cost_basis}}, unrealised {{totals.unrealized_pnl}}, realised {{totals.realized_pnl}}, dividends {{totals.dividends}}, fees {{totals.fees}}, cash {{totals.cash}}, stale {{totals.stale}}.',
  '',
  '{{narrative.text}}',
  '',
  '{{#narrative.sentences}}- {{text}}\n{{/narrative.sentences}}',
  '{{#performance}}- {{range}} {{from}}–{{to}}: {{start_value}} → {{end_value}}, gain {{total_gain}}, {{simple_return_percent}} %, TWR {{time_weighted_return_percent}} %, drawdown {{max_drawdown_percent}} %\n{{/performance}}',
  '{{#allocation}}- {{symbol}} {{market_value}} {{weight_percent}} %\n{{/allocation}}',
  '{{#indicators}}- {{symbol}} {{as_of}} {{close}} RSI {{rsi_14}} {{rsi_state}} SMA {{sma_20}} {{sma_20_position}}\n{{/indicators}}',
  '{{#alerts}}- {{symbol}} {{kind}} {{fired_at}} {{value}} {{threshold}} {{message}}\n{{/alerts}}',
  '{{#news}}- {{symbol}} {{headline}} {{source}} {{url}} {{published_at}} {{sentiment}}\n{{/news}}',
  '',
  '{{#ai.available}}{{ai.text}}{{/ai.available}}{{^ai.available}}{{ai.note}}{{/ai.available}}',
  '',
  '{{#holdings}}| {{symbol}} | {{quantity}} | {{average_cost}} | {{price}} | {{market_value}} | {{cost_basis}} | {{unrealized_pnl}} | {{unrealized_pnl_percent}} | {{weight_percent}} | {{day_change_percent}} | {{stale}} |\n{{/holdings}}',
  '',
].join('\n');
const TABLE_HEADER = '| Symbol | Stale | Note |\n|---|---|---|\n';
/**
 * Table rows, one per holding, with fields of a known width only (the symbol, `yes`/`no`),
 * so the rendered size is known in advance. Short rows give the most rows per body (the
 * most Markdown → HTML work); rows with a long note, written once per holding, the most
 * characters.
 */
const SHORT_BLOCK = '{{#holdings}}| {{symbol}} | {{stale}} | |\n{{/holdings}}';
const NOTE = 'n'.repeat(1000);
const LONG_BLOCK = `{{#holdings}}| {{symbol}} | {{stale}} | ${NOTE} |\n{{/holdings}}`;
const shortRow = (symbol: string) => `| ${symbol} | yes | |\n`.length;
const longRow = (symbol: string) => `| ${symbol} | yes | ${NOTE} |\n`.length;
/** Lines of table rows after the list item in the list-continuation report. */
const CONTINUATION_LINES = 4000;

/** A valid body of exactly TEMPLATE_BODY_MAX_CHARS characters: `text`, then a comment filling the rest. */
function filled(text: string, fill = 'f'): string {
  const room = TEMPLATE_BODY_MAX_CHARS - text.length - '{{! }}'.length;
  if (room < 0) throw new Error(`a template of ${text.length} characters is over the cap`);
  return `${text}{{!${fill.repeat(room)} }}`;
}
/** How many `block`s fit in a body after HEAD and the table header. */
const fitting = (block: string) => Math.floor((TEMPLATE_BODY_MAX_CHARS - HEAD.length - TABLE_HEADER.length - 16) / block.length);
/** A table report body of `block`s: as many as fit, or as keep the rendering (`perBlock` each) under the target. */
function tableBody(block: string, perBlock: number): { body: string; blocks: number } {
  const blocks = Math.max(1, Math.min(fitting(block), perBlock === 0 ? Infinity : Math.floor(RENDERED_TARGET / perBlock)));
  return { body: filled(`${HEAD}${TABLE_HEADER}${block.repeat(blocks)}`), blocks };
}
/** The body of the largest templates (the lists, versions, PUT and POST cases). */
const largestBody = (fill = 'f') => filled(`${HEAD}${TABLE_HEADER}${LONG_BLOCK.repeat(fitting(LONG_BLOCK))}`, fill);

const pad = (text: string, length: number) => `${text}${'x'.repeat(Math.max(0, length - text.length))}`.slice(0, length);

/** The symbols a seeding CSV leaves held (bought more than sold), in the import's column layout. */
function heldSymbols(csv: string): string[] {
  return [...new Set(csv.split('\n').filter((line) => line.includes(',buy,')).map((line) => line.split(',')[1] ?? ''))];
}

interface Report {
  id: string;
  status: 'queued' | 'done' | 'failed';
  note: string | null;
}

/** The current ETag of a template (its version). */
async function etag(api: Api, token: string, id: string): Promise<string> {
  const res = await api.call('GET', `/v1/templates/${id}`, token);
  await res.text();
  const tag = res.headers.get('etag');
  if (res.status !== 200 || tag === null) throw new Error(`GET /v1/templates/${id} answered ${res.status} without an ETag`);
  return tag;
}

/** Adds versions by restoring version 1 (the same body, without sending it again). */
async function addVersions(api: Api, token: string, id: string, count: number): Promise<void> {
  let tag = await etag(api, token, id);
  for (let v = 0; v < count; v++) {
    const res = await api.call('POST', `/v1/templates/${id}/versions/1/restore`, token, undefined, { headers: { 'if-match': tag } });
    const body = await res.text();
    const next = res.headers.get('etag');
    if (res.status !== 200 || next === null) throw new Error(`restore answered ${res.status}: ${body.slice(0, 200)}`);
    tag = next;
  }
}

/** Waits until every report in `ids` has been rendered (or failed), reading the list (no output in it). */
async function rendered(api: Api, token: string, ids: ReadonlySet<string>): Promise<Map<string, Report>> {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    const seen = new Map<string, Report>();
    let cursor: string | null = null;
    do {
      const page: { items: Report[]; next_cursor: string | null } = await api.json('GET', `/v1/reports?limit=${PAGE}${cursor === null ? '' : `&cursor=${cursor}`}`, token, 200);
      for (const r of page.items) if (ids.has(r.id) && r.status !== 'queued') seen.set(r.id, r);
      cursor = page.next_cursor;
    } while (cursor !== null);
    if (seen.size === ids.size) return seen;
    if (Date.now() > deadline) throw new Error(`${ids.size - seen.size} report(s) still queued after ${JOB_TIMEOUT_MS / 1000} s`);
    await sleep(250);
  }
}

export async function templateCases(f: StallsFixture): Promise<CaseGroup> {
  const { api } = f;
  const token = f.user.token;
  const create = async (name: string, body: string) =>
    (await api.json<{ id: string }>('POST', '/v1/templates', token, 201, { name: pad(name, NAME_MAX), description: pad('Seeded. ', DESCRIPTION_MAX), body })).id;
  const postReport = async (templateId: string, portfolioId: string) =>
    (await api.json<{ id: string }>('POST', `/v1/templates/${templateId}/reports`, token, 202, { portfolio_id: portfolioId })).id;
  const waitForReport = async (id: string) => {
    const done = (await rendered(api, token, new Set([id]))).get(id);
    if (done?.status !== 'done') throw new Error(`the report ${done?.status ?? 'vanished'}: ${done?.note ?? ''}`);
  };

  // The reports at the caps: the most table rows a body renders over the large portfolio,
  // and the most characters (over a portfolio of the same holdings, one buy each: the
  // output is the same size, and the GET routes read that one).
  const held = heldSymbols(f.csv);
  const sum = (row: (symbol: string) => number) => held.reduce((total, symbol) => total + row(symbol), 0);
  const rows = tableBody(SHORT_BLOCK, sum(shortRow));
  const chars = tableBody(LONG_BLOCK, sum(longRow));
  const rowsTemplate = await create('Report: most rows ', rows.body);
  const charsTemplate = await create('Report: most characters ', chars.body);
  const continuationBlocks = Math.max(1, Math.round(CONTINUATION_LINES / Math.max(1, held.length)));
  const continuationTemplate = await create('List continuation ', filled(`- a list item\n${SHORT_BLOCK.repeat(continuationBlocks)}`));
  const { id: fewTrades } = await api.json<{ id: string }>('POST', '/v1/portfolios', token, 201, { name: 'One buy per symbol', base_currency: 'USD' });
  const buys = ['date,symbol,type,qty,price,fee,currency,fx_rate,note,amount,ratio', '2000-01-03,,deposit,,,,,,,100000000,', ...held.map((symbol) => `2000-01-04,${symbol},buy,3,10.25,1,,,,,`)];
  await api.json('POST', `/v1/portfolios/${fewTrades}/transactions/import`, token, 201, `${buys.join('\n')}\n`, { type: 'text/csv' });

  f.log(`${f.mode}: ${TEMPLATES_CAP} templates of ${TEMPLATE_BODY_MAX_CHARS.toLocaleString('en-US')} characters, ${VERSIONS} versions, ${PAGE} reports …`);
  const versioned = await create('Versioned ', largestBody());
  await addVersions(api, token, versioned, VERSIONS - 1);
  // Room for the POST case's templates and for the one the DELETE case prepares each time.
  for (let i = 4; i < TEMPLATES_CAP - f.repeat - 1; i++) await create(`Filler ${i} `, largestBody());
  // A full page of reports, rendered over a portfolio holding nothing (the list shows no output).
  const { id: empty } = await api.json<{ id: string }>('POST', '/v1/portfolios', token, 201, { name: 'Reports', base_currency: 'USD' });
  await api.json('POST', `/v1/portfolios/${empty}/transactions`, token, 201, { type: 'deposit', amount: '1000', executed_at: '2020-01-02' });
  const listed = new Set<string>();
  for (let i = 0; i < PAGE; i++) listed.add(await postReport(charsTemplate, empty));
  const ready = rendered(api, token, listed).then(
    () => undefined,
    (err: unknown) => f.log(`${f.mode}: the listed reports did not render: ${err instanceof Error ? err.message : String(err)}`),
  );

  let tag = '';
  let generation = '';
  let report = '';
  let doomed = '';
  const cases: Case[] = [
    {
      label: `POST /v1/templates (${TEMPLATE_BODY_MAX_CHARS.toLocaleString('en-US')}-character body, ${NAME_MAX}-character name, ${DESCRIPTION_MAX.toLocaleString('en-US')}-character description)`,
      routes: ['POST /v1/templates'],
      send: () => api.call('POST', '/v1/templates', token, { name: pad(`Posted ${randomUUID()} `, NAME_MAX), description: pad('Posted. ', DESCRIPTION_MAX), body: largestBody() }),
      expect: [201],
    },
    {
      label: `GET /v1/templates?limit=${PAGE} (${TEMPLATES_CAP - 1} templates of ${TEMPLATE_BODY_MAX_CHARS.toLocaleString('en-US')} characters)`,
      routes: ['GET /v1/templates'],
      send: () => api.call('GET', `/v1/templates?limit=${PAGE}`, token),
      expect: [200],
    },
    { label: 'GET /v1/templates/:id', routes: ['GET /v1/templates/:id'], send: () => api.call('GET', `/v1/templates/${versioned}`, token), expect: [200] },
    {
      label: `PUT /v1/templates/:id (${TEMPLATE_BODY_MAX_CHARS.toLocaleString('en-US')}-character body, If-Match)`,
      routes: ['PUT /v1/templates/:id'],
      prepare: async () => {
        tag = await etag(api, token, versioned);
      },
      send: () =>
        api.call('PUT', `/v1/templates/${versioned}`, token, { name: pad('Put ', NAME_MAX), description: pad('Put. ', DESCRIPTION_MAX), body: largestBody('p') }, { headers: { 'if-match': tag } }),
      expect: [200],
    },
    {
      label: `PATCH /v1/templates/:id (${TEMPLATE_BODY_MAX_CHARS.toLocaleString('en-US')}-character body, If-Match)`,
      routes: ['PATCH /v1/templates/:id'],
      prepare: async () => {
        tag = await etag(api, token, versioned);
      },
      send: () => api.call('PATCH', `/v1/templates/${versioned}`, token, { body: largestBody('q') }, { headers: { 'if-match': tag } }),
      expect: [200],
    },
    {
      label: `GET /v1/templates/:id/versions?limit=${PAGE} (${VERSIONS}+ versions of ${TEMPLATE_BODY_MAX_CHARS.toLocaleString('en-US')} characters)`,
      routes: ['GET /v1/templates/:id/versions'],
      send: () => api.call('GET', `/v1/templates/${versioned}/versions?limit=${PAGE}`, token),
      expect: [200],
    },
    { label: 'GET /v1/templates/:id/versions/:n', routes: ['GET /v1/templates/:id/versions/:n'], send: () => api.call('GET', `/v1/templates/${versioned}/versions/1`, token), expect: [200] },
    {
      label: 'POST /v1/templates/:id/versions/:n/restore (If-Match)',
      routes: ['POST /v1/templates/:id/versions/:n/restore'],
      prepare: async () => {
        tag = await etag(api, token, versioned);
      },
      send: () => api.call('POST', `/v1/templates/${versioned}/versions/1/restore`, token, undefined, { headers: { 'if-match': tag } }),
      expect: [200],
    },
    {
      label: 'POST /v1/templates/generate (every section, as a new version of a template; until the job has written it)',
      routes: ['POST /v1/templates/generate'],
      prepare: async () => {
        tag = await etag(api, token, versioned);
      },
      send: () => api.call('POST', '/v1/templates/generate', token, { sections: [...SECTIONS], template_id: versioned, name: pad('Generated ', NAME_MAX) }, { headers: { 'if-match': tag } }),
      settle: async (body) => {
        generation = (JSON.parse(body) as { id: string }).id;
        const deadline = Date.now() + JOB_TIMEOUT_MS;
        while ((await api.json<{ status: string }>('GET', `/v1/templates/generations/${generation}`, token, 200)).status === 'queued') {
          if (Date.now() > deadline) throw new Error('the generation job did not finish');
          await sleep(100);
        }
      },
      expect: [202],
    },
    { label: 'GET /v1/templates/generations/:id', routes: ['GET /v1/templates/generations/:id'], send: () => api.call('GET', `/v1/templates/generations/${needed(generation, 'generation')}`, token), expect: [200] },
    {
      label: `POST /v1/templates/:id/reports (${(rows.blocks * held.length).toLocaleString('en-US')} table rows over the ${held.length} holdings of ${f.rows.toLocaleString('en-US')} transactions, the most a body at the cap renders there; until the job has rendered it)`,
      routes: ['POST /v1/templates/:id/reports'],
      // One render values the portfolio six times (holdings, five performance ranges): tens of seconds at the defaults.
      repeat: f.heavyRepeat,
      send: () => api.call('POST', `/v1/templates/${rowsTemplate}/reports`, token, { portfolio_id: f.big }),
      settle: async (body) => waitForReport((JSON.parse(body) as { id: string }).id),
      expect: [202],
    },
    {
      label: `POST /v1/templates/:id/reports (${(chars.blocks * sum(longRow)).toLocaleString('en-US')} characters in ${(chars.blocks * held.length).toLocaleString('en-US')} rows over ${held.length} holdings, ${chars.blocks === fitting(LONG_BLOCK) ? 'the most a body at the cap renders there' : 'just under the rendered cap'}; until rendered)`,
      routes: ['POST /v1/templates/:id/reports'],
      send: () => api.call('POST', `/v1/templates/${charsTemplate}/reports`, token, { portfolio_id: fewTrades }),
      settle: async (body) => {
        report = (JSON.parse(body) as { id: string }).id;
        await waitForReport(report);
      },
      expect: [202],
    },
    {
      label: `POST /v1/templates/:id/reports (${(continuationBlocks * held.length).toLocaleString('en-US')} table rows right after a list item, no header: Markdown reads them as one list item, in time growing with the square of their number; until rendered)`,
      routes: ['POST /v1/templates/:id/reports'],
      repeat: f.heavyRepeat,
      send: () => api.call('POST', `/v1/templates/${continuationTemplate}/reports`, token, { portfolio_id: fewTrades }),
      settle: async (body) => waitForReport((JSON.parse(body) as { id: string }).id),
      expect: [202],
    },
    { label: `GET /v1/reports?limit=${PAGE} (${PAGE}+ reports)`, routes: ['GET /v1/reports'], send: () => api.call('GET', `/v1/reports?limit=${PAGE}`, token), expect: [200] },
    {
      label: `GET /v1/reports/:id (the largest report: ${(chars.blocks * sum(longRow)).toLocaleString('en-US')} characters of Markdown, and its HTML)`,
      routes: ['GET /v1/reports/:id'],
      send: () => api.call('GET', `/v1/reports/${needed(report, 'rendered report')}`, token),
      expect: [200],
    },
    {
      label: 'GET /v1/reports/:id/download?format=md (the largest report)',
      routes: ['GET /v1/reports/:id/download'],
      send: () => api.call('GET', `/v1/reports/${needed(report, 'rendered report')}/download?format=md`, token),
      expect: [200],
    },
    {
      label: 'GET /v1/reports/:id/download?format=html (the largest report)',
      routes: ['GET /v1/reports/:id/download'],
      send: () => api.call('GET', `/v1/reports/${needed(report, 'rendered report')}/download?format=html`, token),
      expect: [200],
    },
  ];
  const late: Case[] = [
    {
      label: `DELETE /v1/templates/:id (${VERSIONS} versions of ${TEMPLATE_BODY_MAX_CHARS.toLocaleString('en-US')} characters)`,
      routes: ['DELETE /v1/templates/:id'],
      // Each repetition first writes the versions (seconds).
      repeat: f.heavyRepeat,
      prepare: async () => {
        doomed = await create('Doomed ', largestBody());
        await addVersions(api, token, doomed, VERSIONS - 1);
      },
      send: () => api.call('DELETE', `/v1/templates/${doomed}`, token),
      expect: [204],
    },
  ];
  return { cases, late, ready };
}
