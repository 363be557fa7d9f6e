import type { ClientSession, MongoClient } from 'mongodb';
import { aggregateKey } from '../batch-plan.js';
import { deliveryRows, overlapBounds } from '../deliveries.js';
import type { SubscriberProgress } from '../port.js';
import type { Collections } from './collections.js';

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/**
 * Subscriber progress in MongoDB: one document per (subscriber, aggregate), moved only forward (`$max`), saved
 * with the subscriber's checkpoint and the delivery log's entries in one transaction.
 */
export const createMongoProgress = (client: MongoClient, c: Collections): SubscriberProgress => {
  const inTransaction = async (work: (session: ClientSession) => Promise<void>): Promise<void> => {
    const session = client.startSession();
    try {
      await session.withTransaction(() => work(session), { writeConcern: { w: 'majority' } });
    } finally {
      await session.endSession();
    }
  };

  return {
    async loadProgress(subscriber, aggregates) {
      if (aggregates.length === 0) return [];
      const docs = await c.progress
        .find({ subscriber, $or: aggregates.map((a) => ({ domain: a.domain, root: bytes(a.root) })) })
        .toArray();
      const found = new Map(docs.map((doc) => [aggregateKey(doc), doc.next]));
      return aggregates.map((a) => found.get(aggregateKey(a)) ?? 0);
    },

    async saveProgress(subscriber, records, checkpoint, checkpointName = subscriber) {
      await inTransaction(async (session) => {
        if (records.length > 0)
          await c.progress.bulkWrite(
            records.map((r) => ({
              updateOne: {
                filter: { subscriber, domain: r.domain, root: bytes(r.root) },
                update: { $max: { next: r.next } },
                upsert: true,
              },
            })),
            { session },
          );
        const delivered = deliveryRows(subscriber, records);
        if (delivered.length > 0)
          await c.deliveries.insertMany(
            delivered.map((d) => ({ ...d, root: bytes(d.root) })),
            { session },
          );
        if (checkpoint !== undefined)
          await c.checkpoints.updateOne(
            { _id: checkpointName },
            { $max: { position: checkpoint } },
            { session, upsert: true },
          );
      });
    },

    async listDeliveries({ domain, root }, range) {
      const { from, to } = overlapBounds(range);
      const docs = await c.deliveries
        .find({ domain, root: bytes(root), from: { $lt: to }, to: { $gt: from } })
        .toArray();
      return docs.map((doc) => ({
        subscriber: doc.subscriber,
        domain: doc.domain,
        root: doc.root,
        from: doc.from,
        to: doc.to,
        at: doc.at,
        tookMs: doc.tookMs,
      }));
    },

    async pruneDeliveries(endedBefore) {
      await c.deliveries.deleteMany({ at: { $lt: endedBefore } });
    },

    async resetProgress(subscriber) {
      await inTransaction(async (session) => {
        await c.progress.deleteMany({ subscriber }, { session });
        // Its own checkpoint and its partitions' (`<subscriber>/…`; '/' + 1 is '0').
        await c.checkpoints.deleteMany(
          { $or: [{ _id: subscriber }, { _id: { $gte: `${subscriber}/`, $lt: `${subscriber}0` } }] },
          { session },
        );
      });
    },
  };
};
