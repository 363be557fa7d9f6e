import { randomUUID } from 'node:crypto';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import { runClosedLoop, sendAll, unaryCaller, type UnaryCaller } from './load.js';
import { cpuSeconds, machineBusySeconds } from './proc-stats.js';
import type { BenchProcess } from './processes.js';
import { fmtMs, fmtRate, padLeft, percentile } from './stats.js';
import {
  checkRunning,
  connectStore,
  newProject,
  newSchema,
  scaleSettings,
  startBusinessLogic,
  startServe,
  stopAll,
  stopping,
  type ScalePart,
} from './scale-setup.js';
import { commandBook } from './command-book.js';

/**
 * The command handlers part: 1 vs 2 `evented serve --role command` processes on one PostgreSQL schema, the same
 * business logic process behind both, 64 commands in flight over 1,000 aggregates (Deposits to accounts opened
 * first). The baseline is one process, measured in the same run: rounds alternate one process and two (each
 * call to the next process in turn, as a round-robin balancer would), so that both see the same machine. The
 * second process idles while one is measured. Afterwards the store is checked: every acknowledged command is
 * stored, each aggregate's sequences without a gap.
 */

const HANDLE_PATH = '/evented.BusinessCoordinator/Handle';
/** Unmeasured time at the start of every slice, so that each setting runs at its pace before counting. */
const SETTLE_MS = 500;

/** Calls each of `callers` in turn. */
const roundRobin = (callers: readonly UnaryCaller[]): UnaryCaller => {
  let next = 0;
  return {
    call: (request) => callers[next++ % callers.length]!.call(request),
    close: () => undefined,
  };
};

/** Counts what was acknowledged and what failed, for the store check. */
const counting = (caller: UnaryCaller, counts: { acknowledged: number; failed: number }): UnaryCaller => ({
  call: async (request) => {
    try {
      const response = await caller.call(request);
      counts.acknowledged += 1;
      return response;
    } catch (err) {
      counts.failed += 1;
      throw err;
    }
  },
  close: () => caller.close(),
});

interface Totals {
  completed: number;
  windowMs: number;
  latencies: number[];
  errors: Map<string, number>;
  cpu: Map<string, number>;
}

const newTotals = (): Totals => ({
  completed: 0,
  windowMs: 0,
  latencies: [],
  errors: new Map(),
  cpu: new Map(),
});

/** One measured slice of `caller`; CPU of `watched` and of the machine over its window. */
const slice = async (
  into: Totals | undefined,
  caller: UnaryCaller,
  settleMs: number,
  windowMs: number,
  nextRequest: () => Buffer,
  watched: readonly BenchProcess[],
): Promise<void> => {
  const meters: [string, () => number | undefined][] = [
    ...watched.map((p): [string, () => number | undefined] => [p.name, () => cpuSeconds(p.pid)]),
    ['machine', machineBusySeconds],
  ];
  const atStart = new Map<string, number>();
  const result = await runClosedLoop({
    caller,
    concurrency: scaleSettings.concurrency,
    warmupMs: settleMs,
    windowMs,
    nextRequest,
    signal: stopping.signal,
    onWindowStart: () => meters.forEach(([name, read]) => atStart.set(name, read() ?? Number.NaN)),
    onWindowEnd: () =>
      meters.forEach(([name, read]) =>
        into?.cpu.set(name, (into.cpu.get(name) ?? 0) + (read() ?? Number.NaN) - atStart.get(name)!),
      ),
  });
  checkRunning();
  if (into === undefined) return;
  into.completed += result.completed;
  into.windowMs += result.windowMs;
  into.latencies.push(...result.latencies);
  for (const [error, count] of result.errors) into.errors.set(error, (into.errors.get(error) ?? 0) + count);
};

interface Row {
  processes: number;
  rate: number;
  p50: number;
  p99: number;
  errors: Map<string, number>;
  cpu: string;
}

const summarise = (processes: number, totals: Totals): Row => {
  const sorted = Float64Array.from(totals.latencies).sort();
  const seconds = totals.windowMs / 1000;
  return {
    processes,
    rate: totals.completed / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: totals.errors,
    cpu: [...totals.cpu].map(([name, used]) => `${name} ${((used / seconds) * 100).toFixed(0)}%`).join(', '),
  };
};

/** Every acknowledged command stored (one event each), no aggregate with a gap or a wrong next. */
const checkStore = async (
  schema: string,
  expected: { opened: number; acknowledged: number; failed: number },
): Promise<{ ok: boolean; line: string }> => {
  const client = await connectStore();
  try {
    const events = Number((await client.query(`SELECT count(*) AS n FROM ${schema}.events`)).rows[0].n);
    const gaps = Number(
      (
        await client.query(
          `SELECT count(*) AS n FROM ${schema}.aggregates a
           WHERE a.next <> (SELECT count(*) FROM ${schema}.events e WHERE e.domain = a.domain AND e.root = a.root)
              OR a.next <> (SELECT coalesce(max(sequence), -1) + 1 FROM ${schema}.events e WHERE e.domain = a.domain AND e.root = a.root)`,
        )
      ).rows[0].n,
    );
    const least = expected.opened + expected.acknowledged;
    const ok = gaps === 0 && events >= least && events <= least + expected.failed;
    return {
      ok,
      line:
        `store check ${ok ? 'ok' : 'FAILED'}: ${events.toLocaleString('en-US')} events for ` +
        `${least.toLocaleString('en-US')} acknowledged commands${expected.failed > 0 ? ` (+ ${expected.failed} failed)` : ''}, ` +
        `${gaps === 0 ? 'no aggregate with a gap' : `${gaps} aggregates with gaps or a wrong next`}`,
    };
  } finally {
    await client.end();
  }
};

export const commandHandlers: ScalePart = async () => {
  const { concurrency, accounts, warmupS, durationS, rounds } = scaleSettings;
  const schema = newSchema('command');
  const logic = await startBusinessLogic();
  const dir = newProject(schema, ['domains:', `  account: { businessLogic: "${logic.address}" }`]);
  const first = await startServe('command handler 1', dir, 'command');
  const second = await startServe('command handler 2', dir, 'command');
  console.log(
    `2 × evented serve --role command (${first.servers.commands}, ${second.servers.commands}), schema ${schema}; ` +
      `business logic at ${logic.address}`,
  );

  const counts = { acknowledged: 0, failed: 0 };
  const callers = [first, second].map((served) =>
    counting(unaryCaller({ address: served.servers.commands!, path: HANDLE_PATH }), counts),
  );
  const roots = Array.from({ length: accounts }, () => uuidToBytes(randomUUID())!);
  await sendAll(
    callers[0]!,
    roots.map((root, index) => commandBook(root, { type: 'OpenAccount', owner: `bench-owner-${index}` })),
    concurrency,
    stopping.signal,
  );
  checkRunning();
  const opened = counts.acknowledged;
  counts.acknowledged = 0;
  const deposits = roots.map((root) => commandBook(root, { type: 'Deposit', amount: 100 }));
  const nextDeposit = (): Buffer => deposits[Math.floor(Math.random() * deposits.length)]!;

  const one = callers[0]!;
  const two = roundRobin(callers);
  const sliceMs = (durationS * 1000) / rounds;
  console.log(
    `opened ${opened} accounts; ${concurrency} in flight: ${warmupS} s warm-up each, then ${rounds} rounds of ` +
      `${(sliceMs / 1000).toFixed(1)} s on 1 process + ${(sliceMs / 1000).toFixed(1)} s on 2`,
  );
  const totals = [newTotals(), newTotals()] as const;
  const watched1 = [first.process, logic.process];
  const watched2 = [first.process, second.process, logic.process];
  await slice(undefined, one, warmupS * 1000, 0, nextDeposit, []);
  await slice(undefined, two, warmupS * 1000, 0, nextDeposit, []);
  for (let round = 0; round < rounds; round += 1) {
    await slice(totals[0], one, SETTLE_MS, sliceMs, nextDeposit, watched1);
    await slice(totals[1], two, SETTLE_MS, sliceMs, nextDeposit, watched2);
  }
  const rows = [summarise(1, totals[0]), summarise(2, totals[1])];
  for (const caller of callers) caller.close();
  await stopAll([first.process, second.process, logic.process]);
  const check = await checkStore(schema, { opened, ...counts });
  if (!check.ok) process.exitCode = 1;

  console.log(
    `${'processes'.padEnd(10)}${padLeft('commands/s', 12)}${padLeft('p50', 10)}${padLeft('p99', 10)}  cpu`,
  );
  for (const row of rows) {
    console.log(
      `${String(row.processes).padEnd(10)}${padLeft(fmtRate(row.rate), 12)}${padLeft(fmtMs(row.p50), 10)}` +
        `${padLeft(fmtMs(row.p99), 10)}  ${row.cpu}`,
    );
    for (const [error, count] of row.errors) console.log(`  errors: ${count} × ${error}`);
  }
  const ratio = rows[1]!.rate / rows[0]!.rate;
  console.log(`2 processes / 1: ${ratio.toFixed(2)}×\n${check.line}`);
  return [
    `command handlers, ${concurrency} in flight over ${accounts} aggregates on PostgreSQL: ` +
      rows
        .map(
          (row) =>
            `${row.processes} process${row.processes > 1 ? 'es' : ''} ${fmtRate(row.rate)} p99 ${fmtMs(row.p99)}`,
        )
        .join('; ') +
      ` (${ratio.toFixed(2)}×); ${check.line}`,
  ];
};
