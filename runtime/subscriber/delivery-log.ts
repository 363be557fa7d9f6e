import type { AppliedCall, EventStore } from '../store/port.js';

/**
 * The delivery log: which projector or saga applied which events of an aggregate, when, and how long its call
 * took (what `evented trace` shows after a command). Recorded by the progress tracker with the progress it saves
 * after successful calls (the same write: no extra round trip on the delivery path), and pruned by age.
 */

export interface DeliveryLogPolicy {
  /** How long entries are kept; 0 turns the log off (nothing is recorded). */
  retentionMs: number;
}

/** delivery.deliveryLogRetentionHours as a policy. */
export const deliveryLogPolicy = (retentionHours: number): DeliveryLogPolicy => ({
  retentionMs: Math.round(retentionHours * 3_600_000),
});

/** What the runtime does when not told otherwise (the config's default). */
export const DEFAULT_DELIVERY_LOG: DeliveryLogPolicy = deliveryLogPolicy(24);

/** A successful call to a subscriber: when it ended and how long it took. */
export interface CallTiming {
  endedAt: number;
  tookMs: number;
}

/** Starts a call's clock; the function returned stops it. */
export const startCall = (): (() => CallTiming) => {
  const started = performance.now();
  return () => ({ endedAt: Date.now(), tookMs: Math.round(performance.now() - started) });
};

/** The log entry of a call that applied sequences [from, to). */
export const appliedCall = (from: number, to: number, timing: CallTiming): AppliedCall => ({
  from,
  to,
  at: timing.endedAt,
  tookMs: timing.tookMs,
});

/**
 * Old entries are deleted at most this often per store and process: one indexed delete by time, from a save
 * that just succeeded (so from a process that delivers), never on its own timer.
 */
const PRUNE_EVERY_MS = 10 * 60_000;
const lastPruned = new WeakMap<EventStore, number>();

/** Deletes the entries older than the retention when the last prune of this store is old enough. */
export const pruneWhenDue = async (store: EventStore, policy: DeliveryLogPolicy): Promise<void> => {
  if (policy.retentionMs <= 0) return;
  const now = Date.now();
  if (now - (lastPruned.get(store) ?? 0) < PRUNE_EVERY_MS) return;
  lastPruned.set(store, now);
  await store.pruneDeliveries(now - policy.retentionMs);
};
