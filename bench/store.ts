// `npm run bench -- store`: the event store adapters side by side, in this process, on this machine: appends/s
// with 1 and with 100 events per book, and aggregate loads/s, each driven by the same closed loop (N calls in
// flight). SQLite always runs (a temp file); PostgreSQL when EVENTED_TEST_POSTGRES_URL is set (a fresh schema,
// dropped afterwards); MongoDB when EVENTED_TEST_MONGODB_URL is set (a fresh database, dropped afterwards).
// Settings come from environment variables (printed at the start); see `settings` below.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { randomUuidBytes } from '../runtime/protocol/uuid.js';
import type { EventStore, NewEvent } from '../runtime/store/port.js';
import { createMongoEventStore } from '../runtime/store/mongodb/index.js';
import { createPostgresEventStore } from '../runtime/store/postgres/index.js';
import { createSqliteEventStore } from '../runtime/store/sqlite/index.js';
import { runBenchmark } from './lib/processes.js';
import { fmtMs, fmtRate, pad, padLeft, percentile } from './lib/stats.js';
import { numberEnv, packageVersion } from './lib/settings.js';

const settings = {
  /** Measured seconds per store and workload. */
  durationS: numberEnv('BENCH_DURATION_S', 5),
  /** Unmeasured seconds before each measurement. */
  warmupS: numberEnv('BENCH_WARMUP_S', 1),
  /** Calls in flight. */
  concurrency: Math.round(numberEnv('BENCH_CONCURRENCY', 32)),
  /** Aggregates the appends spread over. */
  aggregates: Math.round(numberEnv('BENCH_AGGREGATES', 1000)),
  /** Events in each aggregate that the load workload reads (a snapshot every 10 events). */
  loadEvents: Math.round(numberEnv('BENCH_LOAD_EVENTS', 25)),
  /** Comma-separated subset of sqlite,postgres,mongodb. */
  stores: (process.env.BENCH_STORES ?? 'sqlite,postgres,mongodb').split(',').map((s) => s.trim()),
};

interface Subject {
  name: string;
  open(): Promise<EventStore>;
  cleanup(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];

const sqliteSubject = (): Subject => {
  const dir = mkdtempSync(join(tmpdir(), 'evented-bench-store-'));
  return {
    name: 'sqlite',
    open: async () => createSqliteEventStore({ path: join(dir, 'events.db') }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
};

const postgresSubject = (url: string): Subject => {
  const schema = `evented_bench_${randomBytes(4).toString('hex')}`;
  return {
    name: 'postgres',
    open: () => createPostgresEventStore({ url, schema }),
    cleanup: async () => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
};

const mongoSubject = (url: string): Subject => {
  const database = `evented_bench_${randomBytes(4).toString('hex')}`;
  return {
    name: 'mongodb',
    open: () => createMongoEventStore({ url, database }),
    cleanup: async () => {
      const admin = new MongoClient(url);
      await admin.db(database).dropDatabase();
      await admin.close();
    },
  };
};

const subjects = (): { chosen: Subject[]; skipped: string[] } => {
  const chosen: Subject[] = [];
  const skipped: string[] = [];
  const want = (name: string): boolean => settings.stores.includes(name);
  if (want('sqlite')) chosen.push(sqliteSubject());
  const pgUrl = process.env.EVENTED_TEST_POSTGRES_URL;
  if (want('postgres')) {
    if (pgUrl) chosen.push(postgresSubject(pgUrl));
    else skipped.push('postgres (EVENTED_TEST_POSTGRES_URL is not set)');
  }
  const mongoUrl = process.env.EVENTED_TEST_MONGODB_URL;
  if (want('mongodb')) {
    if (mongoUrl) chosen.push(mongoSubject(mongoUrl));
    else skipped.push('mongodb (EVENTED_TEST_MONGODB_URL is not set)');
  }
  return { chosen, skipped };
};

interface Measured {
  callsPerS: number;
  p50: number;
  p99: number;
}

/** `concurrency` slots call `call` back to back; counts the calls that complete inside the window. */
const closedLoop = async (call: () => Promise<unknown>): Promise<Measured> => {
  const start = performance.now();
  const windowStart = start + settings.warmupS * 1000;
  const windowEnd = windowStart + settings.durationS * 1000;
  const latencies: number[] = [];
  const slot = async (): Promise<void> => {
    while (performance.now() < windowEnd) {
      const sent = performance.now();
      await call();
      const done = performance.now();
      if (sent >= windowStart && done < windowEnd) latencies.push(done - sent);
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, slot));
  const sorted = Float64Array.from(latencies).sort();
  return {
    callsPerS: latencies.length / settings.durationS,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
};

const payload = randomBytes(200);
const book = (count: number): NewEvent[] =>
  Array.from({ length: count }, () => ({
    force: true,
    event: { typeUrl: 'type.googleapis.com/bench.Happened', value: payload },
    synchronous: false,
  }));

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** The three workloads on one store. */
const measure = async (store: EventStore): Promise<Record<string, Measured>> => {
  const roots = Array.from({ length: settings.aggregates }, () => randomUuidBytes());
  const one = book(1);
  const hundred = book(100);
  const appendOne = await closedLoop(() => store.append({ domain: 'bench', root: pick(roots), events: one }));
  const appendHundred = await closedLoop(() =>
    store.append({ domain: 'bench', root: pick(roots), events: hundred }),
  );

  // Aggregates as a command handler loads them: a snapshot every 10 events, the events after it.
  const loaded = Array.from({ length: Math.min(500, settings.aggregates) }, () => randomUuidBytes());
  for (const root of loaded) {
    for (let next = 0; next < settings.loadEvents; next += 10) {
      const count = Math.min(10, settings.loadEvents - next);
      await store.append({
        domain: 'loaded',
        root,
        expectedNext: next,
        events: book(count),
        snapshot:
          count === 10
            ? { sequence: next + 10, state: { typeUrl: 'bench/State', value: payload } }
            : undefined,
      });
    }
  }
  const load = await closedLoop(() => store.load({ domain: 'loaded', root: pick(loaded) }));
  return { appendOne, appendHundred, load };
};

const main = async (): Promise<void> => {
  const { chosen, skipped } = subjects();
  console.log('store benchmark');
  console.log(
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}; better-sqlite3 ` +
      `${packageVersion('better-sqlite3')}, pg ${packageVersion('pg')}, mongodb ${packageVersion('mongodb')}`,
  );
  console.log(
    `settings: BENCH_DURATION_S=${settings.durationS} BENCH_WARMUP_S=${settings.warmupS} ` +
      `BENCH_CONCURRENCY=${settings.concurrency} BENCH_AGGREGATES=${settings.aggregates} ` +
      `BENCH_LOAD_EVENTS=${settings.loadEvents} BENCH_STORES=${settings.stores.join(',')}`,
  );
  for (const reason of skipped) console.log(`skipped: ${reason}`);

  const rows: [string, Record<string, Measured>, string][] = [];
  for (const subject of chosen) {
    cleanups.push(subject.cleanup);
    const store = await subject.open();
    try {
      console.log(`measuring ${subject.name} at ${store.location}…`);
      rows.push([subject.name, await measure(store), store.location]);
    } finally {
      await store.close();
    }
  }

  const columns: [string, string, (m: Record<string, Measured>) => string][] = [
    ['appends/s, 1 event/book', 'appendOne', (m) => fmtRate(m.appendOne!.callsPerS)],
    ['appends/s, 100 events/book', 'appendHundred', (m) => fmtRate(m.appendHundred!.callsPerS)],
    ['  (events/s)', 'appendHundred', (m) => fmtRate(m.appendHundred!.callsPerS * 100)],
    [`loads/s (${settings.loadEvents} events, snapshots)`, 'load', (m) => fmtRate(m.load!.callsPerS)],
  ];
  const width = 34;
  console.log(`\n${pad('', width)}${rows.map(([name]) => padLeft(name, 26)).join('')}`);
  for (const [title, key, format] of columns) {
    console.log(`${pad(title, width)}${rows.map(([, m]) => padLeft(format(m), 26)).join('')}`);
    if (title.startsWith('  ')) continue;
    const latency = rows.map(([, m]) => padLeft(`p50 ${fmtMs(m[key]!.p50)} p99 ${fmtMs(m[key]!.p99)}`, 26));
    console.log(`${pad('', width)}${latency.join('')}`);
  }
};

const cleanup = async (): Promise<void> => {
  for (const clean of cleanups.splice(0)) await clean().catch((err: unknown) => console.error(err));
};

await runBenchmark(main, cleanup);
