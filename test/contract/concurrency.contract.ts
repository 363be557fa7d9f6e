import { describe, expect, it } from 'vitest';
import type { EventStore, LoadedAggregate, StoredEvent } from '../../runtime/store/port.js';
import { repoRoot } from '../helpers/paths.js';
import { startProcess, type TestProcess } from '../helpers/processes.js';
import {
  force,
  hex,
  keyOf,
  newRef,
  plain,
  positionsOf,
  range,
  sequencesOf,
  tagsOf,
  wholeLog,
  type Given,
} from './store-fixtures.js';
import { payloadTag, runWriter, type StoreOpener, type WriterPlan, type WriterReport } from './writers.js';

/**
 * Many writers at once, through independent store instances and from other processes: no lost or duplicated
 * event, no gap in any aggregate, and a global log that a reader polling along the way sees completely, in
 * order, exactly once — what the outbox relay relies on.
 */

const WORKER = `${repoRoot}test/contract/store-worker.ts`;

/** A writer in a child process, started and waiting for "go". */
const startWorker = async (opener: StoreOpener, plan: WriterPlan): Promise<TestProcess> => {
  const worker = startProcess(
    process.execPath,
    ['--import', 'tsx', WORKER, JSON.stringify({ opener, plan })],
    {
      cwd: repoRoot,
    },
  );
  await worker.waitFor(/^ready$/m);
  return worker;
};

const finished = async (worker: TestProcess): Promise<WriterReport> => {
  const result = await worker.child;
  if (result.exitCode !== 0)
    throw new Error(`a writer process failed (exit ${result.exitCode}):\n${worker.output()}`);
  const match = /^done (.*)$/m.exec(worker.output());
  return JSON.parse(match![1]!) as WriterReport;
};

/** Runs in-process writers (each on its own instance) and child-process writers, all released at once. */
const runWriters = async (
  given: Given,
  inProcess: WriterPlan[],
  inChildren: WriterPlan[],
): Promise<WriterReport[]> => {
  const instances = await Promise.all(inProcess.map(() => given.open()));
  const workers = await Promise.all(inChildren.map((plan) => startWorker(given.opener, plan)));
  for (const worker of workers) worker.child.stdin!.write('go\n');
  return Promise.all([
    ...inProcess.map((plan, i) => runWriter(instances[i]!, plan)),
    ...workers.map(finished),
  ]);
};

const plansFor = (
  prefix: string,
  writers: number,
  domain: string,
  roots: Uint8Array[],
  count: number,
): WriterPlan[] =>
  range(0, writers).map((w) => ({
    writer: `${prefix}${w}`,
    domain,
    roots: roots.map(hex),
    offset: w * 3,
    count,
  }));

/** Every planned event is stored exactly once, and each writer's events are in the order it wrote them. */
const expectEveryWriteOnce = (events: StoredEvent[], plans: WriterPlan[]): void => {
  // Each writer writes one event after another, so its events are in its own order in the global log.
  const tags = tagsOf([...events].sort((a, b) => a.position - b.position));
  const expected = plans.flatMap((plan) => range(0, plan.count).map((i) => payloadTag(plan.writer, i)));
  expect([...tags].sort()).toEqual([...expected].sort());
  for (const plan of plans) {
    const own = tags
      .filter((tag) => tag.startsWith(`${plan.writer}:`))
      .map((tag) => Number(tag.split(':')[1]));
    expect(own, plan.writer).toEqual(range(0, plan.count));
  }
};

const conflictsOf = (reports: WriterReport[]): number => reports.reduce((sum, r) => sum + r.conflicts, 0);

/**
 * What is wrong with a loaded aggregate, if anything: the events must run without a gap from the snapshot's
 * sequence, and `next` must follow the last of them (or be the snapshot's sequence when there are none). A load
 * that read its parts at different moments shows as a `next` beyond its events, or as a gap.
 */
const tornIn = (loaded: LoadedAggregate): string | undefined => {
  const from = loaded.snapshot?.sequence ?? 0;
  const sequences = sequencesOf(loaded.events);
  const summary = `snapshot at ${from}, events ${sequences.join(',')}, next ${loaded.next}`;
  if (sequences.some((sequence, i) => sequence !== from + i)) return summary;
  if (loaded.next !== from + sequences.length) return summary;
  return undefined;
};

export const concurrencyContract = (fresh: () => Promise<Given>): void => {
  describe('concurrent writers', () => {
    it('race on one aggregate through independent instances: every event once, no gap', async () => {
      const given = await fresh();
      const ref = newRef();
      const plans = plansFor('w', 6, ref.domain, [ref.root], 15);

      const reports = await runWriters(given, plans, []);

      const events = await given.store.readAggregate(ref);
      expect(sequencesOf(events)).toEqual(range(0, 90));
      expectEveryWriteOnce(events, plans);
      expect(await given.store.nextSequence(ref)).toBe(90);
      expect(conflictsOf(reports), 'the writers never raced').toBeGreaterThan(0);
    });

    it('race on many aggregates at once: each aggregate gap-free, the log complete', async () => {
      const given = await fresh();
      const refs = range(0, 8).map(() => newRef('stock'));
      const plans = plansFor(
        'm',
        4,
        'stock',
        refs.map((r) => r.root),
        40,
      );

      await runWriters(given, plans, []);

      const all: StoredEvent[] = [];
      for (const ref of refs) {
        const events = await given.store.readAggregate(ref);
        expect(sequencesOf(events)).toEqual(range(0, events.length));
        all.push(...events);
      }
      expectEveryWriteOnce(all, plans);
      expect(positionsOf(await wholeLog(given.store))).toEqual(range(1, 160));
    });

    it('race on one aggregate from separate processes: every event once, no gap', async () => {
      const given = await fresh();
      const ref = newRef();
      const children = plansFor('p', 2, ref.domain, [ref.root], 40);
      const local = plansFor('l', 2, ref.domain, [ref.root], 40);

      const reports = await runWriters(given, local, children);

      const events = await given.store.readAggregate(ref);
      expect(sequencesOf(events)).toEqual(range(0, 160));
      expectEveryWriteOnce(events, [...children, ...local]);
      expect(conflictsOf(reports), 'the writers never raced').toBeGreaterThan(0);
    });
  });

  describe('loading an aggregate while others append to it', () => {
    it('every load is one consistent state: the snapshot, the events after it and next, read together', async () => {
      const given = await fresh();
      const ref = newRef('loaded');
      const shared = given.opener !== undefined;
      const plans = plansFor('s', 2, ref.domain, [ref.root], 150).map((plan) => ({
        ...plan,
        snapshotEvery: 40,
      }));
      const [children, local] = shared ? [plans, []] : [[], plans];

      let writing = true;
      const writers = runWriters(given, local, children).finally(() => (writing = false));
      const torn: string[] = [];
      let loadsWhileWriting = 0;
      while (writing) {
        const loaded = await given.store.load(ref);
        const problem = tornIn(loaded);
        if (problem !== undefined) torn.push(problem);
        if (loaded.events.length > 0) loadsWhileWriting += 1;
        // A store whose load never waits (SQLite) would otherwise keep the writers' output from being read.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await writers;

      expect(torn.slice(0, 5), `${torn.length} of ${loadsWhileWriting} loads were torn`).toEqual([]);
      expect(loadsWhileWriting, 'no load ran while the writers wrote').toBeGreaterThan(50);
      const last = await given.store.load(ref);
      expect(tornIn(last)).toBeUndefined();
      expect(last.next).toBe(300);
      expect(last.snapshot?.sequence).toBe(280);
    });
  });

  describe('global log under concurrent writers', () => {
    it('a reader polling readLog sees every event exactly once, in position order', async () => {
      const given = await fresh();
      const refs = range(0, 12).map(() => newRef('ledger'));
      const roots = refs.map((r) => r.root);
      const children = plansFor('p', 2, 'ledger', roots, 50);
      const local = plansFor('l', 2, 'ledger', roots, 50);
      const reader = await given.open();

      const seen: StoredEvent[] = [];
      let pollsWithNews = 0;
      const poll = async (): Promise<void> => {
        for (;;) {
          const page = await reader.readLog(seen.at(-1)?.position ?? 0, 7);
          if (page.length > 0) pollsWithNews += 1;
          seen.push(...page);
          if (page.length < 7) return;
        }
      };
      let writing = true;
      const polling = (async () => {
        while (writing) {
          await poll();
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })();
      await runWriters(given, local, children).finally(() => (writing = false));
      await polling;
      const newsWhileWriting = pollsWithNews;
      await poll();

      const positions = positionsOf(seen);
      for (let i = 1; i < positions.length; i += 1) expect(positions[i]).toBeGreaterThan(positions[i - 1]!);
      expect(new Set(seen.map((e) => `${keyOf(e)}#${e.sequence}`)).size).toBe(seen.length);
      expect(plain(seen)).toEqual(plain(await wholeLog(reader)));
      expect(seen).toHaveLength(200);
      expectEveryWriteOnce(seen, [...children, ...local]);
      expect(newsWhileWriting, 'the reader never read while the writers wrote').toBeGreaterThan(1);
      for (const ref of refs) {
        const events = await reader.readAggregate(ref);
        expect(sequencesOf(events)).toEqual(range(0, events.length));
      }
    });

    it('a reader never passes an event that commits late: books of 1 to 40 events from racing instances', async () => {
      // Big and small books from several instances overlap in time, so a store that numbered events before
      // their commit (a plain database sequence) would let a small book commit above a big one still in
      // flight, and a reader polling in between would skip the big one for good.
      const given = await fresh();
      const writers = await Promise.all(range(0, 4).map(() => given.open()));
      const reader = await given.open();
      const sizes = range(0, 10).map((i) => ((i * 17) % 40) + 1);
      const seen: StoredEvent[] = [];
      const poll = async (): Promise<number> => {
        const page = await reader.readLog(seen.at(-1)?.position ?? 0, 13);
        seen.push(...page);
        return page.length;
      };
      let writing = true;
      const polling = (async () => {
        while (writing) if ((await poll()) === 0) await new Promise((resolve) => setImmediate(resolve));
      })();
      const writeBooks = async (store: EventStore, writer: string): Promise<void> => {
        const ref = newRef('late');
        for (const [book, size] of sizes.entries())
          await store.append({ ...ref, events: range(0, size).map((n) => force(`${writer}:${book}:${n}`)) });
      };
      await Promise.all(
        writers.flatMap((store, w) => [writeBooks(store, `w${w}a`), writeBooks(store, `w${w}b`)]),
      ).finally(() => (writing = false));
      await polling;
      while ((await poll()) > 0);

      const total = 8 * sizes.reduce((sum, size) => sum + size, 0);
      expect(positionsOf(seen)).toEqual(range(1, total));
      expect(plain(seen)).toEqual(plain(await wholeLog(reader)));
    });
  });
};
