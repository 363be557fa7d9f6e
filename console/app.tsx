/** The console's frame: the top nav (project, pages, theme) and the page the hash names. */
import { useEffect, useState } from 'preact/hooks';
import type { ApiError, Session } from '../runtime/console/api.js';
import { asApiError, getSession } from './api-client.js';
import { AggregatePage } from './pages/aggregate.js';
import { ComponentsPage } from './pages/components.js';
import { EventsPage } from './pages/events.js';
import { SubscribersPage } from './pages/subscribers.js';
import { TracePage } from './pages/trace.js';
import { ErrorBox } from './parts/error-box.js';
import { links, useRoute, type Route } from './router.js';
import { applyStoredTheme, chooseTheme, type Theme } from './theme.js';

const PAGES = [
  { key: 'events', label: 'Events', to: links.events() },
  { key: 'aggregates', label: 'Aggregate', to: undefined },
  { key: 'subscribers', label: 'Subscribers', to: links.subscribers() },
  { key: 'trace', label: 'Trace', to: links.trace('') },
  { key: 'components', label: 'Components', to: links.components() },
] as const;

const Page = ({ route }: { route: Route }) => {
  const [page, ...rest] = route.segments;
  switch (page) {
    case undefined:
    case 'events':
      return <EventsPage params={route.params} />;
    case 'aggregates':
      return <AggregatePage domain={rest[0] ?? ''} root={rest[1] ?? ''} />;
    case 'subscribers':
      return <SubscribersPage />;
    case 'trace':
      return <TracePage target={rest.join('/')} />;
    case 'components':
      return <ComponentsPage />;
    default:
      return (
        <ErrorBox error={{ error: `there is no page "${page}"`, hint: 'choose one of the pages above' }} />
      );
  }
};

export const App = () => {
  const route = useRoute();
  const [theme, setTheme] = useState<Theme>(applyStoredTheme);
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<ApiError>();
  useEffect(() => {
    getSession().then(setSession, (failure: unknown) => setError(asApiError(failure)));
  }, []);
  useEffect(() => {
    document.title = session ? `${session.project} · evented console` : 'evented console';
  }, [session]);
  const current = route.segments[0] ?? 'events';
  const toggle = () => {
    const next = theme === 'dark' ? 'light' : 'dark';
    chooseTheme(next);
    setTheme(next);
  };
  return (
    <>
      <header class="top">
        <span class="brand" data-testid="project">
          evented <b>{session?.project ?? '…'}</b>
          {session && <small>{session.version}</small>}
        </span>
        <nav>
          {PAGES.filter((p) => p.to !== undefined || p.key === current).map((p) => (
            <a
              key={p.key}
              href={p.to ?? location.hash}
              class={p.key === current ? 'current' : undefined}
              aria-current={p.key === current ? 'page' : undefined}
              data-testid={`nav-${p.key}`}
            >
              {p.label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="theme"
          onClick={toggle}
          data-testid="theme-toggle"
          title={`switch to the ${theme === 'dark' ? 'light' : 'dark'} theme`}
        >
          {theme === 'dark' ? '☀ light' : '☾ dark'}
        </button>
      </header>
      <main>
        <ErrorBox error={error} />
        <Page route={route} />
      </main>
    </>
  );
};
