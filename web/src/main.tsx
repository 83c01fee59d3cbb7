// Entry: restore the session from the refresh cookie, then render the page of the route.
// Each page is its own module under pages/; new features add a route and a page.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, isSignedIn, onAuthChange, refresh, signOut } from './api.ts';
import { AccountPage } from './pages/account.tsx';
import { AdminPage } from './pages/admin.tsx';
import { AlertsPage } from './pages/alerts.tsx';
import { NewsPage } from './pages/news.tsx';
import { TemplatesPage } from './pages/templates.tsx';
import { AuthPage } from './pages/auth.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PortfolioPage } from './pages/portfolio.tsx';
import { SymbolPage } from './pages/symbol.tsx';
import { WatchlistPage } from './pages/watchlist.tsx';
import { linkClick, navigate, useRoute, type Route } from './router.ts';
import './styles.css';

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'portfolio':
      return <PortfolioPage id={route.id} />;
    case 'symbol':
      return <SymbolPage symbol={route.symbol} />;
    case 'watchlist':
      return <WatchlistPage />;
    case 'account':
      return <AccountPage />;
    case 'alerts':
      return <AlertsPage />;
    case 'news':
      return <NewsPage />;
    case 'templates':
      return <TemplatesPage {...(route.id === undefined ? {} : { id: route.id })} />;
    case 'admin':
      return <AdminPage />;
    case 'signin':
    case 'signup':
      return null;
    case 'notfound':
      return (
        <main id="main">
          <h1>Page not found</h1>
          <p>
            <a href="/">Back to the overview</a>
          </p>
        </main>
      );
  }
}

function App() {
  const route = useRoute();
  const [ready, setReady] = useState(false);
  const [signedIn, setSignedIn] = useState(isSignedIn());
  useEffect(() => {
    const off = onAuthChange(setSignedIn);
    void refresh().finally(() => setReady(true));
    return off;
  }, []);
  const [admin, setAdmin] = useState(false);
  useEffect(() => {
    if (!signedIn) return setAdmin(false);
    api<{ role: string }>('/v1/me').then(
      (me) => setAdmin(me.role === 'admin'),
      () => setAdmin(false),
    );
  }, [signedIn]);
  const publicPage = route.page === 'signin' || route.page === 'signup';
  useEffect(() => {
    if (ready && !signedIn && !publicPage) navigate('/signin');
    if (ready && signedIn && publicPage) navigate('/');
  }, [ready, signedIn, publicPage]);
  useEffect(() => {
    document.title = `FinanceHub · ${route.page}`;
  }, [route.page]);

  if (!ready) return <p role="status">Loading…</p>;
  if (!signedIn || publicPage) return publicPage ? <AuthPage mode={route.page === 'signup' ? 'signup' : 'signin'} /> : null;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <a href="/" aria-current={route.page === 'overview' ? 'page' : undefined}>
            Overview
          </a>
          <a href="/watchlist" aria-current={route.page === 'watchlist' ? 'page' : undefined}>
            Watchlist
          </a>
          <a href="/alerts" aria-current={route.page === 'alerts' ? 'page' : undefined}>
            Alerts
          </a>
          <a href="/news" aria-current={route.page === 'news' ? 'page' : undefined}>
            News
          </a>
          <a href="/templates" aria-current={route.page === 'templates' ? 'page' : undefined}>
            Templates
          </a>
          <a href="/account" aria-current={route.page === 'account' ? 'page' : undefined}>
            Account
          </a>
          {admin && (
            <a href="/admin" aria-current={route.page === 'admin' ? 'page' : undefined}>
              Admin
            </a>
          )}
          <a href="/docs" rel="external">
            API docs
          </a>
          <button type="button" onClick={() => void signOut().then(() => navigate('/signin'))}>
            Sign out
          </button>
        </nav>
      </header>
      <Page route={route} />
    </>
  );
}

const root = document.getElementById('app');
if (root !== null) {
  root.addEventListener('click', linkClick);
  render(<App />, root);
}
