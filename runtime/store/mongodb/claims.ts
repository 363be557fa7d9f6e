import { MongoServerError } from 'mongodb';
import type { PartitionClaims } from '../port.js';
import type { Collections } from './collections.js';

const DUPLICATE_KEY = 11000;

/**
 * The process registry and partition claims in MongoDB (port.ts, PartitionClaims): a document per process and
 * one per (group, partition), `_id` `<group>/<partition>`. A claim is one conditional upsert: it matches only a
 * claim held by the claimer or expired; when the document exists and does not match, the upsert's insert fails
 * on the _id, and the partition stays with its holder.
 */
export const createMongoClaims = (c: Collections): PartitionClaims => ({
  async beatProcess(entry, now) {
    await c.processes.updateOne(
      { _id: entry.id },
      { $set: { roles: entry.roles, expiresAt: entry.expiresAt } },
      { upsert: true },
    );
    await c.processes.deleteMany({ expiresAt: { $lte: now } });
    const live = await c.processes
      .find({ expiresAt: { $gt: now } })
      .sort({ _id: 1 })
      .toArray();
    return live.map((doc) => ({ id: doc._id, roles: doc.roles, expiresAt: doc.expiresAt }));
  },
  async removeProcess(id) {
    await c.processes.deleteOne({ _id: id });
  },
  async claimPartitions(group, owner, partitions, now, expiresAt) {
    const granted: number[] = [];
    for (const partition of [...new Set(partitions)].sort((a, b) => a - b)) {
      try {
        await c.claims.updateOne(
          { _id: `${group}/${partition}`, $or: [{ owner }, { expiresAt: { $lte: now } }] },
          [
            {
              $set: {
                group,
                partition,
                epoch: {
                  $cond: [{ $eq: ['$owner', owner] }, '$epoch', { $add: [{ $ifNull: ['$epoch', 0] }, 1] }],
                },
                owner,
                expiresAt,
              },
            },
          ],
          { upsert: true },
        );
        granted.push(partition);
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
      }
    }
    return granted;
  },
  async releasePartitions(group, owner, partitions) {
    if (partitions.length === 0) return;
    await c.claims.updateMany(
      { group, owner, partition: { $in: [...partitions] } },
      { $set: { expiresAt: 0 } },
    );
  },
  async listClaims(group) {
    const docs = await c.claims
      .find(group === undefined ? {} : { group })
      .sort({ group: 1, partition: 1 })
      .toArray();
    return docs.map(({ group: name, partition, owner, expiresAt, epoch }) => ({
      group: name,
      partition,
      owner,
      expiresAt,
      epoch,
    }));
  },
});
