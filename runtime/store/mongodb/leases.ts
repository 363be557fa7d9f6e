import { MongoServerError } from 'mongodb';
import { checkLeaseRequest, noLeaseLostNews } from '../lease.js';
import type { Lease, LeaseStore } from '../port.js';
import type { Collections, LeaseDoc } from './collections.js';

/**
 * Leases in MongoDB: one document per lease (`_id` = its name) with a holder, an expiry and a fencing number,
 * changed only by single-document atomic updates whose filter says when the change is allowed (renew: the caller
 * holds it; take: it has lapsed; create: there is none), so that of two owners racing exactly one wins. Times are
 * this process's clock (ms since the epoch): the processes sharing a database must agree on the time to well
 * within the ttl. A holder that dies keeps the lease until it lapses.
 */

const DUPLICATE_KEY = 11000;

const toLease = (doc: LeaseDoc): Lease => ({
  name: doc._id,
  holder: doc.holder,
  since: doc.since,
  expiresAt: doc.expiresAt,
  fencing: doc.fencing,
  payload: doc.payload,
});

export const createMongoLeases = (c: Collections): LeaseStore => ({
  async acquireLease(name, owner, ttlMs, payload = '') {
    checkLeaseRequest(name, owner, ttlMs, payload);
    const now = Date.now();
    const expiresAt = now + ttlMs;
    const renewed = await c.leases.findOneAndUpdate(
      { _id: name, holder: owner, expiresAt: { $gt: now } },
      { $set: { expiresAt, payload } },
      { returnDocument: 'after' },
    );
    if (renewed !== null) return { held: true, lease: toLease(renewed) };
    const taken = await c.leases.findOneAndUpdate(
      { _id: name, expiresAt: { $lte: now } },
      { $set: { holder: owner, since: now, expiresAt, payload }, $inc: { fencing: 1 } },
      { returnDocument: 'after' },
    );
    if (taken !== null) return { held: true, lease: toLease(taken) };
    const created: LeaseDoc = { _id: name, holder: owner, since: now, expiresAt, fencing: 1, payload };
    try {
      await c.leases.insertOne(created);
      return { held: true, lease: toLease(created) };
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
    }
    const current = await c.leases.findOne({ _id: name });
    return { held: false, lease: current === null ? undefined : toLease(current) };
  },

  async releaseLease(name, owner) {
    await c.leases.updateOne({ _id: name, holder: owner }, { $set: { expiresAt: 0 } });
  },

  async listLeases() {
    const docs = await c.leases
      .find({ expiresAt: { $gt: Date.now() } })
      .sort({ _id: 1 })
      .toArray();
    return docs.map(toLease);
  },

  onLeaseLost: noLeaseLostNews,
});
