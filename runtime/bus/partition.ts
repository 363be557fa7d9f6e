/**
 * Which partition an aggregate belongs to: a stable hash of (domain, root) modulo the partition count. Stable
 * across processes, machines, restarts and versions (32-bit FNV-1a over the domain's UTF-8 bytes, a zero byte,
 * then the root's bytes, finished by MurmurHash3's fmix32 so that the low bits, which the modulo keeps, depend on
 * every bit of the input: FNV's alone depend on the low bits of each byte only), so that every relay routes an aggregate's events to the same partition and every
 * consumer agrees on it. An aggregate always maps to one partition, which keeps its order: one partition has one
 * holder at a time (subscriber/claims.ts).
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const encoder = new TextEncoder();

const fmix32 = (value: number): number => {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
};

export const hashAggregate = (domain: string, root: Uint8Array): number => {
  let hash = FNV_OFFSET;
  const mix = (byte: number): void => {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  };
  for (const byte of encoder.encode(domain)) mix(byte);
  mix(0);
  for (const byte of root) mix(byte);
  return fmix32(hash);
};

/** The aggregate's partition, 0 … count-1. */
export const partitionOf = (domain: string, root: Uint8Array, count: number): number =>
  count <= 1 ? 0 : hashAggregate(domain, root) % count;

/** The default partition count (config `delivery.partitions`). */
export const DEFAULT_PARTITIONS = 16;

/** Partitions are numbered 0 … count-1; a subscriber has at most this many. */
export const MAX_PARTITIONS = 1024;
