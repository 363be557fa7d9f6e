/**
 * Recently used aggregates, kept in memory in the shape business logic receives them. Safe with several
 * command handlers on one store: an entry is built from one consistent load plus this process's own appends, so
 * it is a state the aggregate really had; when another process has moved past it, the append decided on it fails
 * with a concurrency conflict (and a decision that writes nothing is checked against the store's next), after
 * which the handler drops the entry and reloads (handler.ts). Least recently used entries go first.
 *
 * An entry holds the aggregate encoded (evented.Cover, Snapshot, EventPage bytes), ready to be spliced into
 * each ContextualCommand (see encoded.ts): every snapshot and event is encoded once, not once per command, and
 * an entry owns its bytes instead of holding views into larger buffers (gRPC messages, SQLite rows) that would
 * keep those alive.
 */
export interface CachedAggregate {
  /** evented.Cover */
  cover: Uint8Array;
  /** The latest snapshot: its sequence, and evented.Snapshot; undefined when there is none. */
  snapshot: { sequence: number; bytes: Uint8Array } | undefined;
  /** The events at or after the snapshot's sequence, in order: sequence, and evented.EventPage (numbered). */
  pages: { sequence: number; bytes: Uint8Array }[];
  next: number;
}

export interface AggregateCache {
  get(key: string): CachedAggregate | undefined;
  set(key: string, aggregate: CachedAggregate): void;
  delete(key: string): void;
  readonly size: number;
}

export const createAggregateCache = (options: {
  maxAggregates: number;
  maxPagesPerAggregate: number;
}): AggregateCache => {
  const entries = new Map<string, CachedAggregate>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry !== undefined) {
        entries.delete(key);
        entries.set(key, entry);
      }
      return entry;
    },
    set(key, aggregate) {
      entries.delete(key);
      if (options.maxAggregates <= 0 || aggregate.pages.length > options.maxPagesPerAggregate) return;
      entries.set(key, aggregate);
      if (entries.size > options.maxAggregates) entries.delete(entries.keys().next().value!);
    },
    delete(key) {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
};
