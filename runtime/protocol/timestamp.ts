import type { Timestamp } from './gen/google/protobuf/timestamp.js';

/** google.protobuf.Timestamp helpers. Timestamps are kept exact ({seconds, nanos}), never rounded to a Date. */

export const timestampNow = (): Timestamp => {
  const ms = Date.now();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
};

export const timestampToDate = (ts: Timestamp): Date =>
  new Date(ts.seconds * 1000 + Math.floor(ts.nanos / 1e6));

export const timestampFromDate = (date: Date): Timestamp => {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (((ms % 1000) + 1000) % 1000) * 1_000_000 };
};

export const timestampToIso = (ts: Timestamp): string => timestampToDate(ts).toISOString();
