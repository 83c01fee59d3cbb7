// End to end: the real `financehub serve` process (embedded database, simulated market
// data) driven by Debian's Chromium through playwright-core. Screenshots of every page go to
// test-results/ (not committed); every page is scanned by axe-core.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import jsqr from 'jsqr';
import { URI } from 'otpauth';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import WebSocket from 'ws';
import { strongPassword } from '../helpers/auth.ts';
import { freePort, ROOT, startCli, tempDir, type Running } from '../helpers/processes.ts';

const CHROMIUM = '/usr/bin/chromium';
// The server below always runs on its embedded database, so the PostgreSQL pass would only repeat it.
const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`
  : process.env.TEST_DATABASE_URL !== undefined && process.env.TEST_DATABASE_URL !== ''
    ? 'runs on the PGlite pass only: its financehub serve child uses the embedded database'
    : false;
const RESULTS = path.join(ROOT, 'test-results');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The en-US rendering the page must show for an API decimal string: digits grouped, none changed. */
function enUs(value: string, currency: string): string {
  const [int = '', frac] = value.replace(/^-/, '').split('.');
  return `${value.startsWith('-') ? '−' : ''}${int.replace(/\B(?=([0-9]{3})+$)/g, ',')}${frac === undefined ? '' : `.${frac}`} ${currency}`;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

describe('web app in a real browser', () => {
  let server: Running;
  let data: { dir: string; remove: () => void };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const cspViolations: string[] = [];
  // A local endpoint standing in for the user's webhook receiver: records every POST.
  let hookServer: Server;
  let hookUrl = '';
  const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];
  const email = `e2e-${Date.now()}@example.test`;
  const password = strongPassword();
  const adminEmail = `admin-${Date.now()}@example.test`;
  const adminPassword = strongPassword();

  before(async () => {
    if (skip !== false) return;
    mkdirSync(RESULTS, { recursive: true });
    data = tempDir('financehub-e2e-');
    hookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body });
        res.end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = startCli(['serve'], {
      DATA_DIR: data.dir,
      PORT: String(port),
      MARKET_DATA_PROVIDER: 'simulated',
      ALLOWED_ORIGINS: base,
      LOG_LEVEL: 'warn',
      SHED_EVENT_LOOP_DELAY_MS: '0',
      RATE_LIMIT_PUBLIC: '100000/60',
      // Two failures for one (email, IP) block it, so the countdown can be seen.
      LOGIN_MAX_CONSECUTIVE_FAILURES: '2',
      LOGIN_BLOCK_SECONDS: '60',
      // Symbols with active alerts are quoted every second, so an alert fires within seconds.
      ALERTS_TICK_SECONDS: '1',
      // The webhook receiver above is plain HTTP on loopback, which the SSRF guard refuses otherwise.
      ALERTS_WEBHOOK_ALLOW_HTTP: 'true',
      ALERTS_WEBHOOK_ALLOW_PRIVATE: 'true',
      QUOTE_CACHE_SECONDS: '1',
      ADMIN_EMAIL: adminEmail,
      ADMIN_PASSWORD: adminPassword,
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        if ((await fetch(`${base}/health/live`)).ok) break;
      } catch {
        // not listening yet
      }
      assert.ok(Date.now() < deadline, `server did not start: ${server.stderr()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run'],
    });
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
  });

  after(async () => {
    if (skip !== false) return;
    await browser?.close();
    server?.child.kill('SIGTERM');
    await server?.finished;
    hookServer?.closeAllConnections();
    await new Promise((resolve) => hookServer?.close(resolve));
    data?.remove();
  });

  /** Screenshot into test-results/ and an axe-core scan with no serious or critical violation. */
  async function checkPage(name: string) {
    await page.screenshot({ path: path.join(RESULTS, `web-${name}.png`), fullPage: true });
    await page.evaluate(`${axeSource}\n;0`);
    // Runs in the page (a string, since the tests compile without the DOM library).
    const violations = await page.evaluate<AxeViolation[]>(
      `axe.run(document).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
    );
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad, [], `${name}: ${JSON.stringify(bad, null, 2)}`);
  }

  /** An API call as a separate client (JSON flow, its own session). */
  async function apiLogin() {
    const res = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    assert.equal(res.status, 200);
    return (await res.json()) as { access_token: string; refresh_token: string };
  }

  /** POSTs a resource as that API client and answers its id (a 201 is asserted). */
  async function apiCreate(headers: Record<string, string>, url: string, body: object): Promise<string> {
    const res = await fetch(`${base}${url}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { id: string }).id;
  }

  let portfolioUrl = '';

  it('sign up, land on the overview, with the refresh token in an HttpOnly SameSite=Strict cookie', { skip }, async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/signin`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await checkPage('signin');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${base}/signup`);
    await checkPage('signup');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const cookies = await context.cookies();
    const refresh = cookies.find((c) => c.name === 'fh_refresh');
    assert.ok(refresh !== undefined, 'refresh cookie set');
    assert.equal(refresh.httpOnly, true);
    assert.equal(refresh.sameSite, 'Strict');
    assert.equal(refresh.path, '/v1/auth');
    assert.equal(await page.evaluate('document.cookie'), '', 'no script can read the refresh token');
    // A reload keeps the session: the access token is rebuilt from the cookie.
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  it('a cross-origin POST to the refresh route without the custom header is refused', { skip }, async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'fh_refresh');
    const res = await fetch(`${base}/v1/auth/refresh`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', cookie: `fh_refresh=${cookie?.value ?? ''}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  it('create a portfolio, add three transactions, and see the holdings exactly as the API computed them', { skip }, async () => {
    await page.getByLabel('Portfolio name').fill('Main');
    await page.getByRole('button', { name: 'Create portfolio' }).click();
    await page.getByRole('link', { name: 'Main' }).click();
    await page.getByRole('heading', { name: 'Main' }).waitFor();
    portfolioUrl = page.url();
    const form = page.getByRole('form', { name: 'Add transaction' });
    const add = async (fields: { type: string; symbol?: string; quantity?: string; price?: string; amount?: string; date: string }) => {
      await form.getByLabel('Type').selectOption(fields.type);
      if (fields.symbol !== undefined) await form.getByLabel('Symbol').fill(fields.symbol);
      if (fields.quantity !== undefined) await form.getByLabel('Quantity').fill(fields.quantity);
      if (fields.price !== undefined) await form.getByLabel(/^Price/).fill(fields.price);
      if (fields.amount !== undefined) await form.getByLabel(/^Amount/).fill(fields.amount);
      await form.getByLabel('Date').fill(fields.date);
      const saved = page.waitForResponse((r) => r.url().endsWith('/transactions') && r.request().method() === 'POST');
      await form.getByRole('button', { name: 'Add transaction' }).click();
      assert.equal((await saved).status(), 201);
    };
    await add({ type: 'deposit', amount: '100000.10', date: '2026-01-05' });
    await add({ type: 'buy', symbol: 'AAPL', quantity: '10', price: '150.123456', date: '2026-01-06' });
    // The reload after the third transaction: the first holdings answer that lists MSFT.
    const holdingsLoaded = page.waitForResponse(async (r) => r.url().endsWith('/holdings') && r.ok() && (await r.text()).includes('"MSFT"'));
    await add({ type: 'buy', symbol: 'MSFT', quantity: '3.5', price: '300.1', date: '2026-01-07' });
    const api = (await (await holdingsLoaded).json()) as { base_currency: string; items: Array<{ symbol: string; market_value: string | null; quantity: string }>; totals: { total_value: string } };
    assert.deepEqual(api.items.map((i) => i.symbol).sort(), ['AAPL', 'MSFT']);
    const table = page.getByTestId('holdings');
    await table.locator('tr[data-symbol="MSFT"]').waitFor();
    for (const item of api.items) {
      assert.ok(item.market_value !== null, `${item.symbol} is priced by the simulated provider`);
      const cell = table.locator(`tr[data-symbol="${item.symbol}"] td[data-field="market_value"]`);
      assert.equal((await cell.textContent())?.trim(), enUs(item.market_value, api.base_currency));
    }
    assert.equal((await page.getByTestId('holdings-total').textContent())?.trim(), enUs(api.totals.total_value, api.base_currency));
    // The transactions list reloads independently of the holdings: wait for its third row.
    const txRows = page.getByTestId('transactions').locator('tbody tr');
    await txRows.nth(2).waitFor();
    assert.equal(await txRows.count(), 3);
    await checkPage('portfolio');
  });

  it('a CSV import with one bad row shows that row in the dry-run preview and cannot be committed', { skip }, async () => {
    const csv = 'date,type,symbol,quantity,price\n2026-02-02,buy,AAPL,1,151\n2026-02-03,buy,MSFT,abc,300\n';
    await page.getByLabel(/^CSV text/).fill(csv);
    await page.getByRole('button', { name: 'Check (dry run)' }).click();
    const preview = page.getByTestId('import-preview');
    await preview.waitFor();
    const errorRow = preview.locator('tr.row-error');
    assert.equal(await errorRow.count(), 1);
    assert.equal((await errorRow.locator('td').first().textContent())?.trim(), '3', 'line 3 of the file');
    assert.match((await errorRow.locator('td').nth(1).textContent()) ?? '', /quantity/);
    assert.equal(await preview.getByRole('button', { name: /^Import/ }).isDisabled(), true);
    await page.screenshot({ path: path.join(RESULTS, 'web-portfolio-import.png'), fullPage: true });
  });

  it('a transaction is edited in place; a CSV with its own column names is mapped before the dry run', { skip }, async () => {
    const row = page.getByTestId('transactions').locator('tbody tr', { hasText: 'MSFT' }).first();
    await row.getByRole('button', { name: /^Edit buy MSFT/ }).click();
    const edit = page.getByRole('form', { name: 'Edit transaction' });
    await edit.getByLabel('Quantity').fill('4.25');
    const patched = page.waitForResponse((r) => r.url().includes('/transactions/') && r.request().method() === 'PATCH');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    const res = await patched;
    assert.equal(res.status(), 200);
    assert.deepEqual(JSON.parse(res.request().postData() ?? '{}'), { quantity: '4.25' }, 'only the changed field, as a string');
    await page.getByTestId('transactions').locator('tbody tr', { hasText: '4.25' }).waitFor();

    // "When" and "Cost" are no header aliases: the mapping step names them before the check.
    const csv = 'When,Action,Ticker,Shares,Cost,Broker note\n2026-02-02,buy,AAPL,1,151,x\n';
    await page.getByLabel(/^CSV text/).fill(csv);
    const mapping = page.getByTestId('column-mapping');
    await mapping.waitFor();
    assert.equal(await mapping.getByLabel('Column 2 “Action”').inputValue(), 'type', 'aliases are guessed');
    assert.equal(await mapping.getByLabel('Column 1 “When”').inputValue(), '', 'unknown names start ignored');
    await mapping.getByLabel('Column 1 “When”').selectOption('executed_at');
    await mapping.getByLabel('Column 5 “Cost”').selectOption('price');
    const checked = page.waitForResponse((r) => r.url().includes('/transactions/import') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Check (dry run)' }).click();
    const sent = (await checked).request().postData() ?? '';
    assert.equal(sent.split('\n')[0], 'executed_at,type,symbol,quantity,price,ignored_column_6');
    const preview = page.getByTestId('import-preview');
    await preview.getByText('1 to import').waitFor();
    assert.equal(await preview.getByRole('button', { name: /^Import/ }).isDisabled(), false);
    await checkPage('portfolio-mapping');
  });

  it('the overview shows the totals, the value chart with its range selector, allocation and top holdings', { skip }, async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByTestId('total-USD').waitFor();
    await page.getByRole('button', { name: 'YTD' }).click();
    await page.locator('.chart canvas').first().waitFor();
    await page.getByRole('img', { name: /Allocation by holding/ }).waitFor();
    await page.getByRole('img', { name: /Allocation by currency/ }).waitFor();
    await page.getByRole('heading', { name: 'Top holdings' }).waitFor();
    await checkPage('overview');
  });

  it('the first page renders in under 1 s on localhost (first contentful paint of a fresh load)', { skip }, async () => {
    await page.goto(`${base}/`);
    await page.getByTestId('total-USD').waitFor();
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.POSITIVE_INFINITY);
    assert.ok(fcp < 1000, `first contentful paint after ${fcp} ms`);
  });

  it('the symbol page shows the latest quote and the close chart; the watchlist lists it', { skip }, async () => {
    await page.goto(`${base}/symbols/AAPL`);
    await page.getByTestId('quote-price').waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await checkPage('symbol');
    await page.getByRole('button', { name: 'Add to watchlist' }).click();
    await page.getByText('AAPL is on your watchlist.').waitFor();
    await page.getByRole('link', { name: 'Watchlist' }).click();
    await page.getByRole('cell', { name: 'AAPL', exact: true }).waitFor();
    // Streamed trades keep the stored previous close, so the day change is always shown.
    const previousClose = ((await page.locator('td[data-field="previous_close"]').first().textContent()) ?? '').trim();
    const dayChange = ((await page.locator('td[data-field="day_change"]').first().textContent()) ?? '').trim();
    assert.match(previousClose, /^[0-9,]+\.[0-9]+$/);
    assert.match(dayChange, /^[−+]?[0-9,]+(\.[0-9]+)? \([−+]?[0-9,]+\.[0-9]{2} %\)$/);
    await checkPage('watchlist');
  });

  it('the symbol chart draws candlesticks with its attribution and a live quote arrives over the WebSocket', { skip }, async () => {
    await page.goto(`${base}/symbols/MSFT`);
    await page.getByTestId('candle-chart').locator('canvas').first().waitFor();
    await page.getByRole('link', { name: /TradingView Lightweight Charts/ }).waitFor();
    // The REST quote is replaced by one pushed on quotes:MSFT (the simulation ticks every second).
    await page.locator('[data-testid="quote-price"][data-live="true"]').waitFor({ timeout: 15_000 });
    assert.match((await page.getByTestId('live-state').first().textContent()) ?? '', /^Live$/);
    // A click on the chart puts that price into the alert form's threshold.
    // The indicators arrive after the candles and redraw the chart, so a click can meet the old one: click until picked.
    const threshold = page.getByRole('form', { name: 'Create alert' }).getByRole('textbox', { name: 'Price', exact: true });
    const box = await page.getByTestId('candle-chart').boundingBox();
    assert.ok(box !== null);
    for (let i = 0; i < 20 && (await threshold.inputValue()) === ''; i += 1) {
      await page.mouse.click(box.x + box.width / 2, box.y + 80);
      await page.waitForTimeout(250);
    }
    assert.match(await threshold.inputValue(), /^[0-9]+\.[0-9]{2}$/);
    await page.getByRole('img', { name: /daily candles/ }).waitFor();
  });

  it("the overview shows each portfolio's value live, and each currency's total summed exactly from them", { skip }, async () => {
    // A second USD portfolio holding cash only, so the USD total is a sum of two live values.
    const { access_token: token } = await apiLogin();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const cashId = await apiCreate(headers, '/v1/portfolios', { name: 'Cash only', base_currency: 'USD' });
    await apiCreate(headers, `/v1/portfolios/${cashId}/transactions`, { type: 'deposit', amount: '1234.5', currency: 'USD', executed_at: new Date(Date.UTC(2026, 0, 2)).toISOString() });
    try {
      await page.getByRole('link', { name: 'Overview' }).click();
      const id = portfolioUrl.split('/').at(-1) ?? '';
      await page.getByTestId(`live-value-${id}`).waitFor({ timeout: 15_000 });
      await page.getByTestId(`live-value-${cashId}`).waitFor({ timeout: 15_000 });
      await page.locator('[data-testid="total-USD"][data-live="true"]').waitFor({ timeout: 15_000 });
      // One reading of the page, so a price moving in between cannot split the figures.
      const [total = '', ...values] = await page.evaluate<string[]>(
        `[document.querySelector('[data-testid="total-USD"]').firstChild.textContent, ...[${JSON.stringify(id)}, ${JSON.stringify(cashId)}].map((p) => document.querySelector('[data-testid="live-value-' + p + '"]').textContent)]`,
      );
      /** "−1,234.5 USD" → -1234500000000n, in 10^-9 (the en-US rendering of an exact decimal string). */
      const nanos = (text: string) => {
        const m = /^(−?)([0-9,]+)(?:\.([0-9]{1,9}))? USD$/.exec(text.trim());
        assert.ok(m !== null, `an amount: ${text}`);
        const value = BigInt(`${m[2]?.replace(/,/g, '') ?? ''}${(m[3] ?? '').padEnd(9, '0')}`);
        return m[1] === '−' ? -value : value;
      };
      assert.equal(values.length, 2);
      assert.equal(nanos(values[1] ?? ''), 1_234_500_000_000n);
      assert.equal(nanos(total), values.reduce((sum, v) => sum + nanos(v), 0n), `${total} = ${values.join(' + ')}`);
      // And it reads like the figures it adds up: 100,414.70 USD, not 100,414.7 USD.
      const places = (text: string) => /\.([0-9]+) /.exec(text)?.[1]?.length ?? 0;
      assert.equal(places(total), places(values[0] ?? ''), `${total} against ${values[0] ?? ''}`);
    } finally {
      await fetch(`${base}/v1/portfolios/${cashId}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    }
  });

  it('an alert created on the Alerts page fires, arrives live, and is POSTed to the webhook set there, signed with the secret shown once', { skip }, async () => {
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    await page.getByTestId('live-state').getByText('Live', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByTestId('webhook-state').getByText('No webhook', { exact: false }).waitFor();
    const hookForm = page.getByRole('form', { name: 'Set webhook' });
    await hookForm.getByLabel('Webhook URL').fill(hookUrl);
    await hookForm.getByRole('button', { name: 'Set webhook' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent()) ?? '';
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    await page.getByTestId('webhook-state').getByText(hookUrl).waitFor();
    const form = page.getByRole('form', { name: 'Create alert' });
    // Every rule kind is offered.
    assert.equal(await form.getByLabel('Rule').locator('option').count(), 11);
    await form.getByLabel('Symbol').fill('AAPL');
    await form.getByLabel('Rule').selectOption('price_above');
    await form.getByRole('textbox', { name: 'Price', exact: true }).fill('0.01');
    await form.getByRole('button', { name: 'Create alert' }).click();
    await page.getByTestId('alerts').locator('tbody tr', { hasText: 'AAPL' }).waitFor();
    const event = page.getByTestId('alert-events').locator('li', { hasText: 'AAPL' });
    await event.waitFor({ timeout: 20_000 });
    assert.match((await event.textContent()) ?? '', /threshold 0\.01/);
    await page.getByTestId('alerts').locator('td[data-field="status"]', { hasText: 'triggered' }).waitFor();
    await checkPage('alerts');
    // The same event, POSTed to the webhook and signed with the secret the page showed.
    const deadline = Date.now() + 20_000;
    while (!hooks.some((h) => h.body.includes('"AAPL"'))) {
      assert.ok(Date.now() < deadline, 'the webhook was not called');
      await new Promise((r) => setTimeout(r, 200));
    }
    const hook = hooks.find((h) => h.body.includes('"AAPL"'));
    assert.ok(hook !== undefined);
    const signed = `sha256=${createHmac('sha256', secret).update(`${String(hook.headers['x-financehub-timestamp'])}.${hook.body}`).digest('hex')}`;
    assert.equal(hook.headers['x-financehub-signature'], signed);
    // Reloaded, the page shows where alerts go but never the secret again.
    await page.reload();
    await page.getByTestId('webhook-state').getByText(hookUrl).waitFor();
    assert.equal(await page.getByTestId('webhook-secret').count(), 0);
    assert.ok(!((await page.content()).includes(secret)), 'the secret is not on the reloaded page');
    await page.getByRole('button', { name: 'Remove webhook' }).click();
    await page.getByTestId('webhook-state').getByText('No webhook', { exact: false }).waitFor();
  });

  it('the News page lists headlines', { skip }, async () => {
    await page.getByRole('link', { name: 'News' }).click();
    await page.getByRole('heading', { name: 'News', level: 1 }).waitFor();
    await page.getByLabel(/^Symbols/).fill('AAPL');
    await page.getByRole('button', { name: 'Show news' }).click();
    await page.getByTestId('news').locator('li').first().waitFor();
    await checkPage('news');
  });

  it('a template edited from two pages: the second save gets the conflict, shows the newer version, and is merged or overwritten deliberately', { skip }, async () => {
    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByLabel('Template name').fill('Weekly');
    await page.getByRole('button', { name: 'Create template' }).click();
    await page.getByTestId('editing-version').getByText('Editing version 1').waitFor();
    const url = page.url();
    assert.match(url, /\/templates\/[0-9a-f-]{36}$/);
    const other = await context.newPage();
    try {
      await other.goto(url);
      await other.getByTestId('editing-version').getByText('Editing version 1').waitFor();
      await other.getByLabel('Template body').fill('# {{portfolio.name}}\nFrom the other page\n');
      await other.getByRole('button', { name: 'Save', exact: true }).click();
      await other.getByText('Saved: version 2.').waitFor();
    } finally {
      await other.close();
    }
    await page.getByLabel('Template body').fill('# {{portfolio.name}}\nFrom this page\n');
    const put = page.waitForResponse((r) => r.url() === url.replace('/templates/', '/v1/templates/') && r.request().method() === 'PUT');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    assert.equal((await put).status(), 412);
    const conflict = page.getByTestId('conflict');
    await conflict.waitFor();
    assert.match(await conflict.getByTestId('newer-body').inputValue(), /From the other page/);
    const merged = conflict.getByTestId('merged-body');
    assert.match(await merged.inputValue(), /<<<<<<< your text\nFrom this page\n=======\nFrom the other page\n>>>>>>> version 2/);
    assert.equal(await conflict.getByRole('button', { name: 'Save merge' }).isDisabled(), true, 'no save while markers remain');
    await checkPage('templates-conflict');
    await merged.fill('# {{portfolio.name}}\nFrom this page\nFrom the other page\n');
    await conflict.getByRole('button', { name: 'Save merge' }).click();
    await page.getByText('Merge saved: version 3.').waitFor();
    // A second conflict, resolved the other way: overwrite the newer version on purpose.
    const third = await context.newPage();
    try {
      await third.goto(url);
      await third.getByTestId('editing-version').getByText('Editing version 3').waitFor();
      await third.getByLabel('Template body').fill('# {{portfolio.name}}\nVersion four\n');
      await third.getByRole('button', { name: 'Save', exact: true }).click();
      await third.getByText('Saved: version 4.').waitFor();
    } finally {
      await third.close();
    }
    await page.getByLabel('Template body').fill('# {{portfolio.name}}\nMine wins\n');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await conflict.getByTestId('newer-body').waitFor();
    assert.match(await conflict.getByTestId('newer-body').inputValue(), /Version four/);
    await conflict.getByRole('button', { name: 'Overwrite with my version' }).click();
    await page.getByText('Overwritten: version 5.').waitFor();
    await page.getByTestId('versions').locator('tbody tr').nth(4).waitFor();
    const { access_token: token } = await apiLogin();
    const stored = await fetch(`${base}/v1/templates/${url.split('/').at(-1) ?? ''}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(stored.headers.get('etag'), '"5"');
    assert.equal(((await stored.json()) as { body: string }).body, '# {{portfolio.name}}\nMine wins\n');
    // A report of the merged version, downloaded.
    await page.getByRole('button', { name: 'Generate report' }).click();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download Markdown' }).click({ timeout: 30_000 });
    assert.match((await download).suggestedFilename(), /\.md$/);
    await checkPage('templates');
  });

  it('a template generated from chosen sections opens once its job has written it; regenerated, it gets a new version, unless it moved on first', { skip }, async () => {
    await page.getByRole('link', { name: 'Templates' }).click();
    const form = page.getByRole('form', { name: 'Generate template', exact: true });
    await form.getByLabel('News', { exact: true }).check();
    await form.getByLabel('Performance by range').uncheck();
    await form.getByLabel('Name (optional)').fill('Generated weekly');
    await form.getByRole('button', { name: 'Generate template' }).click();
    await page.getByTestId('editing-version').getByText('Editing version 1').waitFor({ timeout: 30_000 });
    const id = page.url().split('/').at(-1) ?? '';
    assert.match(id, /^[0-9a-f-]{36}$/);
    const body = await page.getByLabel('Template body').inputValue();
    for (const heading of ['## Summary', '## Holdings', '## News']) assert.ok(body.includes(heading), `${heading} in ${body}`);
    assert.ok(!body.includes('## Performance'), 'an unchecked section is left out');
    await page.getByRole('link', { name: 'Generated weekly', exact: true }).waitFor();
    await checkPage('templates-generated');

    // Regenerated with another choice of sections: a new version, read back into the editor.
    const again = page.getByRole('form', { name: 'Regenerate template' });
    const replace = again.getByRole('button', { name: 'Replace body with generated sections' });
    await page.getByLabel('Template body').fill(`${body}\nunsaved`);
    assert.equal(await replace.isDisabled(), true, 'no regeneration over unsaved changes');
    await page.getByLabel('Template body').fill(body);
    await again.getByLabel('Allocation').check();
    await replace.click();
    await page.getByText('Generated: version 2.').waitFor({ timeout: 30_000 });
    await page.getByTestId('editing-version').getByText('Editing version 2').waitFor();
    const regenerated = await page.getByLabel('Template body').inputValue();
    for (const heading of ['## Summary', '## Holdings', '## Performance', '## Allocation']) assert.ok(regenerated.includes(heading), `${heading} in ${regenerated}`);

    // Saved elsewhere first (version 3): the generation at version 2 writes nothing and says so.
    const { access_token: token } = await apiLogin();
    const auth = { authorization: `Bearer ${token}` };
    const elsewhere = await fetch(`${base}/v1/templates/${id}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json', 'if-match': '"2"' },
      body: JSON.stringify({ name: 'Generated weekly', description: '', body: '# {{portfolio.name}}\nEdited elsewhere\n' }),
    });
    assert.equal(elsewhere.status, 200, await elsewhere.clone().text());
    await replace.click();
    await again.getByText('The template changed to version 3 first; nothing was written.').waitFor({ timeout: 30_000 });
    const stored = await fetch(`${base}/v1/templates/${id}`, { headers: auth });
    assert.equal(stored.headers.get('etag'), '"3"');
    assert.equal(((await stored.json()) as { body: string }).body, '# {{portfolio.name}}\nEdited elsewhere\n');
    assert.equal((await fetch(`${base}/v1/templates/${id}`, { method: 'DELETE', headers: auth })).status, 204);
  });

  it('the account page signs out another session, which can no longer refresh', { skip }, async () => {
    const other = await apiLogin();
    await page.getByRole('link', { name: 'Account' }).click();
    const sid = JSON.parse(Buffer.from(other.access_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid: string };
    const row = page.locator(`tr[data-session="${sid.sid}"]`);
    await row.waitFor();
    await checkPage('account');
    await row.getByRole('button', { name: /Sign out session/ }).click();
    await row.waitFor({ state: 'detached' });
    const res = await fetch(`${base}/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: other.refresh_token }) });
    assert.equal(res.status, 401);
  });

  it('the account page closes a live connection of another client within 10 s', { skip }, async () => {
    const other = await apiLogin();
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${other.access_token}` } });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await page.getByRole('button', { name: 'Refresh list' }).click();
    const row = page.getByTestId('connections').locator('tbody tr').first();
    await row.waitFor();
    await row.getByRole('button', { name: /^Close connection/ }).click();
    const notClosed = new Promise<string>((resolve) => setTimeout(() => resolve('not closed within 10 s'), 10_000).unref());
    assert.equal(await Promise.race([closed, notClosed]), 4000);
    ws.terminate();
    await page.getByLabel('Current password').waitFor();
    await page.getByRole('button', { name: 'Set up an authenticator app' }).waitFor();
    await checkPage('account-connections');
  });

  it('two-factor sign-in is set up by scanning the QR code the account page draws, and turned off with a recovery code', { skip }, async () => {
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const uri = (await page.getByTestId('mfa-uri').textContent()) ?? '';
    assert.match(uri, /^otpauth:\/\/totp\//);
    // What a phone's camera would read: the drawn code, decoded from its pixels.
    const shot = PNG.sync.read(await page.getByRole('img', { name: 'QR code of the authenticator key' }).screenshot());
    // jsqr is CommonJS with its function also on `default`, which is what its types describe.
    const scanned = jsqr.default(new Uint8ClampedArray(shot.data), shot.width, shot.height);
    assert.ok(scanned !== null, 'the QR code is readable');
    assert.equal(scanned.data, uri, 'the QR code carries the key URI');
    await checkPage('account-mfa');
    await page.getByLabel('Code from the app').fill(URI.parse(scanned.data).generate());
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    await page.getByTestId('mfa-state').getByText(/^On \(\d+ recovery codes left\)\.$/).waitFor();
    const recovery = (await page.locator('ul.codes code').first().textContent()) ?? '';
    assert.notEqual(recovery, '');
    // Off again (the later tests sign in with the password alone), with a recovery code.
    const off = page.getByRole('form', { name: 'Turn off two-factor sign-in' });
    await off.getByLabel('Password').fill(password);
    await off.getByLabel('Code or recovery code').fill(recovery);
    await off.getByRole('button', { name: 'Turn off two-factor sign-in' }).click();
    await page.getByTestId('mfa-state').getByText('Off.').waitFor();
  });

  it("an admin sees users, tiers, a user's usage against their tier, security events and dead-letter jobs; the nav hides Admin from others", { skip }, async () => {
    assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
    const adminContext = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
    try {
      const admin = await adminContext.newPage();
      await admin.goto(`${base}/signin`);
      await admin.getByLabel('Email').fill(adminEmail);
      await admin.getByLabel('Password').fill(adminPassword);
      await admin.getByRole('button', { name: 'Sign in' }).click();
      await admin.getByRole('link', { name: 'Admin' }).click();
      const users = admin.getByTestId('admin-users');
      const row = users.locator('tbody tr', { hasText: email });
      await row.waitFor();
      // The user's usage against the free tier's limits, then the pro tier's once changed.
      await row.getByRole('button', { name: `Usage of ${email}` }).click();
      const usage = admin.getByTestId('admin-user-usage');
      await usage.getByText(/^Portfolios: \d+ of 20$/).waitFor();
      await usage.getByText(`Usage of ${email} (free tier)`).waitFor();
      const patched = admin.waitForResponse((r) => r.url().includes('/v1/admin/users/') && r.request().method() === 'PATCH');
      await row.getByLabel(`Tier of ${email}`).selectOption('pro');
      assert.equal((await patched).status(), 200);
      await usage.getByText(/^Portfolios: \d+ of 200$/).waitFor();
      await usage.getByText(`Usage of ${email} (pro tier)`).waitFor();
      await admin.getByTestId('security-events').locator('tbody tr').first().waitFor();
      await admin.getByText('No dead-lettered jobs.').waitFor();
      const saved = page;
      page = admin;
      try {
        await checkPage('admin');
      } finally {
        page = saved;
      }
    } finally {
      await adminContext.close();
    }
  });

  it('the templates page lists every template, also those past a list page that ended at its size in bytes', { skip }, async () => {
    // The account is on the pro tier since the admin test; 14 bodies of 80,000 bytes pass one
    // page's text budget (PAGE_TEXT_BYTES, 1 MiB), so the list needs its second page.
    const { access_token: token } = await apiLogin();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < 14; i++) {
      ids.push(await apiCreate(headers, '/v1/templates', { name: `Large ${i}`, body: `${i} ${'é'.repeat(40_000)}` }));
    }
    try {
      const first = await fetch(`${base}/v1/templates?limit=100`, { headers });
      assert.notEqual(((await first.json()) as { next_cursor: string | null }).next_cursor, null, 'the first page ends early');
      await page.goto(`${base}/templates`);
      await page.getByRole('link', { name: 'Large 13', exact: true }).waitFor();
      assert.equal(await page.getByRole('link', { name: /^Large \d+$/ }).count(), 14);
    } finally {
      for (const id of ids) await fetch(`${base}/v1/templates/${id}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    }
  });

  it('a paged list shows its first page, and every item exactly once after "Show more", with focus kept at the end of the list, and a change reloads it as far as it was shown: 105 transactions, 25 template versions', { skip }, async () => {
    const { access_token: token } = await apiLogin();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const portfolioId = await apiCreate(headers, '/v1/portfolios', { name: 'Paged', base_currency: 'USD' });
    const templateId = await apiCreate(headers, '/v1/templates', { name: 'Many versions', body: 'version 1' });
    /** What a list shows, read in the page (a string: the tests compile without the DOM library). */
    const listed = (selector: string, read: string) => page.evaluate<string[]>(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((el) => ${read})`);
    try {
      // The page asks for 100 transactions a page; one minute apart, so the order is unambiguous.
      const txIds: string[] = [];
      for (let i = 0; i < 105; i++) {
        const body = { type: 'deposit', amount: `${i + 1}.00`, currency: 'USD', executed_at: new Date(Date.UTC(2026, 2, 1, 0, i)).toISOString() };
        txIds.push(await apiCreate(headers, `/v1/portfolios/${portfolioId}/transactions`, body));
      }
      await page.goto(`${base}/portfolios/${portfolioId}`);
      const moreTxs = page.getByRole('button', { name: 'Show more transactions' });
      await moreTxs.waitFor();
      const txSelector = '[data-testid="transactions"] tr[data-transaction]';
      assert.equal((await listed(txSelector, 'el.dataset.transaction')).length, 100, 'the first page only');
      await checkPage('portfolio-paged');
      const nextTxs = page.waitForRequest((r) => r.url().includes(`/v1/portfolios/${portfolioId}/transactions?`) && new URL(r.url()).searchParams.has('cursor'));
      await moreTxs.click();
      await nextTxs;
      await moreTxs.waitFor({ state: 'detached', timeout: 10_000 });
      // The button that had focus is gone; focus stays at the end of the list, not on the body.
      assert.equal(await page.evaluate<string | undefined>('document.activeElement?.textContent'), 'End of the list.');
      const shownTxs = await listed(txSelector, 'el.dataset.transaction');
      assert.equal(shownTxs.length, 105, 'every transaction is listed');
      assert.deepEqual([...shownTxs].sort(), [...txIds].sort(), 'each exactly once');
      // A change reloads the list as far as it was shown: deleting one leaves 104 listed, not a first page of 100.
      const gone = txIds[0] ?? '';
      await page.locator(`tr[data-transaction="${gone}"]`).getByRole('button', { name: /^Delete/ }).click();
      await page.locator(`tr[data-transaction="${gone}"]`).waitFor({ state: 'detached', timeout: 10_000 });
      const afterDelete = await listed(txSelector, 'el.dataset.transaction');
      assert.deepEqual([...afterDelete].sort(), txIds.slice(1).sort(), 'the other 104, each once');
      assert.equal(await moreTxs.count(), 0, 'nothing left to show');

      // The page asks for 20 versions a page and continues with `before` (the API's `next_before`).
      for (let v = 1; v < 25; v++) {
        const res = await fetch(`${base}/v1/templates/${templateId}`, {
          method: 'PUT',
          headers: { ...headers, 'if-match': `"${v}"` },
          body: JSON.stringify({ name: 'Many versions', description: '', body: `version ${v + 1}` }),
        });
        assert.equal(res.status, 200, await res.clone().text());
      }
      await page.goto(`${base}/templates/${templateId}`);
      const moreVersions = page.getByRole('button', { name: 'Show more versions' });
      await moreVersions.waitFor();
      const versionSelector = '[data-testid="versions"] tbody tr td:first-child';
      assert.deepEqual(await listed(versionSelector, 'el.textContent'), Array.from({ length: 20 }, (_, i) => String(25 - i)), 'versions 25 to 6');
      const nextVersions = page.waitForRequest((r) => r.url().includes(`/v1/templates/${templateId}/versions?`) && new URL(r.url()).searchParams.get('before') === '6');
      await moreVersions.click();
      await nextVersions;
      await moreVersions.waitFor({ state: 'detached', timeout: 10_000 });
      assert.deepEqual(await listed(versionSelector, 'el.textContent'), Array.from({ length: 25 }, (_, i) => String(25 - i)), 'versions 25 to 1, each once');
    } finally {
      await fetch(`${base}/v1/portfolios/${portfolioId}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
      await fetch(`${base}/v1/templates/${templateId}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    }
  });

  it('signing out clears the cookie; a failed sign-in shows the generic message, then a live Retry-After countdown', { skip }, async () => {
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.waitForURL(`${base}/signin`);
    assert.equal((await context.cookies()).find((c) => c.name === 'fh_refresh'), undefined);
    // An address this account used is exempt from the block, so an unknown email shows it.
    await page.getByLabel('Email').fill(`nobody-${Date.now()}@example.test`);
    await page.getByLabel('Password').fill('wrong-password-123');
    const submit = page.getByRole('button', { name: 'Sign in' });
    await submit.click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const generic = (await alert.textContent()) ?? '';
    assert.ok(generic.length > 0 && !/nobody|not found|no such/i.test(generic), `generic message: ${generic}`);
    const seconds = page.getByTestId('retry-seconds');
    for (let i = 0; i < 3 && !(await seconds.isVisible()); i += 1) {
      await submit.click();
      await page.waitForTimeout(500);
    }
    const first = Number.parseInt((await seconds.textContent()) ?? '', 10);
    assert.ok(first > 0 && first <= 60, `countdown starts at Retry-After: ${first}`);
    assert.equal(await submit.isDisabled(), true, 'no retry while blocked');
    await page.waitForTimeout(2200);
    const later = Number.parseInt((await seconds.textContent()) ?? '', 10);
    assert.ok(later < first, `the countdown runs: ${first} → ${later}`);
    await page.screenshot({ path: path.join(RESULTS, 'web-signin-throttled.png') });
    assert.ok(portfolioUrl.includes('/portfolios/'));
  });

  it('no page broke its Content-Security-Policy', { skip }, () => {
    assert.deepEqual(cspViolations, []);
  });
});
