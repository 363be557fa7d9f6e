import type { Delivery, ProgressRecord, SequenceRange } from './port.js';

/**
 * The delivery log's one shape, shared by the adapters: the calls carried by a save's progress records, flat, one
 * row each (what SQLite inserts row by row, PostgreSQL in one unnest and MongoDB in one insertMany), and the
 * overlap rule of listDeliveries.
 */

export const deliveryRows = (subscriber: string, records: readonly ProgressRecord[]): Delivery[] =>
  records.flatMap((record) =>
    (record.applied ?? []).map((call) => ({
      subscriber,
      domain: record.domain,
      root: record.root,
      from: call.from,
      to: call.to,
      at: call.at,
      tookMs: call.tookMs,
    })),
  );

/** The bounds of an overlap query: a call [from, to) overlaps the range when from < rangeTo and to > rangeFrom. */
export const overlapBounds = (range: SequenceRange = {}): { from: number; to: number } => ({
  from: range.from ?? 0,
  to: range.to ?? Number.MAX_SAFE_INTEGER,
});
