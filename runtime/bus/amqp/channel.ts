import type { Channel, ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { messageOf, UnavailableError } from '../../errors/index.js';
import { backoff, pause } from '../../support/timing.js';
import { createWatch } from './watch.js';
import { unreachable, type AmqpConnection, type ReconnectOptions } from './connection.js';

/**
 * A channel that stays open: opened on the current connection, set up by `setup` (declare what it needs,
 * start consuming), and opened and set up again whenever it closes — because the connection was lost, or
 * because the broker closed just this channel (a deleted queue, an operator). Reopening backs off like the
 * connection does, so a setup that keeps failing does not spin.
 */

export interface KeptChannel<C extends Channel> {
  /** The channel, if it is open and set up now. */
  readonly current: C | undefined;
  /** The channel, waiting up to `timeoutMs` for it to be open and set up; rejects with UnavailableError. */
  open(timeoutMs: number): Promise<C>;
  /** Stops reopening and closes the channel (unacknowledged deliveries go back to their queues). */
  close(): Promise<void>;
}

export interface KeptChannelOptions<C extends Channel> {
  /** What the channel is for, in logs: "publishing", "subscriber projector:x". */
  purpose: string;
  confirm: C extends ConfirmChannel ? true : false;
  setup(channel: C): Promise<void>;
  reconnect: Required<ReconnectOptions>;
  logger: Logger;
}

export const keepChannel = <C extends Channel>(
  connection: AmqpConnection,
  options: KeptChannelOptions<C>,
): KeptChannel<C> => {
  const { logger, purpose } = options;
  const stop = new AbortController();
  const current = createWatch<C>();
  let lastError: unknown;

  /** Opens and sets up one channel; resolves when it has closed again. Throws when opening or setup fails. */
  const session = async (): Promise<void> => {
    const model = await connection.next(stop.signal);
    if (model === undefined) return;
    const channel = (options.confirm ? await model.createConfirmChannel() : await model.createChannel()) as C;
    const closed = new Promise<void>((resolve) => channel.once('close', resolve));
    channel.on('error', (err: Error) => {
      lastError = err;
      logger.warn({ broker: connection.location, purpose, reason: err.message }, 'RabbitMQ closed a channel');
    });
    try {
      await options.setup(channel);
    } catch (err) {
      await channel.close().catch(() => undefined);
      throw err;
    }
    if (stop.signal.aborted) {
      await channel.close().catch(() => undefined);
      return;
    }
    current.set(channel);
    await closed;
    current.set(undefined);
  };

  const run = async (): Promise<void> => {
    let attempt = 0;
    while (!stop.signal.aborted) {
      const started = Date.now();
      try {
        await session();
        // A channel that lived a while starts the backoff afresh.
        if (Date.now() - started > options.reconnect.maxDelayMs) attempt = 0;
      } catch (err) {
        lastError = err;
        logger.debug(
          { broker: connection.location, purpose, reason: messageOf(err) },
          'could not open a channel',
        );
      }
      if (stop.signal.aborted) return;
      await pause(
        backoff(attempt, options.reconnect.initialDelayMs, options.reconnect.maxDelayMs),
        stop.signal,
      );
      attempt += 1;
    }
  };
  const running = run().catch((err: unknown) => {
    logger.error({ purpose, reason: messageOf(err) }, 'the channel loop failed');
  });

  return {
    get current() {
      return current.value;
    },
    async open(timeoutMs) {
      const channel = await current.wait({ timeoutMs });
      if (channel !== undefined) return channel;
      if (stop.signal.aborted)
        throw new UnavailableError(`the event bus to ${connection.location} is closed`);
      throw unreachable(
        connection.location,
        timeoutMs,
        connection.connected ? lastError : connection.lastError,
      );
    },
    async close() {
      stop.abort();
      current.end();
      const channel = current.value;
      if (channel !== undefined) await channel.close().catch(() => undefined);
      await running;
    },
  };
};
