/**
 * The pages' only door to the server (runtime/console/api.ts): JSON reads, actions that carry the per-run token,
 * and server-sent event streams. Every failure becomes an ApiFailure holding the server's ApiError (or one made
 * here that says what happened), so that a page can show it as it is: nothing is swallowed.
 */
import type { ApiError, Session } from '../runtime/console/api.js';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(body.error);
  }
}

/** The ApiError of a failed answer: the server's own, or one that names the status and the path. */
const errorOf = async (response: Response, path: string): Promise<ApiError> => {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<ApiError>;
    if (typeof body.error === 'string') return { error: body.error, hint: body.hint };
  } catch {
    // not JSON: said below with what came
  }
  const said = text.trim().split('\n')[0]?.slice(0, 200);
  return { error: `${path}: ${response.status} ${response.statusText}${said ? `: ${said}` : ''}` };
};

const unreachable = (path: string, error: unknown): ApiFailure =>
  new ApiFailure(0, {
    error: `${path}: the console's server did not answer (${(error as Error).message})`,
    hint: 'is `evented up` (or the process with the admin role) still running?',
  });

const call = async <T>(path: string, init: RequestInit): Promise<T> => {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw unreachable(path, error);
  }
  if (!response.ok) throw new ApiFailure(response.status, await errorOf(response, path));
  return (await response.json()) as T;
};

export const getJson = <T>(path: string): Promise<T> =>
  call<T>(path, { headers: { accept: 'application/json' } });

let session: Promise<Session> | undefined;

/** The session, read once; a failed read is tried again next time. */
export const getSession = (): Promise<Session> => {
  session ??= getJson<Session>('/api/session').catch((error: unknown) => {
    session = undefined;
    throw error;
  });
  return session;
};

/** An action: same-origin (the browser sends Origin), with the session's token in `x-evented-token`. */
export const postJson = async <T>(path: string, body: unknown): Promise<T> => {
  const { token } = await getSession();
  return call<T>(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-evented-token': token },
    body: JSON.stringify(body),
  });
};

/** A query string of the defined, non-empty values. */
export const query = (values: Record<string, string | number | undefined>): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
};

/** An ApiError for anything thrown. */
export const asApiError = (error: unknown): ApiError =>
  error instanceof ApiFailure
    ? error.body
    : { error: error instanceof Error ? error.message : String(error) };
