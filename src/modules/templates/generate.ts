// Generated template bodies: a deterministic body for the chosen sections of the data model.
// Every body generated here passes validateTemplate (checked by the job before writing).
export const SECTIONS = ['summary', 'holdings', 'performance', 'allocation', 'indicators', 'alerts', 'news'] as const;
export type Section = (typeof SECTIONS)[number];

const PARTS: Record<Section, string> = {
  summary: '## Summary\n\nTotal value {{totals.total_value}} {{portfolio.base_currency}} (cash {{totals.cash}}).\n\n{{narrative.text}}\n',
  holdings: '## Holdings\n\n| Symbol | Quantity | Price | Market value | Weight % |\n|---|---|---|---|---|\n{{#holdings}}| {{symbol}} | {{quantity}} | {{price}} | {{market_value}} | {{weight_percent}} |\n{{/holdings}}',
  performance: '## Performance\n\n{{#performance}}- {{range}} ({{from}} to {{to}}): time-weighted {{time_weighted_return_percent}}%, max drawdown {{max_drawdown_percent}}%\n{{/performance}}',
  allocation: '## Allocation\n\n{{#allocation}}- {{symbol}}: {{weight_percent}}%\n{{/allocation}}',
  indicators: '## Indicators\n\n{{#indicators}}- {{symbol}}: RSI 14 {{rsi_14}} ({{rsi_state}}), close {{close}} {{sma_20_position}} SMA 20 {{sma_20}}\n{{/indicators}}',
  alerts: '## Recent alerts\n\n{{#alerts}}- {{fired_at}} {{symbol}}: {{message}}\n{{/alerts}}{{^alerts}}None.\n{{/alerts}}',
  news: '## News\n\n{{#news}}- [{{headline}}]({{url}}) ({{source}}, {{published_at}})\n{{/news}}',
};

export function generateBody(sections: readonly Section[]): string {
  const chosen = SECTIONS.filter((s) => sections.includes(s));
  return ['# {{portfolio.name}}\n', ...chosen.map((s) => PARTS[s])].join('\n');
}
