// The built-in narrative writer: plain sentences from the report data model, always
// available and deterministic (same model, same text). Every figure is copied from the
// model's decimal strings, so it equals the API's figure for the same portfolio.
import { Decimal } from '../../money/index.ts';
import type { ReportModel } from './data-model.ts';

const num = (text: string) => new Decimal(text.replace(/,/g, ''));
const known = (text: string) => text !== 'n/a';

export function writeNarrative(model: ReportModel): Array<{ text: string }> {
  const ccy = model.portfolio.base_currency;
  const out: string[] = [];
  out.push(`${model.portfolio.name} is worth ${model.totals.total_value} ${ccy}: ${model.totals.market_value} ${ccy} in holdings and ${model.totals.cash} ${ccy} in cash.`);

  const movers = model.holdings.filter((h) => known(h.unrealized_pnl_percent));
  if (movers.length > 0) {
    const sorted = [...movers].sort((a, b) => num(b.unrealized_pnl_percent).comparedTo(num(a.unrealized_pnl_percent)));
    const best = sorted[0];
    const worst = sorted[sorted.length - 1];
    if (best !== undefined) out.push(`The largest mover up is ${best.symbol} at ${best.unrealized_pnl_percent}% (${best.unrealized_pnl} ${ccy} unrealised).`);
    if (worst !== undefined && worst !== best) out.push(`The largest mover down is ${worst.symbol} at ${worst.unrealized_pnl_percent}% (${worst.unrealized_pnl} ${ccy} unrealised).`);
  }

  const top = model.allocation[0];
  if (top !== undefined) {
    const topThree = model.allocation.slice(0, 3).reduce((total, a) => total.plus(num(a.weight_percent)), new Decimal(0));
    const level = num(top.weight_percent).greaterThan(50) ? 'highly concentrated' : num(top.weight_percent).greaterThan(25) ? 'concentrated' : 'diversified';
    out.push(`Concentration: ${top.symbol} is the largest position at ${top.weight_percent}% of holdings; the top ${Math.min(3, model.allocation.length)} make up ${topThree.toFixed(2)}% (${level}).`);
  }

  const longest = model.performance.find((p) => p.range === 'max') ?? model.performance.at(-1);
  if (longest !== undefined) {
    out.push(`Over ${longest.range} (${longest.from} to ${longest.to}) the value went from ${longest.start_value} to ${longest.end_value} ${ccy}, a time-weighted return of ${longest.time_weighted_return_percent}%; the largest drawdown was ${longest.max_drawdown_percent}%.`);
  }

  for (const i of model.indicators) {
    if (!known(i.rsi_14)) continue;
    out.push(`${i.symbol}: RSI 14 at ${i.rsi_14}, ${i.rsi_state}; the close ${i.close} is ${i.sma_20_position} its 20-day average ${i.sma_20}.`);
  }
  if (model.alerts.length > 0) out.push(`${model.alerts.length} alert${model.alerts.length === 1 ? '' : 's'} fired recently.`);
  return out.map((text) => ({ text }));
}
