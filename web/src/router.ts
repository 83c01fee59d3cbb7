// A small client router: one page module per route, History API navigation. The server
// answers index.html for exactly these paths (src/modules/web APP_ROUTES); keep them in step.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'overview' }
  | { page: 'signin' }
  | { page: 'signup' }
  | { page: 'watchlist' }
  | { page: 'account' }
  | { page: 'alerts' }
  | { page: 'news' }
  | { page: 'admin' }
  | { page: 'templates'; id?: string }
  | { page: 'portfolio'; id: string }
  | { page: 'symbol'; symbol: string }
  | { page: 'notfound' };

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { page: 'overview' };
  if (pathname === '/signin') return { page: 'signin' };
  if (pathname === '/signup') return { page: 'signup' };
  if (pathname === '/watchlist') return { page: 'watchlist' };
  if (pathname === '/account') return { page: 'account' };
  if (pathname === '/alerts') return { page: 'alerts' };
  if (pathname === '/news') return { page: 'news' };
  if (pathname === '/admin') return { page: 'admin' };
  if (pathname === '/templates') return { page: 'templates' };
  const template = /^\/templates\/([0-9a-f-]{36})$/.exec(pathname);
  if (template?.[1] !== undefined) return { page: 'templates', id: template[1] };
  const portfolio = /^\/portfolios\/([0-9a-f-]{36})$/.exec(pathname);
  if (portfolio?.[1] !== undefined) return { page: 'portfolio', id: portfolio[1] };
  const symbol = /^\/symbols\/([A-Za-z0-9.^=_-]{1,15})$/.exec(pathname);
  if (symbol?.[1] !== undefined) return { page: 'symbol', symbol: decodeURIComponent(symbol[1]).toUpperCase() };
  return { page: 'notfound' };
}

export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return route;
}

/** Same-origin links navigate without a reload; modified clicks keep the browser's behaviour. */
export function linkClick(event: MouseEvent): void {
  const a = (event.target as HTMLElement).closest('a');
  if (a === null || a.target !== '' || a.origin !== location.origin || a.hasAttribute('download')) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (a.pathname.startsWith('/v1/') || a.pathname.startsWith('/docs') || a.hash !== '') return;
  event.preventDefault();
  navigate(a.pathname);
}
