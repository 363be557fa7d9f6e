import type { EventPage, Snapshot } from '../protocol/gen/evented/evented.js';

/**
 * Recently used aggregates, kept in memory in the shape business logic receives them. Safe with several
 * command handlers on one store: a stale entry only makes the append fail with a concurrency conflict, after
 * which the handler drops the entry and reloads. Least recently used entries go first.
 */
export interface CachedAggregate {
  snapshot: Snapshot | undefined;
  /** Events at or after the snapshot's sequence, numbered. */
  pages: EventPage[];
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
