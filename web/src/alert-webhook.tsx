// The alert webhook on the Alerts page: shows where fired alerts are POSTed (never the
// secret, which the API shows only when the webhook is set), sets or replaces it, and
// removes it. The signing secret is shown once, right after setting, with how to verify.
import { useState } from 'preact/hooks';
import { ApiError, api } from './api.ts';
import { ErrorBox, errorText, submitted, useLoad } from './ui.tsx';

interface WebhookView {
  url: string;
  created_at: string;
}

/** The caller's webhook, or null when none is set (the API answers 404). */
async function currentWebhook(): Promise<WebhookView | null> {
  try {
    return await api<WebhookView>('/v1/me/alert-webhook');
  } catch (e) {
    if (e instanceof ApiError && e.problem.status === 404) return null;
    throw e;
  }
}

export function AlertWebhook() {
  const current = useLoad(currentWebhook, []);
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    try {
      await action();
      setError(undefined);
      current.reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const save = () =>
    run(async () => {
      const set = await api<{ url: string; secret: string }>('/v1/me/alert-webhook', { method: 'PUT', body: { url: url.trim() } });
      setSecret(set.secret);
      setUrl('');
    });
  const remove = () =>
    run(async () => {
      await api('/v1/me/alert-webhook', { method: 'DELETE' });
      setSecret(undefined);
    });
  // undefined while loading, null when none is set.
  const hook = current.data;
  const isSet = hook !== undefined && hook !== null;
  return (
    <>
      <ErrorBox message={current.error ?? error} />
      {hook === null && <p data-testid="webhook-state">No webhook: fired alerts arrive here and on your live connections only.</p>}
      {isSet && (
        <p data-testid="webhook-state">
          Fired alerts are also POSTed to <code>{hook.url}</code> <span class="muted">(set {new Date(hook.created_at).toLocaleString()})</span>{' '}
          <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
            Remove webhook
          </button>
        </p>
      )}
      {secret !== undefined && (
        <div role="status" data-testid="webhook-secret-box">
          <p>
            Signing secret, shown only now: <code data-testid="webhook-secret">{secret}</code>
          </p>
          <p class="muted">
            Each POST carries <code>X-FinanceHub-Timestamp</code> and <code>X-FinanceHub-Signature: sha256=…</code>, the HMAC-SHA256 of
            “timestamp.body” under this secret. Store it now; setting the webhook again makes a new one.
          </p>
        </div>
      )}
      <form
        class="inline"
        aria-label="Set webhook"
        onSubmit={submitted(save)}
      >
        <label>
          Webhook URL
          <input type="url" name="webhook_url" required maxLength={2048} placeholder="https://example.com/hooks/financehub" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {isSet ? 'Replace webhook' : 'Set webhook'}
        </button>
      </form>
    </>
  );
}
