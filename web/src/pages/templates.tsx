// Templates: the list, a template generated from chosen sections, an editor that saves with
// `If-Match` (the version it was loaded at), version history with restore, and reports
// (generate for a portfolio, download). When the save meets a newer version (412), the page
// shows that version next to the user's text and lets the user either overwrite it or merge
// the two by hand; nothing is written until the user picks one.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, allPages, api, apiResponse, download } from '../api.ts';
import { NEXT_BEFORE, ShowMore, usePaged } from '../paged.tsx';
import { navigate } from '../router.ts';
import { TemplateGenerator } from '../template-generator.tsx';
import type { Portfolio } from '../types.ts';
import { ErrorBox, errorText, Section, submitted, TableHead, useLoad } from '../ui.tsx';

interface Template {
  id: string;
  name: string;
  description: string;
  body: string;
  version: number;
  updated_at: string;
}
interface Version {
  version: number;
  name: string;
  description: string;
  body: string;
  source: string;
  created_at: string;
}
interface Report {
  id: string;
  template_id: string;
  template_version: number;
  portfolio_id: string;
  status: 'queued' | 'done' | 'failed';
  note: string | null;
  created_at: string;
}
interface Draft {
  name: string;
  description: string;
  body: string;
}

const STARTER = '# {{portfolio.name}}\n\nTotal: {{totals.total_value}} {{portfolio.base_currency}}\n\n{{#holdings}}- {{symbol}}: {{quantity}} @ {{price}} ({{weight_percent}}%)\n{{/holdings}}\n{{narrative.text}}\n';
const MARKERS = /^(<<<<<<<|=======|>>>>>>>)/m;

/** Both texts with conflict markers around the lines that differ (the common head and tail kept once). */
export function conflictText(mine: string, theirs: string, version: number): string {
  if (mine === theirs) return mine;
  const a = mine.split('\n');
  const b = theirs.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  return [...a.slice(0, head), '<<<<<<< your text', ...a.slice(head, a.length - tail), '=======', ...b.slice(head, b.length - tail), `>>>>>>> version ${version}`, ...a.slice(a.length - tail)].join('\n');
}

export function TemplatesPage({ id }: { id?: string }) {
  const list = useLoad(async () => ({ items: await allPages<Template>('/v1/templates', { limit: '100' }) }), []);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const create = async () => {
    try {
      const t = await api<Template>('/v1/templates', { method: 'POST', body: { name: name.trim(), description: '', body: STARTER } });
      setName('');
      list.reload();
      navigate(`/templates/${t.id}`);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <main id="main">
      <h1>Templates</h1>
      <ErrorBox message={list.error ?? error} />
      <Section title="Your templates">
        <ul>
          {(list.data?.items ?? []).map((t) => (
            <li key={t.id}>
              <a href={`/templates/${t.id}`} aria-current={t.id === id ? 'page' : undefined}>
                {t.name}
              </a>{' '}
              <span class="muted">version {t.version}</span>
            </li>
          ))}
        </ul>
        {list.data !== undefined && list.data.items.length === 0 && <p>No templates yet.</p>}
        <form
          class="inline"
          aria-label="New template"
          onSubmit={submitted(create)}
        >
          <label>
            Template name
            <input name="name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <button type="submit">Create template</button>
        </form>
      </Section>
      <Section title="Generate a template">
        <TemplateGenerator
          onGenerated={(templateId) => {
            list.reload();
            navigate(`/templates/${templateId}`);
          }}
        />
      </Section>
      {id !== undefined && <Editor key={id} id={id} onSaved={list.reload} />}
    </main>
  );
}

function Editor({ id, onSaved }: { id: string; onSaved: () => void }) {
  const [loaded, setLoaded] = useState<Template | undefined>(undefined);
  const [draft, setDraft] = useState<Draft>({ name: '', description: '', body: '' });
  const [conflict, setConflict] = useState<Template | undefined>(undefined);
  const [merged, setMerged] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [historyTick, setHistoryTick] = useState(0);
  const load = async () => {
    const { data } = await apiResponse<Template>(`/v1/templates/${id}`);
    setLoaded(data);
    setDraft({ name: data.name, description: data.description, body: data.body });
    return data;
  };
  useEffect(() => {
    load().catch((e: unknown) => setError(errorText(e)));
  }, [id]);
  const versions = usePaged<Version>(`/v1/templates/${id}/versions`, { limit: '20' }, [id, historyTick], NEXT_BEFORE);

  /** PUT at `version`; a 412 opens the conflict view with the newer version. */
  const save = async (content: Draft, version: number, what: string) => {
    setStatus(undefined);
    try {
      const { data } = await apiResponse<Template>(`/v1/templates/${id}`, { method: 'PUT', body: content, headers: { 'if-match': `"${version}"` } });
      setLoaded(data);
      setDraft({ name: data.name, description: data.description, body: data.body });
      setConflict(undefined);
      setError(undefined);
      setStatus(`${what}: version ${data.version}.`);
      setHistoryTick((n) => n + 1);
      onSaved();
    } catch (e) {
      if (e instanceof ApiError && e.problem.status === 412) {
        const { data } = await apiResponse<Template>(`/v1/templates/${id}`);
        setConflict(data);
        setMerged(conflictText(content.body, data.body, data.version));
        setError(undefined);
        return;
      }
      setError(errorText(e));
    }
  };
  const restore = async (n: number) => {
    if (loaded === undefined) return;
    try {
      await api(`/v1/templates/${id}/versions/${n}/restore`, { method: 'POST', headers: { 'if-match': `"${loaded.version}"` } });
      await load();
      setStatus(`Version ${n} restored as a new version.`);
      setHistoryTick((t) => t + 1);
      onSaved();
    } catch (e) {
      setError(errorText(e));
    }
  };
  if (loaded === undefined) return <ErrorBox message={error} />;
  const dirty = draft.name !== loaded.name || draft.description !== loaded.description || draft.body !== loaded.body;
  return (
    <>
      <Section title={`Edit “${loaded.name}”`}>
        <ErrorBox message={error} />
        <p class="muted" data-testid="editing-version">
          Editing version {loaded.version}
        </p>
        <form
          aria-label="Edit template"
          onSubmit={submitted(() => save(draft, loaded.version, 'Saved'))}
        >
          <label>
            Name
            <input name="name" required maxLength={100} value={draft.name} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
          </label>
          <label>
            Description
            <input name="description" maxLength={500} value={draft.description} onInput={(e) => setDraft({ ...draft, description: e.currentTarget.value })} />
          </label>
          <label>
            Template body
            <textarea name="body" rows={12} value={draft.body} onInput={(e) => setDraft({ ...draft, body: e.currentTarget.value })} />
          </label>
          <button type="submit" disabled={conflict !== undefined}>
            Save
          </button>
        </form>
        {status !== undefined && <p role="status">{status}</p>}
      </Section>
      {conflict !== undefined && (
        <section class="card conflict" aria-labelledby="conflict-title" data-testid="conflict">
          <h2 id="conflict-title">Someone saved a newer version (version {conflict.version})</h2>
          <p role="alert">
            Your changes were not saved: this template changed since you opened version {loaded.version}. Compare, then overwrite it or save a merge.
          </p>
          <div class="columns">
            <label>
              Newer version {conflict.version} (saved elsewhere)
              <textarea rows={10} readOnly value={conflict.body} data-testid="newer-body" />
            </label>
            <label>
              Merged text (resolve the marked parts)
              <textarea rows={10} value={merged} onInput={(e) => setMerged(e.currentTarget.value)} data-testid="merged-body" />
            </label>
          </div>
          <div class="toolbar">
            <button type="button" disabled={MARKERS.test(merged)} onClick={() => void save({ ...draft, body: merged }, conflict.version, 'Merge saved')}>
              Save merge
            </button>
            <button type="button" class="danger" onClick={() => void save(draft, conflict.version, 'Overwritten')}>
              Overwrite with my version
            </button>
            <button
              type="button"
              onClick={() => {
                setLoaded(conflict);
                setDraft({ name: conflict.name, description: conflict.description, body: conflict.body });
                setConflict(undefined);
              }}
            >
              Discard mine, take version {conflict.version}
            </button>
          </div>
          {MARKERS.test(merged) && <p class="muted">Remove the conflict markers (&lt;&lt;&lt;&lt;&lt;&lt;&lt;, =======, &gt;&gt;&gt;&gt;&gt;&gt;&gt;) to save the merge.</p>}
        </section>
      )}
      <Section title="Regenerate from sections">
        <TemplateGenerator
          target={{ id, version: loaded.version }}
          blockedBy={dirty ? 'Save your changes first: a generated body is written as a new version in their place.' : conflict !== undefined ? 'Resolve the conflict above first.' : undefined}
          onGenerated={(_, version) =>
            void load().then(
              () => {
                setStatus(`Generated: version ${version}.`);
                setHistoryTick((n) => n + 1);
                onSaved();
              },
              (e: unknown) => setError(errorText(e)),
            )
          }
        />
      </Section>
      <Section title="Version history">
        <ErrorBox message={versions.error} />
        <table data-testid="versions">
          <TableHead columns={['Version', 'Source', 'Saved', 'Name', { label: 'Actions', hidden: true }]} />
          <tbody>
            {(versions.items ?? []).map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>{v.source}</td>
                <td>{new Date(v.created_at).toLocaleString()}</td>
                <td>{v.name}</td>
                <td>
                  {v.version !== loaded.version && (
                    <button type="button" onClick={() => void restore(v.version)} aria-label={`Restore version ${v.version}`}>
                      Restore
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <ShowMore paged={versions} label="Show more versions" />
      </Section>
      <Reports templateId={id} />
    </>
  );
}

function Reports({ templateId }: { templateId: string }) {
  const portfolios = useLoad(() => api<{ items: Portfolio[] }>('/v1/portfolios'), []);
  const reports = usePaged<Report>('/v1/reports', { template_id: templateId, limit: '100', order: 'desc' }, [templateId]);
  const [portfolioId, setPortfolioId] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const items = reports.items ?? [];
  const pending = items.some((r) => r.status === 'queued');
  useEffect(() => {
    if (!pending) return;
    const t = setTimeout(reports.reload, 1500);
    return () => clearTimeout(t);
  }, [reports.items, pending]);
  const generate = async () => {
    const pid = portfolioId !== '' ? portfolioId : portfolios.data?.items[0]?.id;
    if (pid === undefined) return setError('Create a portfolio first: a report renders a template against one.');
    try {
      await api(`/v1/templates/${templateId}/reports`, { method: 'POST', body: { portfolio_id: pid } });
      setError(undefined);
      reports.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const get = (r: Report, format: 'md' | 'html') => download(`/v1/reports/${r.id}/download`, { format }, `report-${r.id}.${format}`).catch((e: unknown) => setError(errorText(e)));
  return (
    <Section title="Reports">
      <ErrorBox message={portfolios.error ?? reports.error ?? error} />
      <form
        class="inline"
        aria-label="Generate report"
        onSubmit={submitted(generate)}
      >
        <label>
          Portfolio
          <select value={portfolioId !== '' ? portfolioId : (portfolios.data?.items[0]?.id ?? '')} onChange={(e) => setPortfolioId(e.currentTarget.value)}>
            {(portfolios.data?.items ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Generate report</button>
      </form>
      <table data-testid="reports">
        <TableHead columns={['Requested', 'Template version', 'Status', { label: 'Downloads', hidden: true }]} />
        <tbody>
          {items.map((r) => (
            <tr key={r.id}>
              <td>{new Date(r.created_at).toLocaleString()}</td>
              <td>{r.template_version}</td>
              <td>
                {r.status}
                {r.note !== null && <span class="muted"> — {r.note}</span>}
              </td>
              <td>
                {r.status === 'done' && (
                  <>
                    <button type="button" onClick={() => void get(r, 'md')}>
                      Download Markdown
                    </button>{' '}
                    <button type="button" onClick={() => void get(r, 'html')}>
                      Download HTML
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ShowMore paged={reports} label="Show more reports" />
    </Section>
  );
}
