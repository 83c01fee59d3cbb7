// Shared bits of every page: loading data with its problem detail on failure, error text.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import { useLiveState } from './live.ts';

/** A form's submit handler: the browser's own submission is stopped, then `action` runs (it reports its own errors). */
export const submitted = (action: () => unknown) => (e: Event) => {
  e.preventDefault();
  void action();
};

export const errorText = (e: unknown) => (e instanceof ApiError ? e.problem.detail : e instanceof Error ? e.message : String(e));

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setError(undefined);
    load().then(
      (d) => live && setData(d),
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}

export function ErrorBox({ message }: { message: string | undefined }) {
  if (message === undefined) return null;
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title} class="card">
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** Whether the live connection (/v1/ws) is up; announced politely to screen readers. */
export function LiveBadge() {
  const state = useLiveState();
  return (
    <span class={`live-badge live-${state}`} role="status" data-testid="live-state">
      {state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Not live'}
    </span>
  );
}

/** One column heading: a plain label, or right-aligned numbers, or a label for screen readers only. */
interface ColumnSpec {
  label: string;
  num?: boolean;
  hidden?: boolean;
}
export type Column = string | ColumnSpec;

/** A table's header row: every cell a column header (`scope="col"`). */
export function TableHead({ columns }: { columns: readonly Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => {
          const col: ColumnSpec = typeof c === 'string' ? { label: c } : c;
          return (
            <th key={col.label} scope="col" class={col.num === true ? 'num' : undefined}>
              {col.hidden === true ? <span class="sr-only">{col.label}</span> : col.label}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}
