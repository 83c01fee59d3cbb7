// Alerts: create a rule of any kind, the list (pause, resume, delete) and the events, with
// fired alerts arriving live on the `alerts` channel; the webhook they are also POSTed to.
import { useState } from 'preact/hooks';
import { ALERT_KINDS, AlertForm } from '../alert-form.tsx';
import { AlertWebhook } from '../alert-webhook.tsx';
import { api } from '../api.ts';
import { formatDecimal } from '../format.ts';
import { useLive } from '../live.ts';
import { ShowMore, usePaged } from '../paged.tsx';
import { ErrorBox, LiveBadge, Section, errorText, TableHead } from '../ui.tsx';

interface Alert {
  id: string;
  kind: string;
  symbol: string;
  interval: string;
  threshold: string | null;
  params: Record<string, number | string>;
  mode: string;
  status: 'active' | 'paused' | 'triggered';
  last_fired_at: string | null;
}
export interface AlertEvent {
  id: string;
  alert_id: string;
  kind: string;
  symbol: string;
  fired_at: string;
  value: string;
  threshold: string | null;
  message: string;
}

export function AlertsPage() {
  const alerts = usePaged<Alert>('/v1/alerts', { limit: '100' }, []);
  const events = usePaged<AlertEvent>('/v1/alerts/events', { limit: '100', order: 'desc' }, []);
  const [live, setLive] = useState<AlertEvent[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  useLive(['alerts'], (m) => {
    if (m.type !== 'alert') return;
    setLive((l) => [m as unknown as AlertEvent, ...l].slice(0, 100));
    alerts.reload();
  });
  const act = async (a: Alert, action: 'pause' | 'resume' | 'delete') => {
    try {
      if (action === 'delete') await api(`/v1/alerts/${a.id}`, { method: 'DELETE' });
      else await api(`/v1/alerts/${a.id}`, { method: 'PATCH', body: { status: action === 'pause' ? 'paused' : 'active' } });
      setError(undefined);
      alerts.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const seen = new Set<string>();
  // Newest first: the live ones, then the stored ones as the API pages them (order=desc).
  const allEvents = [...live, ...(events.items ?? [])].filter((e) => !seen.has(e.id) && seen.add(e.id) !== undefined);
  return (
    <main id="main">
      <h1>Alerts</h1>
      <ErrorBox message={alerts.error ?? events.error ?? error} />
      <Section title="New alert">
        <AlertForm onCreated={alerts.reload} />
      </Section>
      <Section title="Your alerts">
        <table data-testid="alerts">
          <TableHead columns={['Symbol', 'Rule', { label: 'Threshold', num: true }, 'Fires', 'Status', { label: 'Actions', hidden: true }]} />
          <tbody>
            {(alerts.items ?? []).map((a) => (
              <tr key={a.id} data-alert={a.id}>
                <td>{a.symbol}</td>
                <td>
                  {ALERT_KINDS[a.kind]?.label ?? a.kind}
                  {Object.keys(a.params).length > 0 && <span class="muted"> ({Object.entries(a.params).map(([k, v]) => `${k} ${v}`).join(', ')})</span>}
                </td>
                <td class="num">{a.threshold === null ? '' : formatDecimal(a.threshold)}</td>
                <td>{a.mode.replace(/_/g, ' ')}</td>
                <td data-field="status">{a.status}</td>
                <td>
                  {a.status === 'active' && (
                    <button type="button" onClick={() => void act(a, 'pause')} aria-label={`Pause alert on ${a.symbol}`}>
                      Pause
                    </button>
                  )}
                  {a.status === 'paused' && (
                    <button type="button" onClick={() => void act(a, 'resume')} aria-label={`Resume alert on ${a.symbol}`}>
                      Resume
                    </button>
                  )}{' '}
                  <button type="button" class="danger" onClick={() => void act(a, 'delete')} aria-label={`Delete alert on ${a.symbol}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <ShowMore paged={alerts} label="Show more alerts" />
        {alerts.items !== undefined && alerts.items.length === 0 && <p>No alerts yet.</p>}
      </Section>
      <Section title="Fired alerts">
        <LiveBadge />
        <div role="log" aria-label="Fired alerts">
          <ul class="events" data-testid="alert-events">
            {allEvents.map((e) => (
              <li key={e.id}>
                <strong>{e.symbol}</strong> {ALERT_KINDS[e.kind]?.label ?? e.kind}: value {formatDecimal(e.value)}
                {e.threshold !== null && <> (threshold {formatDecimal(e.threshold)})</>} <span class="muted">at {new Date(e.fired_at).toLocaleString()}</span>
                <div class="muted">{e.message}</div>
              </li>
            ))}
          </ul>
        </div>
        <ShowMore paged={events} label="Show more fired alerts" />
        {allEvents.length === 0 && <p>No alert has fired yet.</p>}
      </Section>
      <Section title="Webhook">
        <AlertWebhook />
      </Section>
    </main>
  );
}
