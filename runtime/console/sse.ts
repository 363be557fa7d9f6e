import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Server-sent events (text/event-stream): how the pages get new events, status and replay progress without
 * polling. A comment every 15 s keeps proxies and the browser from calling the stream dead; the stream ends when
 * the page goes (its connection closes) or the console stops (`stopping`).
 */

export const HEARTBEAT_MS = 15_000;

export interface EventStream {
  /** Aborts when the page goes or the console stops: whatever feeds the stream stops on it. */
  readonly signal: AbortSignal;
  send(event: string, data: unknown): void;
  end(): void;
}

export const openEventStream = (
  request: IncomingMessage,
  response: ServerResponse,
  stopping: AbortSignal,
  heartbeatMs = HEARTBEAT_MS,
): EventStream => {
  const controller = new AbortController();
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // nginx and the like would hold the events back otherwise.
    'x-accel-buffering': 'no',
  });
  response.write(': evented console\n\n');
  const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), heartbeatMs);
  heartbeat.unref();
  const end = (): void => {
    if (controller.signal.aborted) return;
    clearInterval(heartbeat);
    stopping.removeEventListener('abort', end);
    controller.abort();
    response.end();
  };
  request.once('close', end);
  response.once('close', end);
  if (stopping.aborted) end();
  else stopping.addEventListener('abort', end, { once: true });
  return {
    signal: controller.signal,
    send(event, data) {
      if (!controller.signal.aborted) response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end,
  };
};
