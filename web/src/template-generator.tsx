// "Generate a template" on the Templates page: the user picks sections of the report data
// model, a job writes a template for them (202), and the page follows the generation until
// it is done, then opens the new template. With a `target` it regenerates that template's
// body as a new version, at the version the editor shows (If-Match): if the template moved on
// first, nothing is written and the generation's note says so. A failed generation shows its
// note.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.ts';
import { ErrorBox, errorText, submitted } from './ui.tsx';

/** The sections the API offers, in the order the generated body places them. */
export const SECTIONS = [
  ['summary', 'Summary and narrative'],
  ['holdings', 'Holdings table'],
  ['performance', 'Performance by range'],
  ['allocation', 'Allocation'],
  ['indicators', 'Indicators (RSI 14, SMA 20)'],
  ['alerts', 'Recent alerts'],
  ['news', 'News'],
] as const;
type Section = (typeof SECTIONS)[number][0];

interface Generation {
  id: string;
  template_id: string | null;
  status: 'queued' | 'done' | 'conflict' | 'failed';
  result_version: number | null;
  note: string | null;
}

interface Props {
  /** Called once the job has written the template: its id and the version written. */
  onGenerated: (templateId: string, version: number) => void;
  /** Regenerate this template's body, expecting it at `version`, instead of creating one. */
  target?: { id: string; version: number };
  /** Why generating is not offered now (the form stays visible, its button disabled). */
  blockedBy?: string;
}

/** How often, and how many times, the page asks whether the generation has finished. */
const POLL_MS = 1000;
const POLLS = 60;

export function TemplateGenerator({ onGenerated, target, blockedBy }: Props) {
  const [chosen, setChosen] = useState<ReadonlySet<Section>>(new Set(['summary', 'holdings', 'performance']));
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  // Polling stops when the page goes away.
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const toggle = (s: Section) =>
    setChosen((c) => {
      const next = new Set(c);
      if (!next.delete(s)) next.add(s);
      return next;
    });

  const generate = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const sections = SECTIONS.map(([s]) => s).filter((s) => chosen.has(s));
      const body = target !== undefined ? { sections, template_id: target.id } : { sections, ...(name.trim() === '' ? {} : { name: name.trim() }) };
      const headers: Record<string, string> = target !== undefined ? { 'if-match': `"${target.version}"` } : {};
      let gen = await api<Generation>('/v1/templates/generate', { method: 'POST', body, headers });
      setProgress('Generating the template…');
      for (let i = 0; gen.status === 'queued' && i < POLLS && mounted.current; i += 1) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        gen = await api<Generation>(`/v1/templates/generations/${gen.id}`);
      }
      if (!mounted.current) return;
      setProgress(undefined);
      if (gen.status === 'done' && gen.template_id !== null && gen.result_version !== null) {
        setName('');
        onGenerated(gen.template_id, gen.result_version);
      } else if (gen.status === 'queued') {
        setError('The template is still being generated; it will appear in the list once it is written.');
      } else {
        setError(gen.note ?? 'The template could not be generated.');
      }
    } catch (e) {
      setProgress(undefined);
      setError(errorText(e));
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  return (
    <form
      aria-label={target === undefined ? 'Generate template' : 'Regenerate template'}
      onSubmit={submitted(generate)}
    >
      <fieldset class="mapping">
        <legend>Sections</legend>
        {SECTIONS.map(([s, label]) => (
          <label key={s} class="check">
            <input type="checkbox" name="sections" value={s} checked={chosen.has(s)} onChange={() => toggle(s)} /> {label}
          </label>
        ))}
      </fieldset>
      <div class="inline">
        {target === undefined && (
          <label>
            Name (optional)
            <input name="generated_name" maxLength={200} placeholder="Generated analysis" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
        )}
        <button type="submit" disabled={busy || chosen.size === 0 || blockedBy !== undefined}>
          {target === undefined ? 'Generate template' : 'Replace body with generated sections'}
        </button>
      </div>
      {blockedBy !== undefined && <p class="muted">{blockedBy}</p>}
      <p role="status">{progress}</p>
      <ErrorBox message={error} />
    </form>
  );
}
