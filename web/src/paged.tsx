// Keyset-paged lists: the first page on load, further pages on request. The API answers a page
// as `{ items, <continuation> }`, the continuation being null on the last page; every item
// loaded stays listed, so no page of a list is dropped unseen.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.ts';
import { ErrorBox, errorText } from './ui.tsx';

/** Where a page names the next one (`field` of the answer) and how to ask for it (`param` of the query). */
export interface Continuation {
  field: string;
  param: string;
}
export const NEXT_CURSOR: Continuation = { field: 'next_cursor', param: 'cursor' };
/** Template versions continue by version number: `next_before` goes back as `before`. */
export const NEXT_BEFORE: Continuation = { field: 'next_before', param: 'before' };

type Query = Record<string, string | undefined>;

export interface Paged<T> {
  /** Every item of the pages loaded so far, in the API's order; undefined until the first page arrives. */
  items: T[] | undefined;
  /** Why the first page failed. */
  error: string | undefined;
  /** Why the last "show more" failed (the button stays, so it can be tried again). */
  moreError: string | undefined;
  /** Whether the API named a next page. */
  more: boolean;
  loadingMore: boolean;
  /** Appends the next page; does nothing while one is on its way or after the last. */
  loadMore: () => void;
  /** Reads the list again from its first page, as many pages as are shown now. */
  reload: () => void;
}

/** One load of the list: answers count only while it is still the current one. */
interface Load {
  path: string;
  query: Query;
  continuation: Continuation;
  next: string | null;
  busy: boolean;
  /** Pages this load has read, and how many it reads before "show more" takes over. */
  pages: number;
  target: number;
}

interface View<T> {
  items: T[] | undefined;
  more: boolean;
  loadingMore: boolean;
  error: string | undefined;
  moreError: string | undefined;
}

async function fetchPage<T>(load: Load, after: string | undefined): Promise<{ items: T[]; next: string | null }> {
  const page = await api<{ items: T[] } & Record<string, unknown>>(load.path, {
    query: after === undefined ? load.query : { ...load.query, [load.continuation.param]: after },
  });
  const next = page[load.continuation.field];
  // `next_before` is a number; it goes back as a query string all the same.
  return { items: page.items, next: typeof next === 'string' || typeof next === 'number' ? String(next) : null };
}

/**
 * A paged list of `path` with `query`, loaded from its first page whenever `deps` change.
 * `reload()` (after a save, a live event, a status poll) reads the list again from its first
 * page, as many pages as were shown, one after another, and shows them together: the list
 * keeps its length instead of falling back to one page, and costs no more pages than the user
 * asked to see. Until a load's pages arrive the previous items stay shown (as `useLoad` keeps
 * its data); answers of an older load, first page or later, are dropped, so a slow answer
 * never mixes into the list of a newer one.
 */
export function usePaged<T>(path: string, query: Query, deps: unknown[], continuation: Continuation = NEXT_CURSOR): Paged<T> {
  const [view, setView] = useState<View<T>>({ items: undefined, more: false, loadingMore: false, error: undefined, moreError: undefined });
  const [tick, setTick] = useState(0);
  const current = useRef<Load | undefined>(undefined);
  // How many pages the next load reads: set by reload(), back to one for a new list.
  const extent = useRef(1);
  useEffect(() => {
    const wanted = extent.current;
    extent.current = 1;
    // Busy while its pages come in, so "show more" cannot interleave with them.
    const load: Load = { path, query, continuation, next: null, busy: true, pages: 0, target: wanted };
    current.current = load;
    setView((v) => (v.loadingMore || v.error !== undefined || v.moreError !== undefined ? { ...v, loadingMore: false, error: undefined, moreError: undefined } : v));
    void (async () => {
      const items: T[] = [];
      try {
        do {
          const page = await fetchPage<T>(load, load.pages === 0 ? undefined : (load.next ?? undefined));
          if (current.current !== load) return;
          items.push(...page.items);
          load.next = page.next;
          load.pages += 1;
        } while (load.pages < load.target && load.next !== null);
      } catch (e) {
        if (current.current !== load) return;
        // A failed first page is the list's error; a failed later page keeps what arrived, and
        // "show more" continues from there.
        if (load.pages === 0) {
          load.busy = false;
          return setView((v) => ({ ...v, error: errorText(e) }));
        }
        setView((v) => ({ ...v, moreError: errorText(e) }));
      }
      load.busy = false;
      setView((v) => ({ ...v, items, more: load.next !== null }));
    })();
    return () => {
      if (current.current === load) current.current = undefined;
    };
  }, [...deps, tick]);

  const loadMore = useCallback(() => {
    const load = current.current;
    // `busy` lives on the load, not in state, so two clicks before a render cannot both pass.
    if (load === undefined || load.busy || load.next === null) return;
    load.busy = true;
    setView((v) => ({ ...v, loadingMore: true, moreError: undefined }));
    fetchPage<T>(load, load.next).then(
      (page) => {
        if (current.current !== load) return;
        load.next = page.next;
        load.pages += 1;
        load.busy = false;
        setView((v) => ({ ...v, items: [...(v.items ?? []), ...page.items], more: page.next !== null, loadingMore: false }));
      },
      (e: unknown) => {
        if (current.current !== load) return;
        load.busy = false;
        setView((v) => ({ ...v, loadingMore: false, moreError: errorText(e) }));
      },
    );
  }, []);
  const reload = useCallback(() => {
    // A reload during a reload keeps the extent the first one was reading towards.
    const load = current.current;
    extent.current = load === undefined ? 1 : Math.max(1, load.pages, load.target);
    setTick((n) => n + 1);
  }, []);
  return { ...view, loadMore, reload };
}

/**
 * The button that appends a list's next page, shown only while there is one. A button that
 * had focus when pressed gets it back once the page has arrived (it is disabled meanwhile,
 * which may drop focus); after the last page, the button goes away and focus moves to a
 * note that the list is complete. Either way a keyboard or screen-reader user stays where
 * the list grew, rather than being sent back to the top of the page.
 */
export function ShowMore<T>({ paged, label }: { paged: Paged<T>; label: string }) {
  const button = useRef<HTMLButtonElement>(null);
  const end = useRef<HTMLParagraphElement>(null);
  // Whether the button had focus when it was last pressed, and so should hand it on.
  const handOver = useRef(false);
  const [pressed, setPressed] = useState(false);
  // A layout effect runs in the commit that removes or re-enables the button, so focus never
  // rests on the body for a frame in between (a plain effect waits for the next frame).
  useLayoutEffect(() => {
    if (paged.loadingMore || !handOver.current) return;
    handOver.current = false;
    (paged.more ? button.current : end.current)?.focus();
  }, [paged.loadingMore, paged.more]);
  const press = () => {
    handOver.current = document.activeElement === button.current;
    setPressed(true);
    paged.loadMore();
  };
  return (
    <>
      <ErrorBox message={paged.moreError} />
      {paged.more && (
        <button ref={button} type="button" class="show-more" onClick={press} disabled={paged.loadingMore}>
          {label}
        </button>
      )}
      {!paged.more && pressed && (
        <p ref={end} class="show-more muted" tabIndex={-1}>
          End of the list.
        </p>
      )}
    </>
  );
}
