// Admin (the API answers 403 to everyone else; the nav shows the link to admins only): users
// with their tier, role and disabled flag (and deletion, after a confirmation), one user's
// usage against their tier's limits, security events, and the dead-letter queue with retry
// and delete.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ShowMore, usePaged } from '../paged.tsx';
import { QuotaList, type Quota } from '../quota.tsx';
import { ErrorBox, Section, errorText, TableHead, useLoad } from '../ui.tsx';

interface User {
  id: string;
  email: string;
  role: 'user' | 'admin';
  tier: 'free' | 'pro';
  disabled: boolean;
  created_at: string;
}
interface SecurityEvent {
  id: string;
  occurred_at: string;
  user_id: string | null;
  ip: string | null;
  event: string;
  details: Record<string, unknown>;
}
interface DeadLetter {
  id: string;
  queue: string;
  attempts: number;
  last_error: string | null;
  failed_at: string;
  enqueued_at: string | null;
}

export function AdminPage() {
  const users = usePaged<User>('/v1/admin/users', { limit: '100' }, []);
  const events = usePaged<SecurityEvent>('/v1/admin/security-events', { limit: '50' }, []);
  const dead = usePaged<DeadLetter>('/v1/admin/jobs/dead-letter', { limit: '50' }, []);
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const run = async (f: () => Promise<unknown>, done: string, reload: () => void) => {
    try {
      await f();
      setError(undefined);
      setStatus(done);
      reload();
    } catch (e) {
      setStatus(undefined);
      setError(errorText(e));
    }
  };
  // The user whose usage is shown, by id: read again when the user's tier changes (it moves the limits).
  const [usageOf, setUsageOf] = useState<string | undefined>(undefined);
  const usageUser = (users.items ?? []).find((u) => u.id === usageOf);
  const patch = (u: User, body: Partial<Pick<User, 'tier' | 'role' | 'disabled'>>) =>
    void run(() => api(`/v1/admin/users/${u.id}`, { method: 'PATCH', body }), `${u.email} updated.`, users.reload);
  return (
    <main id="main">
      <h1>Admin</h1>
      <ErrorBox message={users.error ?? events.error ?? dead.error ?? error} />
      {status !== undefined && <p role="status">{status}</p>}
      <Section title="Users">
        <table data-testid="admin-users">
          <TableHead columns={['Email', 'Tier', 'Role', 'Status', 'Since', { label: 'Actions', hidden: true }]} />
          <tbody>
            {(users.items ?? []).map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>
                  <select aria-label={`Tier of ${u.email}`} value={u.tier} onChange={(e) => patch(u, { tier: e.currentTarget.value as User['tier'] })}>
                    <option value="free">free</option>
                    <option value="pro">pro</option>
                  </select>
                </td>
                <td>
                  <select aria-label={`Role of ${u.email}`} value={u.role} onChange={(e) => patch(u, { role: e.currentTarget.value as User['role'] })}>
                    <option value="user">user</option>
                    <option value="admin">admin</option>
                  </select>
                </td>
                <td>
                  <button type="button" class={u.disabled ? '' : 'danger'} aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.email}`} onClick={() => patch(u, { disabled: !u.disabled })}>
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>
                </td>
                <td>{u.created_at.slice(0, 10)}</td>
                <td>
                  <button type="button" aria-label={`Usage of ${u.email}`} aria-pressed={usageOf === u.id} onClick={() => setUsageOf(usageOf === u.id ? undefined : u.id)}>
                    Usage
                  </button>{' '}
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete ${u.email}`}
                    onClick={() => {
                      if (confirm(`Delete ${u.email} and everything they own? This cannot be undone.`))
                        void run(() => api(`/v1/admin/users/${u.id}`, { method: 'DELETE' }), `${u.email} deleted.`, users.reload);
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <ShowMore paged={users} label="Show more users" />
        {usageUser !== undefined && <UserUsage key={`${usageUser.id}:${usageUser.tier}`} user={usageUser} />}
      </Section>
      <Section title="Security events">
        <table data-testid="security-events">
          <TableHead columns={['When', 'Event', 'User', 'IP', 'Details']} />
          <tbody>
            {(events.items ?? []).map((e) => (
              <tr key={e.id}>
                <td>{new Date(e.occurred_at).toLocaleString()}</td>
                <td>{e.event}</td>
                <td>{e.user_id ?? ''}</td>
                <td>{e.ip ?? ''}</td>
                <td>
                  <code>{JSON.stringify(e.details)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <ShowMore paged={events} label="Show more security events" />
      </Section>
      <Section title="Dead-letter jobs">
        <table data-testid="dead-letters">
          <TableHead columns={['Queue', 'Failed', 'Attempts', 'Last error', { label: 'Actions', hidden: true }]} />
          <tbody>
            {(dead.items ?? []).map((d) => (
              <tr key={d.id}>
                <td>{d.queue}</td>
                <td>{new Date(d.failed_at).toLocaleString()}</td>
                <td>{d.attempts}</td>
                <td>{d.last_error ?? ''}</td>
                <td>
                  <button type="button" aria-label={`Retry job ${d.id}`} onClick={() => void run(() => api(`/v1/admin/jobs/dead-letter/${d.id}/retry`, { method: 'POST' }), 'Job requeued.', dead.reload)}>
                    Retry
                  </button>{' '}
                  <button type="button" class="danger" aria-label={`Delete job ${d.id}`} onClick={() => void run(() => api(`/v1/admin/jobs/dead-letter/${d.id}`, { method: 'DELETE' }), 'Job deleted.', dead.reload)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <ShowMore paged={dead} label="Show more dead-letter jobs" />
        {dead.items !== undefined && dead.items.length === 0 && <p>No dead-lettered jobs.</p>}
      </Section>
    </main>
  );
}

/** One user's usage and limits, read as the admin (the read does not count against the user). */
function UserUsage({ user }: { user: User }) {
  const quota = useLoad(() => api<Quota>(`/v1/admin/users/${user.id}/quota`), [user.id]);
  return (
    <section aria-label={`Usage of ${user.email}`} data-testid="admin-user-usage">
      <h3>
        Usage of {user.email} ({quota.data?.tier ?? user.tier} tier)
      </h3>
      <ErrorBox message={quota.error} />
      {quota.data !== undefined && <QuotaList quota={quota.data} />}
    </section>
  );
}
