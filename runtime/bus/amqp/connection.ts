import amqp, { type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { ConfigError, messageOf, UnavailableError } from '../../errors/index.js';
import { backoff, pause } from '../../support/timing.js';
import { createWatch } from './watch.js';

/**
 * One AMQP connection that comes back by itself. It connects at once and, whenever the connection goes away
 * (broker stopped or restarted, connection closed by an operator, heartbeat missed), connects again with
 * exponential backoff, forever, until close(). Channels are not its business: each user keeps its own channel
 * alive on top of it (channel.ts) and waits here for the next connection.
 */

export interface ReconnectOptions {
  /** First delay after a lost or failed connection. Default 100 ms. */
  initialDelayMs?: number;
  /** The delay doubles up to this. Default 5000 ms. */
  maxDelayMs?: number;
}

export interface ConnectionOptions {
  url: string;
  heartbeatSeconds: number;
  reconnect: Required<ReconnectOptions>;
  logger: Logger;
}

export interface AmqpConnection {
  /** The broker URL without the password. */
  readonly location: string;
  /** Why the last connection failed or was lost, for error messages. */
  readonly lastError: unknown;
  /** True while a connection is open. */
  readonly connected: boolean;
  /** The open connection; waits for one until `signal` aborts (then undefined). */
  next(signal: AbortSignal): Promise<ChannelModel | undefined>;
  /** The open connection, waiting for one up to `timeoutMs`; rejects with UnavailableError. */
  open(timeoutMs: number): Promise<ChannelModel>;
  /** Stops reconnecting and closes the connection. */
  close(): Promise<void>;
}

/** Throws ConfigError for a URL amqplib cannot use (without repeating it: it may hold a password). */
export const checkUrl = (url: string): void => {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ConfigError('the AMQP URL is not a valid URL', {
      hint: 'amqp://user:password@host:5672/vhost',
    });
  }
  if (protocol !== 'amqp:' && protocol !== 'amqps:') {
    throw new ConfigError(`the AMQP URL must start with amqp:// or amqps://, not ${protocol}//`);
  }
};

/** The URL as it can be shown: without the password. */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.search = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(an invalid AMQP URL)';
  }
};

/** The URL with the heartbeat set: a broker that died without closing the socket is noticed within 2 beats. */
const withHeartbeat = (url: string, seconds: number): string => {
  const parsed = new URL(url);
  parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
};

const CONNECT_TIMEOUT_MS = 5000;

export const unreachable = (location: string, waitedMs: number, cause: unknown): UnavailableError =>
  new UnavailableError(
    `cannot reach the RabbitMQ broker at ${location} (waited ${waitedMs} ms)` +
      (cause === undefined ? '' : `: ${messageOf(cause)}`),
    { hint: 'check that RabbitMQ is running and that the URL is right', cause },
  );

export const connectAmqp = (options: ConnectionOptions): AmqpConnection => {
  checkUrl(options.url);
  const location = redactUrl(options.url);
  const url = withHeartbeat(options.url, options.heartbeatSeconds);
  const { logger } = options;
  const stop = new AbortController();
  const current = createWatch<ChannelModel>();
  let lastError: unknown;
  /** True while amqp.connect is in flight: close() does not wait for that (it ends within the connect timeout). */
  let connecting = false;

  /** Connects once; resolves when that connection is gone. */
  const session = async (model: ChannelModel): Promise<void> => {
    const gone = new Promise<void>((resolve) =>
      model.once('close', (err?: Error) => {
        lastError = err ?? new Error('the connection was closed');
        resolve();
      }),
    );
    model.on('error', (err: Error) => {
      lastError = err;
    });
    model.on('blocked', (reason: string) =>
      logger.warn({ broker: location, reason }, 'RabbitMQ blocked publishing'),
    );
    model.on('unblocked', () => logger.info({ broker: location }, 'RabbitMQ unblocked publishing'));
    current.set(model);
    await gone;
    current.set(undefined);
  };

  const run = async (): Promise<void> => {
    let attempt = 0;
    let lostAt: number | undefined;
    while (!stop.signal.aborted) {
      try {
        connecting = true;
        const model = await amqp
          .connect(url, {
            timeout: CONNECT_TIMEOUT_MS,
            clientProperties: { connection_name: 'evented event bus' },
            // amqplib leaves Nagle's algorithm on: a small frame (a publish, an ack) written while an earlier
            // one is unacknowledged then waits for the broker's delayed TCP ack, up to ~40 ms a hop.
            noDelay: true,
          })
          .finally(() => (connecting = false));
        if (stop.signal.aborted) {
          await model.close().catch(() => undefined);
          return;
        }
        if (lostAt !== undefined) {
          logger.info(
            { broker: location, afterMs: Date.now() - lostAt, attempts: attempt },
            'reconnected to RabbitMQ',
          );
        }
        attempt = 0;
        lostAt = undefined;
        await session(model);
        if (stop.signal.aborted) return;
        lostAt = Date.now();
        logger.warn(
          { broker: location, reason: messageOf(lastError) },
          'lost the RabbitMQ connection; reconnecting',
        );
      } catch (err) {
        lastError = err;
        if (attempt === 0 && lostAt === undefined) {
          lostAt = Date.now();
          logger.warn({ broker: location, reason: messageOf(err) }, 'cannot reach RabbitMQ; retrying');
        }
      }
      const delay = backoff(attempt, options.reconnect.initialDelayMs, options.reconnect.maxDelayMs);
      attempt += 1;
      logger.debug({ broker: location, attempt, delayMs: delay }, 'reconnecting to RabbitMQ');
      await pause(delay, stop.signal);
    }
  };
  const running = run().catch((err: unknown) => {
    logger.error({ broker: location, reason: messageOf(err) }, 'the RabbitMQ connection loop failed');
  });

  return {
    location,
    get lastError() {
      return lastError;
    },
    get connected() {
      return current.value !== undefined;
    },
    next: (signal) => current.wait({ signal }),
    async open(timeoutMs) {
      const model = await current.wait({ timeoutMs });
      if (model !== undefined) return model;
      if (stop.signal.aborted) throw new UnavailableError(`the event bus to ${location} is closed`);
      throw unreachable(location, timeoutMs, lastError);
    },
    async close() {
      stop.abort();
      current.end();
      const model = current.value;
      if (model !== undefined) await model.close().catch(() => undefined);
      if (!connecting) await running;
    },
  };
};
