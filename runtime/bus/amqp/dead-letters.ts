import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { isEventedError, messageOf, UnavailableError } from '../../errors/index.js';
import type { DeadLetter } from '../port.js';
import type { KeptChannel } from './channel.js';
import { decodeDeadLetter, encodeDeadLetter } from './codec.js';
import type { AmqpConnection } from './connection.js';
import type { Publisher } from './publisher.js';
import { deadLetterQueue, declareDeadLetterQueue } from './topology.js';

/**
 * Dead letters live in a durable queue per subscriber, written with a publisher confirm. Listing reads the
 * whole queue with basic.get without acknowledging, then puts every message back with one nack (RabbitMQ
 * returns them to their places), so the letters stay, oldest first. Listings in this process take turns, since
 * messages held by one listing are invisible to another; a listing in another process at the same moment may
 * see fewer letters.
 */

export interface DeadLetters {
  put(letter: DeadLetter): Promise<void>;
  list(subscriber: string): Promise<DeadLetter[]>;
}

export interface DeadLetterOptions {
  exchange: string;
  timeoutMs: number;
  logger: Logger;
}

const failed = (what: string, location: string, err: unknown): Error =>
  isEventedError(err)
    ? err
    : new UnavailableError(`${what} on RabbitMQ at ${location} failed: ${messageOf(err)}`, { cause: err });

const isNotFound = (err: unknown): boolean => (err as { code?: unknown } | undefined)?.code === 404;

export const createDeadLetters = (
  connection: AmqpConnection,
  confirmChannel: KeptChannel<ConfirmChannel>,
  publisher: Publisher,
  options: DeadLetterOptions,
): DeadLetters => {
  const { exchange, timeoutMs, logger } = options;
  let turn: Promise<unknown> = Promise.resolve();

  const read = async (subscriber: string): Promise<DeadLetter[]> => {
    const queue = deadLetterQueue(exchange, subscriber);
    const model = await connection.open(timeoutMs);
    const channel = await model.createChannel();
    channel.on('error', () => undefined); // a missing queue closes this channel (404): that means "none"
    try {
      await channel.checkQueue(queue);
      const letters: DeadLetter[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        try {
          letters.push(decodeDeadLetter(message));
        } catch (err) {
          logger.warn({ queue, reason: messageOf(err) }, 'skipped a message that is not a dead letter');
        }
      }
      channel.nackAll(true);
      return letters;
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    } finally {
      await channel.close().catch(() => undefined);
    }
  };

  return {
    async put(letter) {
      const queue = deadLetterQueue(exchange, letter.subscriber);
      try {
        await declareDeadLetterQueue(await confirmChannel.open(timeoutMs), queue);
        await publisher.send(
          [{ exchange: '', routingKey: queue, message: encodeDeadLetter(letter) }],
          timeoutMs,
        );
      } catch (err) {
        throw failed('setting a dead letter aside', connection.location, err);
      }
    },
    list(subscriber) {
      const result = turn.then(() => read(subscriber));
      turn = result.catch(() => undefined);
      return result.catch((err: unknown) => {
        throw failed('listing dead letters', connection.location, err);
      });
    },
  };
};
