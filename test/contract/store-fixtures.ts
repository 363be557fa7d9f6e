import { afterEach, expect } from 'vitest';
import { randomUuidBytes } from '../../runtime/protocol/uuid.js';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import type { Snapshot } from '../../runtime/protocol/gen/evented/evented.js';
import type { AggregateRef, EventStore, NewEvent, StoredEvent } from '../../runtime/store/port.js';
import type { StoreOpener } from './writers.js';

/**
 * What an adapter's test file gives the contract: fresh, isolated storage per test, on which any number of
 * independent store instances (separate connections / clients) can be opened.
 */
export interface StoreFactory {
  /** New, empty storage that no other test sees (a temp file, a fresh schema or database). */
  create(): Promise<StoreStorage>;
}

export interface StoreStorage {
  /** Opens one more independent instance on this storage. The contract closes every instance it opens. */
  open(): Promise<EventStore>;
  /** How a child process opens this same storage (every adapter's storage can be shared between processes). */
  forChildProcess(): StoreOpener;
  /** Removes the storage. Runs after every instance is closed. */
  cleanup(): Promise<void>;
}

/** One test's storage: a first instance ready to use, and the means to open more. */
export interface Given {
  store: EventStore;
  open(): Promise<EventStore>;
  opener: StoreOpener;
}

/** Gives each test fresh storage and closes and removes it after the test, whatever happened. */
export const storageFor = (factory: StoreFactory): { fresh(): Promise<Given> } => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async fresh() {
      const storage = await factory.create();
      const opened: EventStore[] = [];
      cleanups.push(async () => {
        await Promise.allSettled(opened.map((store) => store.close()));
        await storage.cleanup();
      });
      const open = async (): Promise<EventStore> => {
        const store = await storage.open();
        opened.push(store);
        return store;
      };
      return { store: await open(), open, opener: storage.forChildProcess() };
    },
  };
};

export const newRef = (domain = 'orders'): AggregateRef => ({ domain, root: randomUuidBytes() });

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const textOf = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** An opaque payload whose bytes say which event it is. */
export const payload = (tag: string, typeUrl = 'test/Event'): Any => ({ typeUrl, value: utf8(tag) });

export const num = (n: number, tag = `e${n}`): NewEvent => ({
  num: n,
  event: payload(tag),
  synchronous: false,
});
export const force = (tag = 'forced'): NewEvent => ({ force: true, event: payload(tag), synchronous: false });

export const snapshotAt = (sequence: number, state = `state@${sequence}`): Snapshot => ({
  sequence,
  state: payload(state, 'test/State'),
});

export const sequencesOf = (events: readonly StoredEvent[]): number[] => events.map((e) => e.sequence);
export const positionsOf = (events: readonly StoredEvent[]): number[] => events.map((e) => e.position);
export const tagsOf = (events: readonly StoredEvent[]): string[] => events.map((e) => textOf(e.event?.value));

/** n consecutive integers from `from`. */
export const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

/** Bytes compared by value, whatever subclass (Buffer, Uint8Array) an adapter returns. */
export const hex = (bytes: Uint8Array | undefined): string =>
  bytes === undefined
    ? 'undefined'
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/**
 * The value with every byte array as a plain Uint8Array, for deep comparisons: adapters may return Buffers
 * (or other Uint8Array subclasses), which toEqual tells apart from Uint8Arrays of the same bytes.
 */
export const plain = <T>(value: T): T => {
  if (value instanceof Uint8Array) return Uint8Array.from(value) as T;
  if (Array.isArray(value)) return value.map(plain) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)])) as T;
  return value;
};

export const keyOf = (ref: AggregateRef): string => `${ref.domain}/${hex(ref.root)}`;

/** The error a promise rejects with; fails the test when it resolves. */
export const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
};

/** Everything the store holds (the whole global log). */
export const wholeLog = async (store: EventStore): Promise<StoredEvent[]> => {
  const all: StoredEvent[] = [];
  for (;;) {
    const page = await store.readLog(all.at(-1)?.position ?? 0, 500);
    all.push(...page);
    if (page.length < 500) return all;
  }
};

/** Asserts that the store is exactly as it was: the aggregate's events and next, the head, the whole log. */
export const expectUnchanged = async (
  store: EventStore,
  ref: AggregateRef,
  before: { events: StoredEvent[]; next: number; head: number; log: StoredEvent[] },
): Promise<void> => {
  expect(plain(await store.readAggregate(ref))).toEqual(plain(before.events));
  expect(await store.nextSequence(ref)).toBe(before.next);
  expect(await store.headPosition()).toBe(before.head);
  expect(plain(await wholeLog(store))).toEqual(plain(before.log));
};

export const stateOf = async (
  store: EventStore,
  ref: AggregateRef,
): Promise<{ events: StoredEvent[]; next: number; head: number; log: StoredEvent[] }> => ({
  events: await store.readAggregate(ref),
  next: await store.nextSequence(ref),
  head: await store.headPosition(),
  log: await wholeLog(store),
});

export const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};
