// Portfolios and their transactions through the real API, for a test user.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CreatedUser } from './auth.ts';
import type { TestApp } from './build-test-app.ts';

export async function createPortfolio(t: TestApp, user: CreatedUser, baseCurrency = 'USD'): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/portfolios',
    headers: user.headers,
    payload: { name: `P ${randomUUID().slice(0, 6)}`, base_currency: baseCurrency },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

/** Records a transaction through the real API (201 expected); its id. */
export async function addTransaction(t: TestApp, user: CreatedUser, portfolioId: string, payload: Record<string, unknown>): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: `/v1/portfolios/${portfolioId}/transactions`, headers: user.headers, payload });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}
