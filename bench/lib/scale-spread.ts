import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresEventStore } from '../../runtime/store/postgres/index.js';
import { seedAccounts } from './seed.js';
import { startProcess, type BenchProcess } from './processes.js';
import { fmtRate, padLeft } from './stats.js';
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
 * Each setting has a projector of its own (its own checkpoint, progress and queue) on the one backlog, and is
 * measured over at most BENCH_DRAIN_TIMEOUT_S: distinct events handled per second (from the projector's own
 * count, so an event handed over twice counts once), and how many were handed over more than once.
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
}

/** One setting: `count` coordinator processes drain the backlog into a fresh projector. */
const drain = async (schema: string, exchange: string, count: number, total: number): Promise<Row> => {
  const name = `spread${count}`;
  subscribersToDelete.push(`projector:${name}`);
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
  const started = Date.now();
  const coordinators = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startServe(`coordinator ${i + 1} of ${count}`, dir, 'projectors'),
    ),
  );
  const deadline = started + scaleSettings.drainTimeoutS * 1000;
  let progress = progressOf(projector.process);
  while (progress.distinct < total && Date.now() < deadline) {
    checkRunning();
    await new Promise((resolve) => setTimeout(resolve, 100));
    progress = progressOf(projector.process);
  }
  const seconds = (Date.now() - started) / 1000;
  await stopAll([...coordinators.map((c) => c.process), projector.process]);
  return {
    processes: count,
    distinct: progress.distinct,
    seconds,
    rate: progress.distinct / seconds,
    duplicates: progress.events - progress.distinct,
    drained: progress.distinct >= total,
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
      `in ${((Date.now() - seeding) / 1000).toFixed(1)} s; projector: ${callMs} ms per call, one book per call`,
  );
  const rows: Row[] = [];
  for (const count of coordinators) {
    const row = await drain(schema, exchange, count, total);
    rows.push(row);
    console.log(
      `${count} process${count > 1 ? 'es' : ''}: ${row.distinct.toLocaleString('en-US')} distinct events in ${row.seconds.toFixed(1)} s` +
        `${row.drained ? ' (drained)' : ` (not drained within BENCH_DRAIN_TIMEOUT_S=${scaleSettings.drainTimeoutS})`}, ` +
        `${fmtRate(row.rate)}, ${row.duplicates.toLocaleString('en-US')} handed over again`,
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
