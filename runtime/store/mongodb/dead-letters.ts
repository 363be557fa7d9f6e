import { MongoServerError, type Filter } from 'mongodb';
import type { DeadLetter, DeadLetterStore } from '../port.js';
import type { Collections, DeadLetterDoc } from './collections.js';

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

const DUPLICATE_KEY = 11000;

/**
 * Dead letters in MongoDB: one document per (subscriber, aggregate, sequence) (a unique index), its `_id` taken
 * from a counter. A put finds the letter first; a new one is inserted, and an insert that loses a race with
 * another writer of the same letter reads the winner's instead.
 */

const toLetter = (doc: DeadLetterDoc): DeadLetter => ({
  id: doc._id,
  subscriber: doc.subscriber,
  domain: doc.domain,
  root: doc.root,
  sequence: doc.sequence,
  position: doc.position,
  attempts: doc.attempts,
  lastError: doc.lastError,
  state: doc.state,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
  decidedAt: doc.decidedAt ?? undefined,
  decidedBy: doc.decidedBy ?? undefined,
});

export const createMongoDeadLetters = (c: Collections): DeadLetterStore => {
  const majority = { writeConcern: { w: 'majority' as const } };

  const nextId = async (): Promise<number> => {
    const counter = await c.counters.findOneAndUpdate(
      { _id: 'dead_letters' },
      { $inc: { position: 1 } },
      { upsert: true, returnDocument: 'after', ...majority },
    );
    return counter!.position;
  };

  const putDeadLetter: DeadLetterStore['putDeadLetter'] = async (letter) => {
    const key = {
      subscriber: letter.subscriber,
      domain: letter.domain,
      root: bytes(letter.root),
      sequence: letter.sequence,
    };
    for (;;) {
      const reopened = await c.deadLetters.findOneAndUpdate(
        { ...key, state: { $ne: 'open' } },
        {
          $set: {
            state: 'open',
            attempts: letter.attempts,
            lastError: letter.lastError,
            updatedAt: letter.at,
            decidedAt: null,
            decidedBy: null,
          },
        },
        { returnDocument: 'after', ...majority },
      );
      if (reopened) return toLetter(reopened);
      const existing = await c.deadLetters.findOne(key);
      if (existing) return toLetter(existing);
      const doc: DeadLetterDoc = {
        _id: await nextId(),
        ...key,
        position: letter.position,
        attempts: letter.attempts,
        lastError: letter.lastError,
        state: 'open',
        createdAt: letter.at,
        updatedAt: letter.at,
        decidedAt: null,
        decidedBy: null,
      };
      try {
        await c.deadLetters.insertOne(doc, majority);
        return toLetter(doc);
      } catch (err) {
        // Another writer stored this letter first: read it on the next round.
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
      }
    }
  };

  return {
    putDeadLetter,
    async listDeadLetters(filter) {
      const query: Filter<DeadLetterDoc> = { _id: { $gt: filter.afterId ?? 0 } };
      if (filter.subscriber !== undefined) query.subscriber = filter.subscriber;
      if (filter.state !== undefined) query.state = filter.state;
      if (filter.aggregate !== undefined) {
        query.domain = filter.aggregate.domain;
        query.root = bytes(filter.aggregate.root);
      }
      const cursor = c.deadLetters.find(query).sort({ _id: 1 });
      if (filter.limit !== undefined) cursor.limit(filter.limit);
      return (await cursor.toArray()).map(toLetter);
    },
    async getDeadLetter(id) {
      const doc = await c.deadLetters.findOne({ _id: id });
      return doc === null ? undefined : toLetter(doc);
    },
    async recordDeadLetterAttempt(id, { attempts, lastError, at }) {
      await c.deadLetters.updateOne(
        { _id: id, state: 'open' },
        { $set: { attempts, lastError, updatedAt: at } },
        majority,
      );
    },
    async closeDeadLetter(id, { state, at, by }) {
      const result = await c.deadLetters.updateOne(
        { _id: id, state: 'open' },
        { $set: { state, decidedAt: at, decidedBy: by, updatedAt: at } },
        majority,
      );
      return result.modifiedCount === 1;
    },
    async countOpenDeadLetters() {
      const rows = await c.deadLetters
        .aggregate<{ _id: string; count: number }>([
          { $match: { state: 'open' } },
          { $group: { _id: '$subscriber', count: { $sum: 1 } } },
        ])
        .toArray();
      return new Map(rows.map((row) => [row._id, row.count]));
    },
  };
};
