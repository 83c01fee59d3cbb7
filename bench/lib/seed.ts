// The user and 50-transaction portfolio the HTTP benchmarks read: created through the API
// of a running server, as a client would.

/** The symbols of the seeded portfolio. */
export const SEED_SYMBOLS = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA'] as const;

async function json<T>(url: string, init: RequestInit, status: number): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status !== status) throw new Error(`${init.method ?? 'GET'} ${url}: expected ${status}, got ${res.status}: ${text.slice(0, 300)}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** A user with one portfolio of 50 transactions (a deposit, then buys and sells of SEED_SYMBOLS), through the API. */
export async function seedHoldings(url: string): Promise<{ token: string; portfolioId: string }> {
  const jsonHeaders = { 'content-type': 'application/json' };
  const credentials = { email: 'bench-platform@example.test', password: 'Fh7-bench-Pl4tf0rmQz8KpW' };
  await json(`${url}/v1/auth/register`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify(credentials) }, 201);
  const { access_token: token } = await json<{ access_token: string }>(`${url}/v1/auth/login`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify(credentials) }, 200);
  const auth = { authorization: `Bearer ${token}`, ...jsonHeaders };
  const { id: portfolioId } = await json<{ id: string }>(`${url}/v1/portfolios`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'bench', base_currency: 'USD' }) }, 201);
  const post = (body: Record<string, string>) => json(`${url}/v1/portfolios/${portfolioId}/transactions`, { method: 'POST', headers: auth, body: JSON.stringify(body) }, 201);
  await post({ type: 'deposit', amount: '1000000.00', currency: 'USD', executed_at: '2024-01-02T00:00:00Z' });
  for (let i = 1; i < 50; i++) {
    const symbol = SEED_SYMBOLS[i % SEED_SYMBOLS.length] ?? 'AAPL';
    const day = String(1 + (i % 28)).padStart(2, '0');
    const month = String(2 + Math.floor(i / 28)).padStart(2, '0');
    const sell = i % 7 === 0;
    await post({ type: sell ? 'sell' : 'buy', symbol, quantity: sell ? '1' : '3', price: `${100 + i}.25`, currency: 'USD', executed_at: `2024-${month}-${day}T15:00:00Z` });
  }
  return { token, portfolioId };
}
