// Account: profile, password change, two-factor sign-in (enrol, confirm, turn off), sessions
// with a sign-out button each, live connections (/v1/ws) with a close button each, quota
// usage, and account deletion (asks for the password, and the code when MFA is on).
import { useState } from 'preact/hooks';
import { api, signOut } from '../api.ts';
import { QrCode } from '../qr.tsx';
import { QuotaList, type Quota } from '../quota.tsx';
import { navigate } from '../router.ts';
import { ErrorBox, errorText, Section, submitted, TableHead, useLoad } from '../ui.tsx';

interface Me {
  id: string;
  email: string;
  role: string;
  tier: string;
  created_at: string;
}
interface Session {
  id: string;
  created_at: string;
  last_used_at: string;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
}
interface Connection {
  id: string;
  opened_at: string;
  ip: string | null;
  user_agent: string | null;
  subscriptions: number | string[];
  instance: string;
  current_session: boolean;
}
interface Mfa {
  enabled: boolean;
  pending: boolean;
  recovery_codes_left: number;
}

export function AccountPage() {
  const me = useLoad(() => api<Me>('/v1/me'), []);
  const sessions = useLoad(() => api<{ items: Session[] }>('/v1/me/sessions'), []);
  const quota = useLoad(() => api<Quota>('/v1/me/quota'), []);
  const connections = useLoad(() => api<{ items: Connection[] }>('/v1/me/connections'), []);
  const [error, setError] = useState<string | undefined>(undefined);
  const revoke = async (id: string) => {
    try {
      await api(`/v1/me/sessions/${id}`, { method: 'DELETE' });
      sessions.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const closeConnection = async (id: string) => {
    try {
      await api(`/v1/me/connections/${id}`, { method: 'DELETE' });
      connections.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <main id="main">
      <h1>Account</h1>
      <ErrorBox message={me.error ?? sessions.error ?? quota.error ?? connections.error ?? error} />
      {me.data !== undefined && (
        <Section title="Profile">
          <dl class="stats">
            <div>
              <dt>Email</dt>
              <dd>{me.data.email}</dd>
            </div>
            <div>
              <dt>Plan</dt>
              <dd>{me.data.tier}</dd>
            </div>
            <div>
              <dt>Role</dt>
              <dd>{me.data.role}</dd>
            </div>
            <div>
              <dt>Member since</dt>
              <dd>{me.data.created_at.slice(0, 10)}</dd>
            </div>
          </dl>
        </Section>
      )}
      <Section title="Sessions">
        <table data-testid="sessions">
          <TableHead columns={['Device', 'IP', 'Last used', { label: 'Actions', hidden: true }]} />
          <tbody>
            {(sessions.data?.items ?? []).map((s) => (
              <tr key={s.id} data-session={s.id}>
                <td>
                  {s.user_agent ?? 'unknown'}
                  {s.current && <strong> (this browser)</strong>}
                </td>
                <td>{s.ip ?? ''}</td>
                <td>{new Date(s.last_used_at).toLocaleString()}</td>
                <td>
                  {!s.current && (
                    <button type="button" class="danger" aria-label={`Sign out session ${s.id}`} onClick={() => void revoke(s.id)}>
                      Sign out
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Live connections">
        <table data-testid="connections">
          <TableHead columns={['Device', 'IP', 'Opened', 'Subscriptions', { label: 'Actions', hidden: true }]} />
          <tbody>
            {(connections.data?.items ?? []).map((c) => (
              <tr key={c.id} data-connection={c.id}>
                <td>
                  {c.user_agent ?? 'unknown'}
                  {c.current_session && <strong> (this browser's session)</strong>}
                </td>
                <td>{c.ip ?? ''}</td>
                <td>{new Date(c.opened_at).toLocaleString()}</td>
                <td>{Array.isArray(c.subscriptions) ? c.subscriptions.length : c.subscriptions}</td>
                <td>
                  <button type="button" class="danger" aria-label={`Close connection ${c.id}`} onClick={() => void closeConnection(c.id)}>
                    Close
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {connections.data !== undefined && connections.data.items.length === 0 && <p>No open live connections.</p>}
        <button type="button" onClick={connections.reload}>
          Refresh list
        </button>
      </Section>
      <PasswordChange onChanged={sessions.reload} />
      <TwoFactor />
      {quota.data !== undefined && (
        <Section title="Usage">
          <QuotaList quota={quota.data} />
        </Section>
      )}
      <DeleteAccount />
    </main>
  );
}

function PasswordChange({ onChanged }: { onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const submit = async () => {
    try {
      await api('/v1/me/password', { method: 'POST', body: { current_password: current, new_password: next } });
      setCurrent('');
      setNext('');
      setError(undefined);
      setStatus('Password changed. Your other sessions were signed out.');
      onChanged();
    } catch (e) {
      setStatus(undefined);
      setError(errorText(e));
    }
  };
  return (
    <Section title="Password">
      <form
        class="inline"
        aria-label="Change password"
        onSubmit={submitted(submit)}
      >
        <label>
          Current password
          <input type="password" name="current_password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </label>
        <label>
          New password
          <input type="password" name="new_password" autoComplete="new-password" required minLength={10} maxLength={1024} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        </label>
        <button type="submit">Change password</button>
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {status !== undefined && <p role="status">{status}</p>}
      </form>
    </Section>
  );
}

function TwoFactor() {
  const mfa = useLoad(() => api<Mfa>('/v1/me/mfa'), []);
  const [enrol, setEnrol] = useState<{ secret: string; otpauth_uri: string } | undefined>(undefined);
  const [codes, setCodes] = useState<string[] | undefined>(undefined);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async (f: () => Promise<void>) => {
    try {
      await f();
      setError(undefined);
      setCode('');
      setPassword('');
      mfa.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const m = mfa.data;
  return (
    <Section title="Two-factor sign-in">
      <ErrorBox message={mfa.error ?? error} />
      {m !== undefined && <p data-testid="mfa-state">{m.enabled ? `On (${m.recovery_codes_left} recovery codes left).` : 'Off.'}</p>}
      {codes !== undefined && (
        <div role="status">
          <p>Recovery codes (shown once; keep them somewhere safe):</p>
          <ul class="codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {m !== undefined && !m.enabled && enrol === undefined && (
        <button type="button" onClick={() => void run(async () => setEnrol(await api('/v1/me/mfa/totp', { method: 'POST' })))}>
          Set up an authenticator app
        </button>
      )}
      {m !== undefined && !m.enabled && enrol !== undefined && (
        <>
          <div class="mfa-key">
            <p>Scan this code with your authenticator app:</p>
            <QrCode text={enrol.otpauth_uri} label="QR code of the authenticator key" testId="mfa-qr" />
            <p>
              or add this key by hand: <code data-testid="mfa-secret">{enrol.secret}</code>
              <br />
              <span class="muted">
                or the URI <code data-testid="mfa-uri">{enrol.otpauth_uri}</code>
              </span>
            </p>
          </div>
          <form
            class="inline"
            aria-label="Confirm authenticator"
            onSubmit={submitted(() =>
              run(async () => {
                const r = await api<{ recovery_codes: string[] }>('/v1/me/mfa/totp/confirm', { method: 'POST', body: { code: code.trim() } });
                setCodes(r.recovery_codes);
                setEnrol(undefined);
              }),
            )}
          >
            <label>
              Code from the app
              <input name="code" inputMode="numeric" autoComplete="one-time-code" required maxLength={12} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
            </label>
            <button type="submit">Turn on two-factor sign-in</button>
          </form>
        </>
      )}
      {m?.enabled === true && (
        <form
          class="inline"
          aria-label="Turn off two-factor sign-in"
          onSubmit={submitted(() =>
            run(async () => {
              await api('/v1/me/mfa/totp', { method: 'DELETE', body: { password, code: code.trim() } });
              setCodes(undefined);
            }),
          )}
        >
          <label>
            Password
            <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          <label>
            Code or recovery code
            <input name="code" autoComplete="one-time-code" required maxLength={32} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
          <button type="submit" class="danger">
            Turn off two-factor sign-in
          </button>
        </form>
      )}
    </Section>
  );
}

function DeleteAccount() {
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async () => {
    try {
      await api('/v1/me', { method: 'DELETE', body: { password, ...(code.trim() === '' ? {} : { code: code.trim() }) } });
      await signOut().catch(() => undefined);
      navigate('/signin');
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <Section title="Delete account">
      <p>This deletes your account and everything in it: portfolios, transactions, alerts, templates and reports. It cannot be undone.</p>
      <form
        class="inline"
        aria-label="Delete account"
        onSubmit={submitted(submit)}
      >
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <label>
          Two-factor code (when on)
          <input name="code" autoComplete="one-time-code" maxLength={32} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" checked={confirm} onChange={(e) => setConfirm(e.currentTarget.checked)} /> I understand this cannot be undone
        </label>
        <button type="submit" class="danger" disabled={!confirm}>
          Delete my account
        </button>
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Section>
  );
}
