// `npm run bench -- replay`: `evented rebuild accounts` — every stored event replayed into the sample projector
// (templates/typescript/src/projector.ts, its own process) by `evented serve` (its own process), driven by the
// CLI as a user drives it. Prints events/s beside a baseline measured in the same run (the same log read
// straight from the store, nothing delivered: what the store alone can give), and the runtime's memory before
// and during the replay, which must not grow with the size of the store (the log is streamed, never loaded);
// then the same rebuild into a projector that only decodes and acknowledges (bench/lib/null-projector.ts):
// evented's own ceiling, apart from the sample read model's cost.
// Each is measured on two logs of the same events: "books", each account's events appended as one book (pages
// are long runs of one aggregate), and "interleaved", as commands write it (one event per book, the accounts
// interleaved: a page holds one event of each of many aggregates).
// Settings: BENCH_EVENTS (1,000,000), BENCH_AGGREGATES (100,000), BENCH_LAYOUTS (books,interleaved),
// BENCH_KEEP=1 keeps the folders.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSqliteEventStore } from '../runtime/store/sqlite/index.js';
import { seedAccounts, seedInterleaved } from './lib/seed.js';
import { peakRssKiB, rssKiB } from './lib/proc-stats.js';
import { runBenchmark, startProcess, type BenchProcess } from './lib/processes.js';
import { fmtMiB, fmtRate, pad, padLeft } from './lib/stats.js';
import { loadAverage, numberEnv } from './lib/settings.js';
import { writeBenchProject } from './lib/project-file.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
type Layout = 'books' | 'interleaved';
const LAYOUTS: Record<Layout, string> = {
  books: 'each account’s events appended as one book (pages are long runs of one aggregate)',
  interleaved: 'as commands write it: one event per book, the accounts interleaved',
};
const settings = {
  events: numberEnv('BENCH_EVENTS', 1_000_000),
  aggregates: numberEnv('BENCH_AGGREGATES', 100_000),
  /** Which logs: "books" (one book per account), "interleaved" (one event per book, as commands write it). */
  layouts: (process.env.BENCH_LAYOUTS ?? 'books,interleaved').split(',').map((s) => s.trim()) as Layout[],
  keep: process.env.BENCH_KEEP === '1',
  /** A folder: the runtime and the projector write CPU profiles there (--cpu-prof). */
  cpuProfDir: process.env.BENCH_CPU_PROF ?? '',
};
const profiling = (): string[] =>
  settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`] : [];
const TARGET_EVENTS_PER_SECOND = 50_000;

const processes: BenchProcess[] = [];
const folders: string[] = [];

/** The backlog, through the store API (synchronous=normal: seeding is not what is measured). */
const seed = async (dbPath: string, layout: Layout): Promise<number> => {
  const perAggregate = Math.max(1, Math.floor(settings.events / settings.aggregates));
  const store = createSqliteEventStore({ path: dbPath, synchronous: 'normal' });
  const backlog = { aggregates: settings.aggregates, perAggregate };
  const head = await (layout === 'books' ? seedAccounts(store, backlog) : seedInterleaved(store, backlog));
  // The projector counts as caught up with this store: its catch-up at start has nothing to do, so the
  // replay is the only thing that delivers.
  await store.saveCheckpoint('projector:accounts', head);
  await store.saveCheckpoint('projector:ack', head);
  await store.close();
  return head;
};

/** The baseline: the same log read page by page from the store, in this process, nothing delivered. */
const scanStore = async (dbPath: string): Promise<number> => {
  const store = createSqliteEventStore({ path: dbPath });
  const started = performance.now();
  let after = 0;
  let events = 0;
  for (;;) {
    const page = await store.readLog(after, 10_000);
    if (page.length === 0) break;
    events += page.length;
    after = page[page.length - 1]!.position;
  }
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return events / seconds;
};

/**
 * Waits until `evented status` shows the relay's backlog published (a runtime started on a seeded store first
 * publishes all of it) and the projector live at the store's head.
 */
const caughtUp = async (admin: string, head: number): Promise<void> => {
  for (;;) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(repoRoot, 'bin/evented.js'), 'status', '--address', admin, '--json'],
      { maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '{}' })); // status exits 1 while lagging
    const status = JSON.parse(stdout) as {
      components?: { name: string; detail: string }[];
      subscribers?: { name: string; checkpoint: number; state: string }[];
    };
    const relay = status.components?.find((c) => c.name === 'relay');
    const published = Number(/published up to position (\d+)/.exec(relay?.detail ?? '')?.[1] ?? 0);
    const live = (name: string): boolean =>
      status.subscribers?.some((s) => s.name === name && s.checkpoint >= head && s.state === 'live') ?? false;
    if (published >= head && live('accounts') && live('ack')) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
};

interface Measured {
  head: number;
  baseline: number;
  rate: number;
  ceiling: number;
  rssBefore: number | undefined;
  rssPeak: number;
}

/** One log: seeded, scanned for the baseline, then rebuilt into the sample projector and the null projector. */
const measure = async (layout: Layout): Promise<Measured> => {
  const dir = mkdtempSync(join(tmpdir(), 'evented-bench-replay-'));
  folders.push(dir);
  const dbPath = join(dir, '.evented', 'events.db');
  console.log(`— log "${layout}": ${LAYOUTS[layout]}`);
  const seeding = performance.now();
  const head = await seed(dbPath, layout);
  console.log(
    `  seeded ${head.toLocaleString('en-US')} events in ${((performance.now() - seeding) / 1000).toFixed(1)} s`,
  );

  const baseline = await scanStore(dbPath);
  console.log(`  baseline, the store's log read alone (10,000 per page): ${fmtRate(baseline)} events`);

  const projector = startProcess(
    'projector',
    process.execPath,
    [...profiling(), '--import', 'tsx', 'src/projector.ts', '--port', '0'],
    {
      cwd: join(repoRoot, 'templates/typescript'),
      env: { READ_MODEL: join(dir, 'read-model', 'accounts.json') },
    },
  );
  processes.push(projector);
  const [, projectorAddress] = await projector.waitFor(/listening on (\S+)/);
  const ack = startProcess(
    'null projector',
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'bench/lib/null-projector.ts')],
    {},
  );
  processes.push(ack);
  const [, ackAddress] = await ack.waitFor(/listening on (\S+)/);
  writeBenchProject(dir, [
    'log: { level: warn }',
    'domains: { account: { businessLogic: "127.0.0.1:1" } }',
    'projectors:',
    `  accounts: { address: "${projectorAddress}", domains: [account] }`,
    `  ack: { address: "${ackAddress}", domains: [account] }`,
  ]);
  const serve = startProcess(
    'evented serve',
    process.execPath,
    [...profiling(), join(repoRoot, 'bin/evented.js'), 'serve', dir],
    {
      cwd: dir,
    },
  );
  processes.push(serve);
  const [, admin] = await serve.waitFor(/admin on (\S+);/);
  // A rebuild of a running system: the relay has published the backlog and the projector is live, caught up
  // (a runtime started on a seeded store first publishes all of it; the rebuild is measured after that).
  const catchingUp = performance.now();
  await caughtUp(admin!, head);
  console.log(
    `  relay and live delivery caught up in ${((performance.now() - catchingUp) / 1000).toFixed(1)} s; then:`,
  );
  // Settle, then the runtime's memory before the replay.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rssBefore = rssKiB(serve.pid);
  let rssPeak = rssBefore ?? 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssKiB(serve.pid) ?? 0);
  }, 100);
  const rate = await rebuild(admin!, 'accounts', head);
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, peakRssKiB(serve.pid) ?? 0);
  console.log(
    `  evented rebuild accounts (the sample projector): ${fmtRate(rate)} events (CLI start to "done", Reset included)`,
  );
  console.log(
    `  runtime RSS: ${fmtMiB(rssBefore)} before, ${fmtMiB(rssPeak)} at most during the replay ` +
      `(store on disk: ${head.toLocaleString('en-US')} events)`,
  );
  const ceiling = await rebuild(admin!, 'ack', head);
  console.log(
    `  evented rebuild ack (a projector that only decodes and acknowledges): ${fmtRate(ceiling)} events, ` +
      `evented's own ceiling; the sample projector's JSON read model takes the rest`,
  );
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  return { head, baseline, rate, ceiling, rssBefore, rssPeak };
};

const main = async (): Promise<void> => {
  console.log(
    `replay: ${settings.events.toLocaleString('en-US')} events of ${settings.aggregates.toLocaleString('en-US')} ` +
      `aggregates into the sample projector, on the logs: ${settings.layouts.join(', ')}`,
  );
  const unknown = settings.layouts.filter((layout) => !(layout in LAYOUTS));
  if (unknown.length > 0)
    throw new Error(`BENCH_LAYOUTS: unknown log ${unknown.join(', ')} (books, interleaved)`);
  const results: [Layout, Measured][] = [];
  for (const layout of settings.layouts) {
    console.log(`load average before: ${loadAverage()}`);
    results.push([layout, await measure(layout)]);
    console.log(`load average after: ${loadAverage()}\n`);
  }
  const row = (cells: string[]): void =>
    console.log(
      `  ${pad(cells[0]!, 13)}${cells
        .slice(1)
        .map((c) => padLeft(c, 20))
        .join('')}`,
    );
  row(['log', 'store scan', 'rebuild ack', 'rebuild accounts', 'RSS before → peak']);
  for (const [layout, m] of results) {
    row([
      layout,
      fmtRate(m.baseline),
      fmtRate(m.ceiling),
      fmtRate(m.rate),
      `${fmtMiB(m.rssBefore)} → ${fmtMiB(m.rssPeak)}`,
    ]);
  }
  for (const [layout, m] of results) {
    console.log(
      `${layout}: ratio to the bare store scan ${(m.rate / m.baseline).toFixed(2)}; target ≥ ` +
        `${fmtRate(TARGET_EVENTS_PER_SECOND)} into the sample projector: ${m.rate >= TARGET_EVENTS_PER_SECOND ? 'met' : 'NOT met'}`,
    );
  }
};

/** `evented rebuild NAME` as a user runs it; returns events/s from CLI start to "done". */
const rebuild = async (admin: string, projector: string, head: number): Promise<number> => {
  const started = performance.now();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(repoRoot, 'bin/evented.js'), 'rebuild', projector, '--address', admin, '--json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (performance.now() - started) / 1000;
  const last = JSON.parse(stdout.trim().split('\n').pop()!) as { events: number; done: boolean };
  if (!last.done || last.events !== head) {
    throw new Error(`the rebuild ended at ${last.events} of ${head} events: ${stdout.slice(-500)}`);
  }
  return last.events / seconds;
};

await runBenchmark(main, async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  for (const folder of folders.splice(0)) {
    if (settings.keep) console.log(`kept ${folder}`);
    else rmSync(folder, { recursive: true, force: true });
  }
});
