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

export interface Stream {
  state: StreamState;
  /** What the server said went wrong with the stream (its `api-error` event), until its next message. */
  error?: ApiError;
}

/**
 * The server-sent events named `name` of `path`, each parsed as JSON and handed to `onMessage` (the latest
 * function given, so the caller needs no memo); undefined follows nothing. The server's `api-error` events are
 * the stream's error (EventSource keeps `error` for its connection).
 */
export const useStream = <T>(
  path: string | undefined,
  name: string,
  onMessage: (value: T) => void,
): Stream => {
  const [state, setState] = useState<StreamState>('connecting');
  const [error, setError] = useState<ApiError>();
  const handler = useRef(onMessage);
  handler.current = onMessage;
  useEffect(() => {
    if (path === undefined) return undefined;
    setState('connecting');
    setError(undefined);
    const source = new EventSource(path);
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    source.addEventListener(name, (event) => {
      setError(undefined);
      handler.current(JSON.parse((event as MessageEvent<string>).data) as T);
    });
    source.addEventListener('api-error', (event) =>
      setError(JSON.parse((event as MessageEvent<string>).data) as ApiError),
    );
    return () => source.close();
  }, [path, name]);
  return { state, error };
};
