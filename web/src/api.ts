// The API client. The access token lives in this module's memory only (never in storage);
// the refresh token is an HttpOnly cookie the page cannot read (docs/web.md). Every request
// in web mode carries `X-FinanceHub-Client: web`, which the server requires, together with
// an allowed Origin, before it reads or sets the cookie.
//
// Refresh is single-flight across tabs: the Web Locks API serialises it, so two tabs never
// present the same refresh token (which the server would treat as reuse and revoke).

export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: Array<{ field: string; message: string }>;
}

export class ApiError extends Error {
  readonly problem: Problem;
  readonly retryAfter: number | undefined;
  constructor(problem: Problem, retryAfter: number | undefined) {
    super(problem.detail);
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

const WEB_HEADERS = { 'x-financehub-client': 'web' };

let accessToken: string | undefined;
let refreshing: Promise<boolean> | undefined;
const listeners = new Set<(signedIn: boolean) => void>();

export const isSignedIn = () => accessToken !== undefined;
/** The current access token, for the WebSocket's first `auth` message (never stored). */
export const currentToken = () => accessToken;
export function onAuthChange(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
function setToken(token: string | undefined) {
  const changed = (token === undefined) !== (accessToken === undefined);
  accessToken = token;
  if (changed) for (const l of listeners) l(token !== undefined);
}

async function toError(res: Response): Promise<ApiError> {
  let problem: Problem = { status: res.status, code: 'http_error', title: res.statusText, detail: `Request failed (${res.status}).` };
  try {
    const body = (await res.json()) as Partial<Problem>;
    problem = { ...problem, ...body, detail: body.detail ?? body.title ?? problem.detail };
  } catch {
    // not JSON: keep the generic problem
  }
  const retry = res.headers.get('retry-after');
  return new ApiError(problem, retry !== null && /^[0-9]+$/.test(retry) ? Number.parseInt(retry, 10) : undefined);
}

async function postRefresh(): Promise<boolean> {
  const res = await fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { ...WEB_HEADERS, 'content-type': 'application/json' },
    body: '{}',
    credentials: 'same-origin',
  });
  if (!res.ok) {
    setToken(undefined);
    return false;
  }
  setToken(((await res.json()) as { access_token: string }).access_token);
  return true;
}

/** A new access token from the cookie; false when there is no live browser session. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      if (typeof navigator.locks?.request === 'function') {
        return await navigator.locks.request('financehub-refresh', postRefresh);
      }
      return await postRefresh();
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Sent as-is with this content type (CSV import). */
  raw?: { body: string; type: string };
  /** Query parameters; an array repeats the parameter once per value. */
  query?: Record<string, string | readonly string[] | undefined>;
  /** Extra request headers (e.g. `If-Match`). */
  headers?: Record<string, string>;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await apiResponse<T>(path, options)).data;
}

/**
 * Every item of a keyset-paged list, following `next_cursor` until it is null: a page may
 * end before its `limit` (template pages end at 1 MiB of text). Only for lists the server
 * keeps short: the templates list, its caller, holds at most the tier's `templates` limit
 * (100 on the pro tier by default), and every page holds at least one template (at least
 * five in fact: one template's text is at most about 200 KB), so `maxPages` = 100 reads it
 * whole. A longer list (a raised `PRO_TEMPLATES`, or a cursor that never ends) throws
 * rather than return part of the list.
 */
export async function allPages<T>(path: string, query: Record<string, string>, maxPages = 100): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < maxPages; pages++) {
    const page: { items: T[]; next_cursor: string | null } = await api(path, { query: cursor === null ? query : { ...query, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
    if (cursor === null) return items;
  }
  throw new Error(`The list at ${path} has more than ${maxPages} pages; not all of it can be shown.`);
}

/** The answer with its headers (an `ETag`, a `Content-Disposition`). */
export async function apiResponse<T>(path: string, options: RequestOptions = {}): Promise<{ data: T; headers: Headers }> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (typeof v === 'string') query.set(k, v);
    else if (v !== undefined) for (const item of v) query.append(k, item);
  }
  const url = query.size > 0 ? `${path}?${query.toString()}` : path;
  const send = () => {
    const headers: Record<string, string> = { ...WEB_HEADERS, ...options.headers };
    if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`;
    let body: string | undefined;
    if (options.raw !== undefined) {
      headers['content-type'] = options.raw.type;
      body = options.raw.body;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    return fetch(url, { method: options.method ?? 'GET', headers, body, credentials: 'same-origin' });
  };
  let res = await send();
  if (res.status === 401 && accessToken !== undefined && (await refresh())) res = await send();
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return { data: undefined as T, headers: res.headers };
  const type = res.headers.get('content-type') ?? '';
  const data = (type.includes('json') ? await res.json() : await res.text()) as T;
  return { data, headers: res.headers };
}

/** Fetches with the session and saves the answer as a file (a link cannot carry the bearer header). */
export async function download(path: string, query: Record<string, string>, fallbackName: string): Promise<void> {
  const { data, headers } = await apiResponse<string>(path, { query });
  const name = /filename="?([^";]+)"?/.exec(headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(new Blob([data], { type: headers.get('content-type') ?? 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Signs in; with two-factor sign-in on, answers the challenge token for `completeMfa`. */
export async function signIn(email: string, password: string): Promise<{ mfaToken: string } | undefined> {
  const res = await fetch('/v1/auth/login', {
    method: 'POST',
    headers: { ...WEB_HEADERS, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
    credentials: 'same-origin',
  });
  if (!res.ok) throw await toError(res);
  const body = (await res.json()) as { access_token?: string; mfa_required?: boolean; mfa_token?: string };
  if (body.mfa_required === true && body.mfa_token !== undefined) return { mfaToken: body.mfa_token };
  setToken(body.access_token);
  return undefined;
}

/** The second step of a two-factor sign-in: a TOTP code or a recovery code. */
export async function completeMfa(mfaToken: string, code: string): Promise<void> {
  const res = await fetch('/v1/auth/mfa', {
    method: 'POST',
    headers: { ...WEB_HEADERS, 'content-type': 'application/json' },
    body: JSON.stringify({ mfa_token: mfaToken, code }),
    credentials: 'same-origin',
  });
  if (!res.ok) throw await toError(res);
  setToken(((await res.json()) as { access_token: string }).access_token);
}

export async function signUp(email: string, password: string): Promise<void> {
  await api('/v1/auth/register', { method: 'POST', body: { email, password } });
  await signIn(email, password);
}

export async function signOut(): Promise<void> {
  try {
    await api('/v1/auth/logout', { method: 'POST' });
  } finally {
    setToken(undefined);
  }
}
