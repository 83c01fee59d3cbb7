// News: company news for the caller's watchlist and holdings (or the symbols asked for), newest
// first, with live items from the news channels. Headlines and summaries are rendered as text
// (never HTML); links are only the API's http(s) URLs.
import { useState } from 'preact/hooks';
import { useLive } from '../live.ts';
import { ShowMore, usePaged } from '../paged.tsx';
import { ErrorBox, LiveBadge, Section } from '../ui.tsx';

export interface NewsItem {
  id: string;
  symbol: string;
  headline: string;
  summary: string;
  url: string | null;
  source: string;
  published_at: string;
  sentiment: string;
}

function sentimentLabel(s: string): string {
  if (s.startsWith('-') && s !== '-0') return `negative (${s})`;
  if (/^0(\.0*)?$/.test(s)) return `neutral (${s})`;
  return `positive (${s})`;
}

export function NewsList({ items }: { items: NewsItem[] }) {
  const seen = new Set<string>();
  const unique = items.filter((i) => !seen.has(i.id) && seen.add(i.id) !== undefined);
  if (unique.length === 0) return <p>No news in the last seven days.</p>;
  return (
    <ul class="news" data-testid="news">
      {unique.map((n) => (
        <li key={n.id}>
          <strong>{n.url !== null && /^https?:\/\//.test(n.url) ? <a href={n.url} rel="external noopener noreferrer" target="_blank">{n.headline}</a> : n.headline}</strong>
          <div class="muted">
            {n.symbol} · {n.source} · {new Date(n.published_at).toLocaleString()} · sentiment {sentimentLabel(n.sentiment)}
          </div>
          {n.summary !== '' && <p>{n.summary}</p>}
        </li>
      ))}
    </ul>
  );
}

export function NewsPage() {
  const [symbols, setSymbols] = useState('');
  const [asked, setAsked] = useState('');
  const [live, setLive] = useState<NewsItem[]>([]);
  const news = usePaged<NewsItem>('/v1/news', { symbols: asked === '' ? undefined : asked, limit: '50' }, [asked]);
  const channels = [...new Set((news.items ?? []).map((n) => n.symbol))].map((s) => `news:${s}`);
  useLive(channels, (m) => {
    if (m.type === 'news') setLive((l) => [m as unknown as NewsItem, ...l].slice(0, 50));
  });
  return (
    <main id="main">
      <h1>News</h1>
      <ErrorBox message={news.error} />
      <Section title="Headlines">
        <form
          class="inline"
          aria-label="Filter news"
          onSubmit={(e) => {
            e.preventDefault();
            setLive([]);
            setAsked(symbols.trim());
          }}
        >
          <label>
            Symbols (comma-separated; empty: your watchlist and holdings)
            <input name="symbols" maxLength={200} value={symbols} onInput={(e) => setSymbols(e.currentTarget.value.toUpperCase())} />
          </label>
          <button type="submit">Show news</button>
          <LiveBadge />
        </form>
        {news.items === undefined ? <p>Loading…</p> : <NewsList items={[...live, ...news.items]} />}
        <ShowMore paged={news} label="Show more news" />
      </Section>
    </main>
  );
}
