import { request as httpRequest } from 'node:http';

/** The web console's HTTP API as a page uses it: real HTTP to a running runtime's console. */

export interface ConsoleAnswer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/**
 * One request with exactly these headers (node:http, so that Host, Origin and the rest are what the test says,
 * as a browser or an attacker's page would send them). The body is parsed as JSON when it is JSON.
 */
export const consoleRequest = <T = unknown>(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<ConsoleAnswer<T>> =>
  new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpRequest(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: {
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = (res.headers['content-type'] ?? '').startsWith('application/json');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: (json ? JSON.parse(text) : text) as T,
            text,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });

/** The headers of an action from the console's own page: its Origin and the per-run token. */
export const actionHeaders = (url: string, token: string): Record<string, string> => ({
  origin: new URL(url).origin,
  'x-evented-token': token,
});

export interface ServerSentEvent {
  event: string;
  data: unknown;
}

/**
 * Reads a server-sent event stream until `until` is satisfied by what came (or `timeoutMs` passes: then it
 * fails, with what came). Returns every event, and the comments (heartbeats) seen.
 */
export const readEventStream = async (
  url: string,
  until: (events: ServerSentEvent[]) => boolean,
  options: { timeoutMs?: number; headers?: Record<string, string>; onOpen?: () => Promise<void> | void } = {},
): Promise<{ events: ServerSentEvent[]; comments: string[]; headers: Headers }> => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 10_000);
  const events: ServerSentEvent[] = [];
  const comments: string[] = [];
  const response = await fetch(url, { headers: options.headers, signal: controller.signal });
  if (!response.body) throw new Error(`no stream from ${url}: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let opened = false;
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(':')) comments.push(block.slice(1).trim());
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
      if (!opened && comments.length > 0) {
        opened = true;
        await options.onOpen?.();
      }
    }
  } catch (err) {
    throw new Error(
      `the stream ${url} ended before the test had what it waits for (${(err as Error).message}); it had ${JSON.stringify(events)}`,
    );
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  if (!until(events)) throw new Error(`the stream ${url} ended early; it had ${JSON.stringify(events)}`);
  return { events, comments, headers: response.headers };
};
