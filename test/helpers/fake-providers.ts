// Local stand-ins for Finnhub and Yahoo: real HTTP servers on 127.0.0.1 answering with
// the providers' documented JSON shapes, so provider code is exercised over the network
// without the internet. A `mode` switches the whole server into a failure: 429 (with
// `retryAfter` as its Retry-After, or none), 500, malformed JSON, never answering at all,
// or `huge`: a 200 whose JSON body streams on for `hugeBytes` (a hostile provider);
// hostile values (1e999999999, negative or 401-digit prices) are set per symbol as raw
// JSON text. Every request is recorded (path, query, headers) so tests can check what
// was sent, and `bytesSent` counts what the server managed to write.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeMode = 'ok' | 'hang' | 'malformed' | '429' | '500' | 'huge';

export interface RecordedRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

export interface FakeServer {
  url: string;
  mode: FakeMode;
  /** The Retry-After header of a 429 (null: none); '1' unless set. */
  retryAfter: string | null;
  /** The size of a `huge` body, bytes. */
  hugeBytes: number;
  /** Body bytes written so far (all responses). */
  bytesSent: number;
  /** Answers in 'ok' mode this late, ms. */
  delayMs?: number;
  /** While set, 'ok' answers wait for it (a provider the test holds, then lets go). */
  hold?: Promise<void> | undefined;
  requests: RecordedRequest[];
  close: () => Promise<void>;
}

type FakeState = Pick<FakeServer, 'mode' | 'retryAfter' | 'hugeBytes' | 'bytesSent' | 'requests' | 'delayMs' | 'hold'>;

const fakeState = (): FakeState => ({ mode: 'ok', retryAfter: '1', hugeBytes: 50 * 1024 * 1024, bytesSent: 0, requests: [] });

/** A valid JSON quote padded with one string member until it is `size` bytes, written as the client reads it. */
function streamHuge(res: ServerResponse, size: number, fake: FakeState): void {
  const head = '{"c":1,"pc":1,"t":1700000000,"pad":"';
  const tail = '"}';
  const chunk = 'x'.repeat(64 * 1024);
  let left = Math.max(0, size - head.length - tail.length);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(head);
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      const piece = left >= chunk.length ? chunk : chunk.slice(0, left);
      left -= piece.length;
      fake.bytesSent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end(tail);
  };
  res.on('error', () => undefined); // the client hanging up mid-body is the point
  pump();
}

type Handler = (path: string, query: URLSearchParams) => { status: number; body: string };

async function serve(handler: Handler, fake: FakeState): Promise<{ server: Server; url: string; hanging: Set<ServerResponse> }> {
  const hanging = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    fake.requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers });
    switch (fake.mode) {
      case 'hang':
        hanging.add(res); // never answered; closed with the server
        return;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"c": 1.5, "pc": ');
        return;
      case '429':
        res
          .writeHead(429, { 'content-type': 'application/json', ...(fake.retryAfter === null ? {} : { 'retry-after': fake.retryAfter }) })
          .end('{"error":"API limit reached. Please try again later."}');
        return;
      case 'huge':
        streamHuge(res, fake.hugeBytes, fake);
        return;
      case '500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded');
        return;
      case 'ok': {
        const { status, body } = handler(url.pathname, url.searchParams);
        // A slow provider (delayMs) keeps concurrent callers overlapping.
        const answer = () => setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(body), fake.delayMs ?? 0);
        if (fake.hold === undefined) answer();
        else void fake.hold.then(answer);
        return;
      }
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, hanging };
}

function closer(server: Server, hanging: Set<ServerResponse>): () => Promise<void> {
  return async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** Raw JSON text for a Finnhub quote (numbers written as given, e.g. "148.5600000000000023"). */
export interface FinnhubQuoteText {
  c: string;
  pc: string;
  t: string;
}

export interface FakeFinnhub extends FakeServer {
  quotes: Map<string, FinnhubQuoteText>;
  /** Symbols the candle endpoint serves; any other → 403 like a free key gets. */
  premium: boolean;
  /** Raw /company-news answers per symbol (JSON text); others get one default item. */
  news: Map<string, string>;
}

/**
 * Finnhub: /quote (unknown symbol → all zeros, as Finnhub does), /search,
 * /stock/profile2 (unknown → {}), /company-news, /stock/candle (403 for a free key).
 */
export async function startFakeFinnhub(): Promise<FakeFinnhub> {
  const fake = {
    ...fakeState(),
    quotes: new Map<string, FinnhubQuoteText>(),
    premium: false,
    news: new Map<string, string>(),
  };
  const handler: Handler = (path, query) => {
    const symbol = query.get('symbol') ?? '';
    switch (path) {
      case '/quote': {
        const q = fake.quotes.get(symbol);
        if (q === undefined) return { status: 200, body: '{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}' };
        return { status: 200, body: `{"c":${q.c},"d":0.5,"dp":0.34,"h":${q.c},"l":${q.c},"o":${q.pc},"pc":${q.pc},"t":${q.t}}` };
      }
      case '/search':
        return {
          status: 200,
          body: `{"count":2,"result":[{"description":"APPLE INC","displaySymbol":"AAPL","symbol":"AAPL","type":"Common Stock"},{"description":"APPLE HOSPITALITY REIT INC","displaySymbol":"APLE","symbol":"APLE","type":"Common Stock"}]}`,
        };
      case '/stock/profile2':
        if (!fake.quotes.has(symbol)) return { status: 200, body: '{}' };
        return {
          status: 200,
          body: `{"country":"US","currency":"USD","exchange":"NASDAQ NMS - GLOBAL MARKET","finnhubIndustry":"Technology","ipo":"1980-12-12","logo":"https://static.example/AAPL.png","marketCapitalization":1415993.2000000000000001,"name":"Apple Inc","phone":"14089961010","shareOutstanding":4375.47998046875,"ticker":"${symbol}","weburl":"https://www.apple.com/"}`,
        };
      case '/company-news':
        if (fake.news.has(symbol)) return { status: 200, body: fake.news.get(symbol) ?? '[]' };
        return {
          status: 200,
          body: `[{"category":"company news","datetime":1700000000,"headline":"${symbol} does a thing","id":25286,"image":"","related":"${symbol}","source":"Example Wire","summary":"Something happened.","url":"https://news.example/1"}]`,
        };
      case '/stock/candle':
        if (!fake.premium) return { status: 403, body: `{"error":"You don't have access to this resource."}` };
        return {
          status: 200,
          body: '{"c":[217.68,221.03],"h":[222.49,221.5],"l":[217.19,217.1402],"o":[221.03,218.55],"s":"ok","t":[1569297600,1569384000],"v":[33463820,24018876]}',
        };
      default:
        return { status: 404, body: '{"error":"not found"}' };
    }
  };
  const { server, url, hanging } = await serve(handler, fake);
  return Object.assign(fake, { url, close: closer(server, hanging) });
}

export interface YahooDay {
  /** Seconds since epoch at the exchange's open (e.g. 14:30 UTC). */
  t: number;
  o: string | null;
  h: string | null;
  l: string | null;
  c: string | null;
  v: string | null;
}

export interface FakeYahoo extends FakeServer {
  charts: Map<string, { gmtoffset: number; days: YahooDay[]; price: string; previousClose: string; time: number }>;
}

/**
 * Yahoo: /v8/finance/chart/<symbol> (unknown symbol → 404 with chart.error, as Yahoo does);
 * with period1/period2 (epoch seconds) only the days stamped within them, as Yahoo does.
 */
export async function startFakeYahoo(): Promise<FakeYahoo> {
  const fake = {
    ...fakeState(),
    charts: new Map<string, { gmtoffset: number; days: YahooDay[]; price: string; previousClose: string; time: number }>(),
  };
  const handler: Handler = (path, query) => {
    const match = /^\/v8\/finance\/chart\/([^/]+)$/.exec(path);
    const symbol = decodeURIComponent(match?.[1] ?? '');
    const found = fake.charts.get(symbol);
    if (match === null || found === undefined) {
      return { status: 404, body: '{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}' };
    }
    const period1 = Number(query.get('period1') ?? Number.NEGATIVE_INFINITY);
    const period2 = Number(query.get('period2') ?? Number.POSITIVE_INFINITY);
    const chart = { ...found, days: found.days.filter((d) => d.t >= period1 && d.t <= period2) };
    const col = (pick: (d: YahooDay) => string | null) => `[${chart.days.map((d) => pick(d) ?? 'null').join(',')}]`;
    return {
      status: 200,
      body: `{"chart":{"result":[{"meta":{"currency":"USD","symbol":"${symbol}","exchangeName":"NMS","instrumentType":"EQUITY","gmtoffset":${chart.gmtoffset},"timezone":"EST","regularMarketPrice":${chart.price},"chartPreviousClose":${chart.previousClose},"regularMarketTime":${chart.time}},"timestamp":[${chart.days.map((d) => d.t).join(',')}],"indicators":{"quote":[{"open":${col((d) => d.o)},"high":${col((d) => d.h)},"low":${col((d) => d.l)},"close":${col((d) => d.c)},"volume":${col((d) => d.v)}}],"adjclose":[{"adjclose":${col((d) => d.c)}}]}}],"error":null}}`,
    };
  };
  const { server, url, hanging } = await serve(handler, fake);
  return Object.assign(fake, { url, close: closer(server, hanging) });
}

/** Daily bars of the weekdays from `days` days ago until yesterday, stamped at 14:30 UTC like a US open, with a price that varies by day. */
export function yahooWeekdays(now: number, days: number): YahooDay[] {
  const DAY = 86_400_000;
  const out: YahooDay[] = [];
  const today = now - (now % DAY);
  for (let d = today - days * DAY; d < today; d += DAY) {
    const weekday = new Date(d).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    const cents = 10_000 + ((d / DAY) % 997);
    const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    out.push({ t: d / 1000 + 14.5 * 3600, o: price, h: price, l: price, c: price, v: '1000' });
  }
  return out;
}
