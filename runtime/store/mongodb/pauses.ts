import { MongoServerError } from 'mongodb';
import type { SubscriberPause, SubscriberPauses } from '../port.js';
import type { Collections, PauseDoc } from './collections.js';

const DUPLICATE_KEY = 11000;

const toPause = (doc: PauseDoc): SubscriberPause => ({
  subscriber: doc._id,
  holder: doc.holder,
  reason: doc.reason,
  since: doc.since,
  expiresAt: doc.expiresAt,
});

/**
 * Subscriber pauses in MongoDB: one document per paused subscriber, taken by one upsert whose filter matches
 * only an expired pause or the holder's own (a live pause of another holder makes the upsert insert a second
 * `_id`, which the unique `_id` refuses), and one document per (subscriber, deliverer).
 */
export const createMongoPauses = (c: Collections): SubscriberPauses => {
  const readPause = async (subscriber: string): Promise<SubscriberPause | undefined> => {
    const doc = await c.pauses.findOne({ _id: subscriber });
    return doc ? toPause(doc) : undefined;
  };

  return {
    async takePause(pause) {
      const fields = {
        holder: pause.holder,
        reason: pause.reason,
        since: pause.since,
        expiresAt: pause.expiresAt,
      };
      for (;;) {
        try {
          const taken = await c.pauses.findOneAndUpdate(
            {
              _id: pause.subscriber,
              $or: [{ expiresAt: { $lt: pause.since } }, { holder: pause.holder }],
            },
            { $set: fields },
            { upsert: true, returnDocument: 'after' },
          );
          if (taken) return toPause(taken);
        } catch (err) {
          if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
        }
        // Refused: the other holder's pause is answered, unless it ended meanwhile (then take it again).
        const other = await readPause(pause.subscriber);
        if (other) return other;
      }
    },
    async renewPause(subscriber, holder, expiresAt) {
      const { matchedCount } = await c.pauses.updateOne({ _id: subscriber, holder }, { $set: { expiresAt } });
      return matchedCount > 0;
    },
    async endPause(subscriber, holder) {
      await c.pauses.deleteOne({ _id: subscriber, holder });
    },
    readPause,
    async reportDeliverer({ subscriber, deliverer, pausedFor, at }) {
      await c.deliverers.replaceOne(
        { _id: { subscriber, deliverer } },
        { pausedFor: pausedFor ?? null, at },
        { upsert: true },
      );
    },
    async forgetDeliverer(subscriber, deliverer) {
      await c.deliverers.deleteOne({ _id: { subscriber, deliverer } });
    },
    async listDeliverers(subscriber) {
      const docs = await c.deliverers
        .find({ '_id.subscriber': subscriber })
        .sort({ '_id.deliverer': 1 })
        .toArray();
      return docs.map((doc) => ({
        subscriber: doc._id.subscriber,
        deliverer: doc._id.deliverer,
        pausedFor: doc.pausedFor ?? undefined,
        at: doc.at,
      }));
    },
  };
};
