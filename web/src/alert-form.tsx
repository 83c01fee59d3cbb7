// The "create alert" form, shared by the Alerts page and the symbol chart. Every rule kind of
// docs/alerts.md, with the parameters that kind takes; thresholds and `k` are checked as
// decimal strings and sent as strings (a JSON number would be refused).
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { errorText, submitted } from './ui.tsx';

export const ALERT_KINDS: Record<string, { label: string; threshold?: string; params: Array<'period' | 'k' | 'fast' | 'slow' | 'signal' | 'window'> }> = {
  price_above: { label: 'Price above', threshold: 'Price', params: [] },
  price_below: { label: 'Price below', threshold: 'Price', params: [] },
  percent_change: { label: 'Percent change', threshold: 'Percent (negative: a fall)', params: ['window'] },
  rsi_above: { label: 'RSI above', threshold: 'RSI level', params: ['period'] },
  rsi_below: { label: 'RSI below', threshold: 'RSI level', params: ['period'] },
  price_crosses_bollinger_upper: { label: 'Close crosses upper Bollinger band', params: ['period', 'k'] },
  price_crosses_bollinger_lower: { label: 'Close crosses lower Bollinger band', params: ['period', 'k'] },
  macd_crosses_signal_up: { label: 'MACD crosses signal upwards', params: ['fast', 'slow', 'signal'] },
  macd_crosses_signal_down: { label: 'MACD crosses signal downwards', params: ['fast', 'slow', 'signal'] },
  sma_cross_up: { label: 'Fast SMA crosses slow SMA upwards', params: ['fast', 'slow'] },
  sma_cross_down: { label: 'Fast SMA crosses slow SMA downwards', params: ['fast', 'slow'] },
};
const PARAM_LABELS = { period: 'Period', k: 'Band width k', fast: 'Fast period', slow: 'Slow period', signal: 'Signal period', window: 'Window (bars)' };
const PARAM_DEFAULTS = { period: '14', k: '2', fast: '12', slow: '26', signal: '9', window: '1' };
const DECIMAL = /^-?(0|[1-9][0-9]{0,19})(\.[0-9]{1,20})?$/;

export function AlertForm({ symbol: fixedSymbol, threshold: picked, onCreated }: { symbol?: string; threshold?: string; onCreated: () => void }) {
  const [kind, setKind] = useState('price_above');
  const [symbol, setSymbol] = useState(fixedSymbol ?? '');
  const [threshold, setThreshold] = useState(picked ?? '');
  const [params, setParams] = useState<Record<string, string>>({});
  const [mode, setMode] = useState('once');
  const [interval, setBarInterval] = useState('1d');
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (picked !== undefined) setThreshold(picked);
  }, [picked]);
  const spec = ALERT_KINDS[kind] ?? ALERT_KINDS.price_above!;
  const submit = async () => {
    setStatus(undefined);
    if (spec.threshold !== undefined && !DECIMAL.test(threshold.trim())) {
      setError(`${spec.threshold} must be a decimal number such as 150.25.`);
      return;
    }
    const p: Record<string, string | number> = {};
    for (const name of spec.params) {
      const v = (params[name] ?? PARAM_DEFAULTS[name]).trim();
      if (name === 'k') {
        if (!DECIMAL.test(v) || v.startsWith('-')) return setError('Band width k must be a positive decimal.');
        p.k = v;
      } else {
        if (!/^[0-9]{1,3}$/.test(v)) return setError(`${PARAM_LABELS[name]} must be a whole number.`);
        p[name] = Number.parseInt(v, 10);
      }
    }
    try {
      await api('/v1/alerts', {
        method: 'POST',
        body: { kind, symbol: symbol.trim().toUpperCase(), interval, mode, ...(spec.threshold === undefined ? {} : { threshold: threshold.trim() }), ...(spec.params.length > 0 ? { params: p } : {}) },
      });
      setError(undefined);
      setStatus(`Alert created: ${spec.label} on ${symbol.trim().toUpperCase()}.`);
      onCreated();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <form
      class="inline"
      aria-label="Create alert"
      onSubmit={submitted(submit)}
    >
      {fixedSymbol === undefined && (
        <label>
          Symbol
          <input name="symbol" required maxLength={15} value={symbol} onInput={(e) => setSymbol(e.currentTarget.value.toUpperCase())} />
        </label>
      )}
      <label>
        Rule
        <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
          {Object.entries(ALERT_KINDS).map(([k, v]) => (
            <option key={k} value={k}>
              {v.label}
            </option>
          ))}
        </select>
      </label>
      {spec.threshold !== undefined && (
        <label>
          {spec.threshold}
          <input name="threshold" inputMode="decimal" required value={threshold} onInput={(e) => setThreshold(e.currentTarget.value)} />
        </label>
      )}
      {spec.params.map((name) => (
        <label key={name}>
          {PARAM_LABELS[name]}
          <input
            name={name}
            inputMode="decimal"
            size={5}
            value={params[name] ?? PARAM_DEFAULTS[name]}
            onInput={(e) => setParams({ ...params, [name]: e.currentTarget.value })}
          />
        </label>
      ))}
      {kind !== 'price_above' && kind !== 'price_below' && (
        <label>
          Bars
          <select name="interval" value={interval} onChange={(e) => setBarInterval(e.currentTarget.value)}>
            <option value="1d">Daily</option>
            <option value="1m">1 minute</option>
          </select>
        </label>
      )}
      <label>
        Fires
        <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
          <option value="once">Once</option>
          <option value="every_time">Every time</option>
          <option value="once_per_bar">Once per bar</option>
        </select>
      </label>
      <button type="submit">Create alert</button>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {status !== undefined && <p role="status">{status}</p>}
    </form>
  );
}
