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
  /** The encoded bytes of every entry together (what maxBytes bounds). */
  readonly bytes: number;
}

/** What an entry holds in bytes: its encoded cover, snapshot and pages (the rest is small and fixed). */
export const entryBytes = (aggregate: CachedAggregate): number =>
  aggregate.pages.reduce(
    (sum, page) => sum + page.bytes.length,
    aggregate.cover.length + (aggregate.snapshot?.bytes.length ?? 0),
  );

/**
 * Bounded both by count and by bytes: a few aggregates with large events must not hold as much memory as
 * thousands of small ones. An entry larger than the whole byte bound is not kept at all.
 */
export const createAggregateCache = (options: {
  maxAggregates: number;
  maxBytes: number;
  maxPagesPerAggregate: number;
}): AggregateCache => {
  const entries = new Map<string, { aggregate: CachedAggregate; bytes: number }>();
  let total = 0;
  const remove = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    total -= entry.bytes;
  };
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry !== undefined) {
        entries.delete(key);
        entries.set(key, entry);
      }
      return entry?.aggregate;
    },
    set(key, aggregate) {
      remove(key);
      if (options.maxAggregates <= 0 || aggregate.pages.length > options.maxPagesPerAggregate) return;
      const bytes = entryBytes(aggregate);
      if (bytes > options.maxBytes) return;
      entries.set(key, { aggregate, bytes });
      total += bytes;
      // Least recently used first, until both bounds hold.
      while (entries.size > options.maxAggregates || total > options.maxBytes) {
        remove(entries.keys().next().value!);
      }
    },
    delete: remove,
    get size() {
      return entries.size;
    },
    get bytes() {
      return total;
    },
  };
};
