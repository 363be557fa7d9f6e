import type { Message, Options } from 'amqplib';
import { encodeEventBatch } from '../../protocol/event-batch-encoder.js';
import { EventBatch } from '../../protocol/gen/evented/evented.js';
import type { Delivery, PublishedBatch } from '../port.js';

/**
 * What evented's messages look like on RabbitMQ, for consumers in any language: the body is protobuf, the
 * content type names the message, and headers repeat what a router or an operator wants to see without
 * decoding the body.
 *
 * - an event batch: body `evented.EventBatch`, routing key `<domain>.<partition>`, headers `domain`,
 *   `partition`, `firstPosition`, `lastPosition`; persistent (delivery mode 2), app id "evented".
 *
 * (Dead letters are kept in the event store, not on the broker.)
 */

export const BATCH_CONTENT_TYPE = 'application/protobuf; proto=evented.EventBatch';

export interface Encoded {
  content: Buffer;
  options: Options.Publish;
}

const common = (contentType: string, headers: Record<string, string | number>): Options.Publish => ({
  contentType,
  deliveryMode: 2,
  appId: 'evented',
  timestamp: Math.floor(Date.now() / 1000),
  headers,
});

export const encodeBatch = ({ domain, partition, batch }: PublishedBatch): Encoded => ({
  content: encodeEventBatch(batch),
  options: {
    ...common(BATCH_CONTENT_TYPE, {
      domain,
      partition: partition ?? 0,
      firstPosition: batch.firstPosition,
      lastPosition: batch.lastPosition,
    }),
    messageId: `${domain}.${partition ?? 0}:${batch.firstPosition}-${batch.lastPosition}`,
  },
});

const checkContentType = (message: Message, expected: string): void => {
  const contentType: unknown = message.properties.contentType;
  if (contentType !== undefined && contentType !== expected) {
    throw new Error(`content type is "${String(contentType)}", not "${expected}"`);
  }
};

const header = (message: Message, name: string): unknown => message.properties.headers?.[name];

/** A plain copy: decoding a Buffer would hand out Buffers for bytes fields, and pin amqplib's memory. */
const plain = (content: Buffer): Uint8Array => new Uint8Array(content);

/** Throws when the message is not an EventBatch (a poison message). */
export const decodeBatch = (message: Message): Delivery => {
  checkContentType(message, BATCH_CONTENT_TYPE);
  const domain = header(message, 'domain');
  return {
    domain: typeof domain === 'string' ? domain : message.fields.routingKey,
    batch: EventBatch.decode(plain(message.content)),
    redelivered: message.fields.redelivered,
  };
};
