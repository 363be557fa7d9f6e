import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresEventStore } from '../../runtime/store/postgres/index.js';
import { seedAccounts } from './seed.js';
import { startProcess, type BenchProcess } from './processes.js';
import { fmtRate, padLeft } from './stats.js';
import { cpuSeconds, machineBusySeconds } from './proc-stats.js';
import { DEFAULT_PARTITIONS } from '../../runtime/bus/partition.js';
import { balanced, describeHeld, openHolders } from './scale-holders.js';
import {
  checkRunning,
  newExchange,
  newProject,
  newSchema,
  scaleSettings,
  startServe,
  stopAll,
  subscribersToDelete,
  watch,
  type ScalePart,
} from './scale-setup.js';

/**
 * The spread part: a backlog of events already stored (200,000 over 20,000 aggregates) drained into a projector
 * whose every call takes 5 ms (bench/lib/slow-projector.ts: one book per call, calls overlap), by 1, 2 and 4
 * `evented serve --role projectors` processes started together. The baseline is one process, in the same run.
 * Each setting has a projector of its own (its own checkpoint, progress and queues) on the one backlog, with the
 * default delivery settings (16 partitions, one call in flight per process, one book per call: the same work and
 * batching in each; the events per call are printed to show it). It is measured over a fixed window of
 * BENCH_SPREAD_WINDOW_S, not a full drain (minutes at one process), that starts once the processes hold the
 * partitions in balance (the claims in the store: each ⌊P/N⌋ or one more), so that start-up and balancing are
 * left out: distinct events handled per second (from the projector's own count, so an event handed over twice
 * counts once), and how many were handed over more than once.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const TARGET = { processes: 4, ratio: 2.5 };

interface Progress {
  distinct: number;
  events: number;
  calls: number;
}

const progressOf = (projector: BenchProcess): Progress => {
  const lines = [...projector.output().matchAll(/progress (\d+) (\d+) (\d+)/g)];
  const last = lines[lines.length - 1];
  return last
    ? { distinct: Number(last[1]), events: Number(last[2]), calls: Number(last[3]) }
    : { distinct: 0, events: 0, calls: 0 };
};

const startSlowProjector = async (name: string): Promise<{ process: BenchProcess; address: string }> => {
  const child = watch(
    startProcess(name, process.execPath, ['--import', 'tsx', join(repoRoot, 'bench/lib/slow-projector.ts')], {
      cwd: repoRoot,
      env: { CALL_MS: String(scaleSettings.callMs) },
    }),
  );
  const [, address] = await child.waitFor(/listening on (\S+)/);
  return { process: child, address: address! };
};

interface Row {
  processes: number;
  distinct: number;
  seconds: number;
  rate: number;
  duplicates: number;
  drained: boolean;
  /** Events per projector call over the window: the same batching in every setting. */
  eventsPerCall: number;
  /** Partitions each process held when the window began, and the seconds from the launch until then. */
  held: string;
  balancedAfter: number;
  /** Distinct events already delivered when the window began (while the processes started and balanced). */
  before: number;
  /** CPU over the window (100% is one core): the coordinator processes together, the projector, the machine. */
  cpu: string;
}

const cpuOf = (pids: readonly number[]): number | undefined =>
  pids.reduce<number | undefined>((sum, pid) => {
    const seconds = cpuSeconds(pid);
    return sum === undefined || seconds === undefined ? undefined : sum + seconds;
  }, 0);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One setting: `count` coordinator processes drain the backlog into a fresh projector. Measured from the moment
 * the processes hold the partitions in balance (each its share, read from the claims in the store) for
 * BENCH_SPREAD_WINDOW_S, or until the backlog is drained.
 */
const drain = async (schema: string, exchange: string, count: number, total: number): Promise<Row> => {
  const name = `spread${count}`;
  const group = `projector:${name}`;
  subscribersToDelete.push(group);
  const projector = await startSlowProjector(`slow projector (${count})`);
  const dir = newProject(
    schema,
    [
      'domains:',
      '  account: { businessLogic: "127.0.0.1:1" }',
      'projectors:',
      `  ${name}: { address: "${projector.address}", domains: [account] }`,
    ],
    exchange,
  );
  const launched = Date.now();
  const coordinators = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startServe(`coordinator ${i + 1} of ${count}`, dir, 'projectors'),
    ),
  );
  const holders = await openHolders(schema);
  let held = await holders.partitions(group, coordinators);
  while (!balanced(held, DEFAULT_PARTITIONS) && Date.now() < launched + 60_000) {
    checkRunning();
    await pause(100);
    held = await holders.partitions(group, coordinators);
  }
  await holders.close();
  const balancedAfter = (Date.now() - launched) / 1000;
  const pids = coordinators.map((c) => c.process.pid);
  const cpuFrom = {
    coordinators: cpuOf(pids),
    projector: cpuOf([projector.process.pid]),
    machine: machineBusySeconds(),
  };
  const from = progressOf(projector.process);
  const started = Date.now();
  const deadline = started + scaleSettings.windowS * 1000;
  let progress = from;
  while (progress.distinct < total && Date.now() < deadline) {
    checkRunning();
    await pause(100);
    progress = progressOf(projector.process);
  }
  const seconds = (Date.now() - started) / 1000;
  const percent = (to: number | undefined, at: number | undefined): string =>
    to === undefined || at === undefined ? '?' : `${Math.round(((to - at) / seconds) * 100)}%`;
  const cpu =
    `coordinators ${percent(cpuOf(pids), cpuFrom.coordinators)}, projector ` +
    `${percent(cpuOf([projector.process.pid]), cpuFrom.projector)}, machine ${percent(machineBusySeconds(), cpuFrom.machine)}`;
  await stopAll([...coordinators.map((c) => c.process), projector.process]);
  const distinct = progress.distinct - from.distinct;
  return {
    processes: count,
    distinct,
    seconds,
    rate: distinct / seconds,
    duplicates: progress.events - progress.distinct,
    drained: progress.distinct >= total,
    eventsPerCall: (progress.events - from.events) / Math.max(1, progress.calls - from.calls),
    held: describeHeld(held),
    balancedAfter,
    before: from.distinct,
    cpu,
  };
};

export const spread: ScalePart = async () => {
  const { events, aggregates, callMs, coordinators } = scaleSettings;
  const schema = newSchema('spread');
  const exchange = newExchange('spread');
  const perAggregate = Math.max(1, Math.round(events / aggregates));
  const store = await createPostgresEventStore({ url: scaleSettings.postgresUrl, schema });
  const seeding = Date.now();
  const head = await seedAccounts(store, { aggregates, perAggregate }).finally(() => store.close());
  const total = aggregates * perAggregate;
  console.log(
    `stored ${total.toLocaleString('en-US')} events (${aggregates.toLocaleString('en-US')} aggregates × ${perAggregate}, head ${head}) ` +
      `in ${((Date.now() - seeding) / 1000).toFixed(1)} s; projector: ${callMs} ms per call, one book per call; ` +
      `each setting a fresh projector on this backlog, measured over a fixed window of BENCH_SPREAD_WINDOW_S=` +
      `${scaleSettings.windowS} s from when its processes hold the ${DEFAULT_PARTITIONS} partitions in balance (a full drain ` +
      `takes minutes at one process)`,
  );
  const rows: Row[] = [];
  for (const count of coordinators) {
    const row = await drain(schema, exchange, count, total);
    rows.push(row);
    console.log(
      `${count} process${count > 1 ? 'es' : ''}: partitions ${row.held} (balanced ${row.balancedAfter.toFixed(1)} s after the launch, ` +
        `${row.before.toLocaleString('en-US')} events delivered by then); then ${row.distinct.toLocaleString('en-US')} distinct events ` +
        `in ${row.seconds.toFixed(1)} s${row.drained ? ' (drained)' : ''}, ${fmtRate(row.rate)}, ` +
        `${row.eventsPerCall.toFixed(2)} events per call, ${row.duplicates.toLocaleString('en-US')} handed over again; cpu ${row.cpu}`,
    );
  }
  const base = rows.find((row) => row.processes === 1);
  console.log(
    `${'processes'.padEnd(10)}${padLeft('events/s', 12)}${padLeft('× one', 8)}${padLeft('again', 10)}  drained`,
  );
  for (const row of rows) {
    console.log(
      `${String(row.processes).padEnd(10)}${padLeft(fmtRate(row.rate), 12)}` +
        `${padLeft(base ? (row.rate / base.rate).toFixed(2) : '—', 8)}${padLeft(String(row.duplicates), 10)}  ${row.drained ? 'yes' : 'no'}`,
    );
  }
  const target = rows.find((row) => row.processes === TARGET.processes);
  const verdict =
    base && target
      ? `${target.rate / base.rate >= TARGET.ratio ? 'PASS' : 'MISS'}  ${TARGET.processes} processes / 1: ${(target.rate / base.rate).toFixed(2)}× (target ≥ ${TARGET.ratio}×)`
      : `n/a   the target compares ${TARGET.processes} processes with 1: set BENCH_COORDINATORS to include both`;
  console.log(verdict);
  return [
    `spread, ${total.toLocaleString('en-US')} stored events into a ${callMs} ms projector: ` +
      rows
        .map(
          (row) =>
            `${row.processes} → ${fmtRate(row.rate)}${row.drained ? '' : ' (not drained)'}, ${row.duplicates} again`,
        )
        .join('; ') +
      `; ${verdict}`,
  ];
};
