import { ValidationError } from '../errors/index.js';
import { aggregateKey as keyOf, formatAggregate } from '../protocol/cover.js';
import { timestampNow } from '../protocol/timestamp.js';
import type { Snapshot } from '../protocol/gen/evented/evented.js';
import type { Outcome } from './group-commit.js';
import type { AggregateRef, AppendRequest, Appended, NewLoggedCommand, StoredEvent } from './port.js';
import { assertExpectedNext, assertSnapshotFits, assignSequences } from './sequence.js';

/**
 * A group-commit batch decided before anything is written, for every store (SQLite, PostgreSQL, MongoDB): the
 * adapter reads what the batch depends on (each aggregate's next sequence, which idempotency
 * keys are stored) inside its transaction, `planBatch` applies the port's rules to every append in order,
 * and the adapter then writes the result in a few set-wise statements. An append that breaks a rule fails
 * alone and contributes nothing, so no savepoint per append is needed; a later append of the batch sees the
 * ones before it (a second append to the same aggregate continues from the first one's next).
 */

export const assertRoot = (root: Uint8Array): void => {
  if (root.length !== 16) throw new ValidationError(`root must be 16 bytes, got ${root.length}`);
};

/** A stable text key of an aggregate, for maps. */
export const aggregateKey = ({ domain, root }: AggregateRef): string => keyOf(domain, root);

/** What a batch depends on, read by the adapter inside its transaction. */
export interface BatchState {
  /** The next sequence of every aggregate of the batch (missing: 0). */
  nexts: ReadonlyMap<string, number>;
  /** The batch's idempotency keys that are already stored. */
  appliedKeys: ReadonlySet<string>;
}

export interface BatchPlan {
  outcomes: Outcome<Appended>[];
  /** The new events in log order, positions still 0 until `assignPositions`. */
  events: StoredEvent[];
  /** The new next of every aggregate that got events. */
  nexts: Map<string, { ref: AggregateRef; next: number }>;
  /** Per aggregate, the newest snapshot of the batch (the store keeps it when it is not older than its own). */
  snapshots: Map<string, { ref: AggregateRef; snapshot: Snapshot }>;
  /** The idempotency keys of the appends that succeeded, with their aggregate. */
  keys: { key: string; ref: AggregateRef }[];
  /** The decisions of the appends that succeeded (AppendRequest.decision), accepted with their events. */
  commands: NewLoggedCommand[];
}

/** The aggregates and idempotency keys a batch touches, each once. */
export const batchInputs = (
  requests: readonly AppendRequest[],
): { aggregates: AggregateRef[]; keys: string[] } => {
  const aggregates = new Map<string, AggregateRef>();
  const keys = new Set<string>();
  for (const request of requests) {
    aggregates.set(aggregateKey(request), { domain: request.domain, root: request.root });
    if (request.idempotencyKey !== undefined) keys.add(request.idempotencyKey);
  }
  return { aggregates: [...aggregates.values()], keys: [...keys] };
};

export const planBatch = (requests: readonly AppendRequest[], state: BatchState): BatchPlan => {
  const nexts = new Map<string, number>(state.nexts);
  const applied = new Set(state.appliedKeys);
  const plan: BatchPlan = {
    outcomes: [],
    events: [],
    nexts: new Map(),
    snapshots: new Map(),
    keys: [],
    commands: [],
  };
  const now = timestampNow();
  for (const request of requests) {
    const { domain, root, idempotencyKey } = request;
    const key = aggregateKey(request);
    const ref = { domain, root };
    const next = nexts.get(key) ?? 0;
    try {
      if (idempotencyKey !== undefined && applied.has(idempotencyKey)) {
        plan.outcomes.push({ ok: true, value: { events: [], next, duplicate: true } });
        continue;
      }
      const aggregate = formatAggregate(domain, root);
      assertExpectedNext(request.expectedNext, next, aggregate);
      const sequences = assignSequences(request.events, next, aggregate);
      const newNext = next + sequences.length;
      assertSnapshotFits(request.snapshot, newNext, aggregate);
      const events = request.events.map((event, index): StoredEvent => ({
        position: 0,
        domain,
        root,
        sequence: sequences[index]!,
        createdAt: event.createdAt ?? now,
        event: event.event,
        synchronous: event.synchronous,
        origin: request.origin,
      }));
      plan.events.push(...events);
      nexts.set(key, newNext);
      if (events.length > 0) plan.nexts.set(key, { ref, next: newNext });
      const { snapshot } = request;
      const kept = plan.snapshots.get(key);
      if (snapshot !== undefined && (kept === undefined || snapshot.sequence >= kept.snapshot.sequence))
        plan.snapshots.set(key, { ref, snapshot });
      if (idempotencyKey !== undefined) {
        applied.add(idempotencyKey);
        plan.keys.push({ key: idempotencyKey, ref });
      }
      if (request.decision !== undefined)
        plan.commands.push({ ...ref, ...request.decision, outcome: 'accepted', eventCount: events.length });
      plan.outcomes.push({ ok: true, value: { events, next: newNext } });
    } catch (error) {
      plan.outcomes.push({ ok: false, error });
    }
  }
  return plan;
};

/** Numbers the plan's events from `lastPosition + 1`, in order (the returned Appended share these objects). */
export const assignPositions = (plan: BatchPlan, lastPosition: number): void => {
  plan.events.forEach((event, index) => {
    event.position = lastPosition + index + 1;
  });
};
