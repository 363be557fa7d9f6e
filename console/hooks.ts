/** The pages' hooks on the server: a read that can be redone, and a server-sent event stream. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from '../runtime/console/api.js';
import { asApiError, getJson } from './api-client.js';

export interface Read<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload: () => void;
}

/** GET `path` (again whenever it changes, or on reload); undefined reads nothing. */
export const useRead = <T>(path: string | undefined): Read<T> => {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (path === undefined) return undefined;
    let current = true;
    setState((before) => ({ ...before, loading: true }));
    getJson<T>(path).then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) =>
        current && setState((before) => ({ ...before, error: asApiError(error), loading: false })),
    );
    return () => {
      current = false;
    };
  }, [path, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
};

/** Whether a stream is connected: EventSource reconnects by itself, and the page says while it does. */
export type StreamState = 'connecting' | 'live' | 'reconnecting';

/**
 * The server-sent events named `name` of `path`, each parsed as JSON and handed to `onMessage` (the latest
 * function given, so the caller needs no memo); undefined follows nothing.
 */
export const useStream = <T>(
  path: string | undefined,
  name: string,
  onMessage: (value: T) => void,
): StreamState => {
  const [state, setState] = useState<StreamState>('connecting');
  const handler = useRef(onMessage);
  handler.current = onMessage;
  useEffect(() => {
    if (path === undefined) return undefined;
    setState('connecting');
    const source = new EventSource(path);
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    source.addEventListener(name, (event) =>
      handler.current(JSON.parse((event as MessageEvent<string>).data) as T),
    );
    return () => source.close();
  }, [path, name]);
  return state;
};
