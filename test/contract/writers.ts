import { pathToFileURL } from 'node:url';
import { isConcurrencyConflict } from '../../runtime/errors/index.js';
import type { EventStore } from '../../runtime/store/port.js';

/**
 * The writer the concurrency contract runs, in this process or in a child (store-worker.ts): it writes
 * `count` events, each one with the optimistic loop every command handler runs — read the next sequence,
 * append with expectedNext, and on a ConcurrencyConflictError read again and retry. No vitest here: a child
 * process imports this file.
 */

/** JSON that opens a store in another process: `(await import(module))[exportName](options)`. */
export interface StoreOpener {
  /** Absolute path of the adapter module. */
  module: string;
  exportName: string;
  options: unknown;
}

export interface WriterPlan {
  /** Goes into every payload as `writer:counter`, so each event can be traced to exactly one write. */
  writer: string;
  domain: string;
  /** Roots as hex; event i goes to roots[(i + offset) % roots.length]. */
  roots: string[];
  offset: number;
  count: number;
  /** When set, every append whose event makes the aggregate's count a multiple of it also stores a snapshot. */
  snapshotEvery?: number;
}

export interface WriterReport {
  conflicts: number;
}

const MAX_ATTEMPTS = 10_000;

export const payloadTag = (writer: string, counter: number): string => `${writer}:${counter}`;

export const runWriter = async (store: EventStore, plan: WriterPlan): Promise<WriterReport> => {
  let conflicts = 0;
  for (let i = 0; i < plan.count; i += 1) {
    const root = Uint8Array.from(Buffer.from(plan.roots[(i + plan.offset) % plan.roots.length]!, 'hex'));
    const event = { typeUrl: 'test/Written', value: new TextEncoder().encode(payloadTag(plan.writer, i)) };
    for (let attempt = 1; ; attempt += 1) {
      const next = await store.nextSequence({ domain: plan.domain, root });
      try {
        // Alternate explicit and forced numbering: both must respect expectedNext.
        const page = i % 2 === 0 ? { num: next } : { force: true };
        const covered = next + 1;
        await store.append({
          domain: plan.domain,
          root,
          expectedNext: next,
          events: [{ ...page, event, synchronous: false }],
          snapshot:
            plan.snapshotEvery !== undefined && covered % plan.snapshotEvery === 0
              ? {
                  sequence: covered,
                  state: { typeUrl: 'test/Covered', value: new TextEncoder().encode(String(covered)) },
                }
              : undefined,
        });
        break;
      } catch (error) {
        if (!isConcurrencyConflict(error)) throw error;
        conflicts += 1;
        if (attempt >= MAX_ATTEMPTS) throw new Error(`${plan.writer} lost ${attempt} races in a row`);
      }
    }
  }
  return { conflicts };
};

export const openWith = async (opener: StoreOpener): Promise<EventStore> => {
  const module = (await import(pathToFileURL(opener.module).href)) as Record<string, unknown>;
  const open = module[opener.exportName];
  if (typeof open !== 'function')
    throw new Error(`${opener.module} exports no function ${opener.exportName}`);
  return (await (open as (options: unknown) => EventStore | Promise<EventStore>)(
    opener.options,
  )) as EventStore;
};
