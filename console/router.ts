/**
 * The hash router: `#/events?domain=…`, `#/aggregates/DOMAIN/ROOT`, `#/subscribers`, `#/trace/ID`,
 * `#/components`. The hash keeps every view a link (the server serves one page), and a reload shows it again.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** The path's segments, decoded: ["aggregates", "account", "…"]. */
  segments: string[];
  params: URLSearchParams;
}

export const parseHash = (hash: string): Route => {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  return { segments, params: new URLSearchParams(search) };
};

/** A hash link to the page at these segments, with these (non-empty) parameters. */
export const href = (segments: string[], params: Record<string, string | undefined> = {}): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return `#/${segments.map(encodeURIComponent).join('/')}${text ? `?${text}` : ''}`;
};

export const useRoute = (): Route => {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const follow = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  return route;
};

export const links = {
  events: (filter: Record<string, string | undefined> = {}) => href(['events'], filter),
  aggregate: (domain: string, root: string) => href(['aggregates', domain, root]),
  trace: (target: string) => href(['trace', target]),
  subscribers: () => href(['subscribers']),
  components: () => href(['components']),
};
