import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CLAIM_TTL_MS } from '../../runtime/config/schema.js';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { DEFAULT_PARTITIONS, partitionOf } from '../../runtime/bus/partition.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import { sendAll, unaryCaller, type UnaryCaller } from './load.js';
import { startProcess, type BenchProcess } from './processes.js';
import { fmtMs, percentile } from './stats.js';
import { balanced, describeHeld, openHolders, type Holders } from './scale-holders.js';
import {
  checkRunning,
  connectStore,
  killHard,
  newExchange,
  newProject,
  newSchema,
  scaleSettings,
  startServe,
  stopAll,
  stopping,
  subscribersToDelete,
  watch,
  type ScalePart,
  type Served,
} from './scale-setup.js';
import { commandBook } from './command-book.js';

/**
 * The failover part: BENCH_FAILOVER_PROCESSES (3) `evented serve` processes holding every role, commands at
 * BENCH_RATE (500/s) spread over them (a call to a process that is gone is sent again to another, as a client
 * behind a balancer would), a projector that notes when each event reached it (timing-projector.ts). After a
 * steady phase (the baseline, in the same run), `kill -9` of the process holding the relay lease, then (once
 * the survivors hold the partitions in balance) of the process holding most partitions of the projector, both
 * read from the store (scale-holders.ts). For each kill: the time until delivery resumed (the first event
 * committed after the kill reaching the projector), until it resumed for the partitions the victim held (the
 * first such event of one of them: they wait for the victim's claims to expire), until the survivors held them
 * (claims polled), and the p99 commit → projector of the events committed in the BENCH_STEADY_S after the kill.
 * At the end: every stored event reached the projector (none missing), and how many were handed over more than
 * once. The relay holder holds partitions too, so its kill also waits for a claim takeover.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const HANDLE_PATH = '/evented.BusinessCoordinator/Handle';
const PROJECTOR = 'failover';
const GROUP = `projector:${PROJECTOR}`;
/** delivery.claimTtlMs when evented.yaml does not set it. */
/** Commands in flight at most: past it, a command due is not sent (counted), so a slow machine is not flooded. */
const MAX_IN_FLIGHT = 128;
/** Delivery resumed, for every partition, within this after a kill (issue 12: under 5 s). */
const TARGET_MS = 5000;

/** Sends commands at `rate` per second to the live processes in turn until stopped. */
const steadyLoad = (
  targets: () => readonly UnaryCaller[],
  requests: () => Buffer,
  rate: number,
): {
  stop(): Promise<{ sent: number; acknowledged: number; failedOver: number; lost: number; skipped: number }>;
} => {
  let sent = 0;
  let acknowledged = 0;
  let failedOver = 0;
  let lost = 0;
  let skipped = 0;
  let next = 0;
  const inFlight = new Set<Promise<void>>();
  const send = async (request: Buffer): Promise<void> => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const live = targets();
      try {
        await live[next++ % live.length]!.call(request);
        acknowledged += 1;
        return;
      } catch {
        failedOver += 1;
      }
    }
    lost += 1;
  };
  const started = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (sent + skipped < due && !stopping.signal.aborted) {
      if (inFlight.size >= MAX_IN_FLIGHT) {
        skipped += 1;
        continue;
      }
      sent += 1;
      const call = send(requests());
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    }
  }, 5);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return { sent, acknowledged, failedOver, lost, skipped };
    },
  };
};

interface Delivery {
  key: string;
  partition: number;
  created: number;
  answered: number;
}

const readDeliveries = (file: string): Delivery[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [root, sequence, created, answered] = line.split(' ');
      return {
        key: `${root}#${sequence}`,
        partition: partitionOf('account', Buffer.from(root!, 'hex'), DEFAULT_PARTITIONS),
        created: Number(created),
        answered: Number(answered),
      };
    });

interface Kill {
  what: string;
  process: string;
  at: number;
  /** The projector's partitions it held when killed. */
  partitions: number[];
  /** From the kill until the live processes held all of them (claims read every 100 ms). */
  takenOverMs?: number;
}

/**
 * For a kill: the time until an event committed after it reached the projector (any partition: the relay), until
 * one of the victim's partitions delivered such an event again and until every one of them did (Infinity when one
 * never did), and the p99 commit → projector of the events committed in the window after it.
 */
const afterKill = (
  first: readonly Delivery[],
  kill: Kill,
  windowMs: number,
): { resumedMs: number; firstPartitionMs: number; allPartitionsMs: number; p99: number; events: number } => {
  const after = first.filter((d) => d.created >= kill.at);
  const earliest = (ds: readonly Delivery[]): number =>
    ds.reduce((min, d) => Math.min(min, d.answered), Number.POSITIVE_INFINITY) - kill.at;
  const perPartition = kill.partitions.map((partition) =>
    earliest(after.filter((d) => d.partition === partition)),
  );
  const inWindow = after.filter((d) => d.created < kill.at + windowMs).map((d) => d.answered - d.created);
  return {
    resumedMs: earliest(after),
    firstPartitionMs: Math.min(...perPartition),
    allPartitionsMs: Math.max(...perPartition),
    p99: percentile(Float64Array.from(inWindow).sort(), 99),
    events: inWindow.length,
  };
};

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (up to `timeoutMs`) until the live processes hold the projector's partitions in balance. */
const awaitBalance = async (
  holders: Holders,
  live: readonly Served[],
  timeoutMs: number,
): Promise<{ held: Map<Served, number[]>; ok: boolean }> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    checkRunning();
    const held = await holders.partitions(GROUP, live);
    if (balanced(held, DEFAULT_PARTITIONS)) return { held, ok: true };
    if (Date.now() >= until) return { held, ok: false };
    await pause(100);
  }
};

/** Polls the claims until none of `partitions` is left unheld by the live processes: ms since `at`, or undefined. */
const awaitTakeover = async (
  holders: Holders,
  live: readonly Served[],
  partitions: readonly number[],
  at: number,
  timeoutMs: number,
): Promise<number | undefined> => {
  while (Date.now() < at + timeoutMs) {
    checkRunning();
    const held = new Set([...(await holders.partitions(GROUP, live)).values()].flat());
    if (partitions.every((partition) => held.has(partition))) return Date.now() - at;
    await pause(100);
  }
  return undefined;
};

/**
 * One failover run with claims lasting `claimTtlMs` (undefined: the default, DEFAULT_CLAIM_TTL_MS), its own
 * schema, exchange and processes; answers its lines for the summary.
 */
const failoverWith = async (claimTtlMs: number | undefined): Promise<string[]> => {
  const { rate, steadyS, failoverProcesses, accounts } = scaleSettings;
  const ttl =
    claimTtlMs === undefined
      ? `claimTtlMs ${DEFAULT_CLAIM_TTL_MS} (the default)`
      : `claimTtlMs ${claimTtlMs}`;
  const schema = newSchema('failover');
  const exchange = newExchange('failover');
  subscribersToDelete.push(GROUP);
  const out = join(tmpdir(), `evented-bench-failover-${randomUUID()}.txt`);
  const projector = watch(
    startProcess(
      'timing projector',
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'bench/lib/timing-projector.ts')],
      {
        cwd: repoRoot,
        env: { OUT: out },
      },
    ),
  );
  const logic = watch(
    startProcess(
      'business logic',
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        join(repoRoot, 'bench/lib/logic-probe.ts'),
        'src/business-logic.ts',
        '--port',
        '0',
      ],
      { cwd: join(repoRoot, 'templates/typescript'), env: { LOGIC_PROBE: '1' } },
    ),
  );
  const [, projectorAddress] = await projector.waitFor(/listening on (\S+)/);
  const [, logicAddress] = await logic.waitFor(/listening on (\S+)/);
  const dir = newProject(
    schema,
    [
      'domains:',
      `  account: { businessLogic: "${logicAddress}" }`,
      'projectors:',
      `  ${PROJECTOR}: { address: "${projectorAddress}", domains: [account] }`,
      ...(claimTtlMs === undefined ? [] : [`delivery: { claimTtlMs: ${claimTtlMs} }`]),
    ],
    exchange,
  );
  const processes = await Promise.all(
    Array.from({ length: failoverProcesses }, (_, i) => startServe(`runtime ${i + 1}`, dir)),
  );
  const holders = await openHolders(schema);
  const callers = new Map<BenchProcess, UnaryCaller>(
    processes.map((served) => [
      served.process,
      unaryCaller({ address: served.servers.commands!, path: HANDLE_PATH }, 5000),
    ]),
  );
  const live = new Set(processes);
  const targets = (): UnaryCaller[] => [...live].map((served) => callers.get(served.process)!);
  console.log(
    `--- ${ttl}: ${failoverProcesses} × evented serve (every role), schema ${schema}; ` +
      `commands at ${rate}/s over ${accounts} aggregates; ${steadyS} s before and after each kill`,
  );
  const start = await awaitBalance(holders, processes, 30_000);
  console.log(
    `partitions of projector ${PROJECTOR} (${DEFAULT_PARTITIONS}): ${describeHeld(start.held)}` +
      `${start.ok ? '' : ' (not balanced after 30 s)'}`,
  );

  const roots = Array.from({ length: accounts }, () => uuidToBytes(randomUUID())!);
  await sendAll(
    callers.get(processes[0]!.process)!,
    roots.map((root, i) => commandBook(root, { type: 'OpenAccount', owner: `bench-owner-${i}` })),
    32,
    stopping.signal,
  );
  const deposits = roots.map((root) => commandBook(root, { type: 'Deposit', amount: 100 }));
  const load = steadyLoad(targets, () => deposits[Math.floor(Math.random() * deposits.length)]!, rate);

  const steadyFrom = Date.now();
  await pause(steadyS * 1000);
  checkRunning();
  const kills: Kill[] = [];
  const notes: string[] = [];
  for (const what of ['the relay holder', 'the process holding most partitions'] as const) {
    const before = await awaitBalance(holders, [...live], 30_000);
    const victim =
      what === 'the relay holder'
        ? await holders.relay([...live])
        : [...before.held].sort(([, a], [, b]) => b.length - a.length)[0]?.[0];
    if (victim === undefined || live.size < 2) {
      const reason = victim === undefined ? 'no process holds the relay lease' : 'only one process left';
      notes.push(`kill -9 of ${what}: not measured (${reason})`);
      continue;
    }
    const partitions = before.held.get(victim) ?? [];
    const at = Date.now();
    live.delete(victim);
    await killHard(victim.process);
    const kill: Kill = { what, process: victim.process.name, at, partitions };
    kills.push(kill);
    console.log(
      `kill -9 of ${what}: ${victim.process.name}, holding ${partitions.length} partitions ` +
        `(${describeHeld(before.held)}${before.ok ? '' : ', not balanced'})`,
    );
    kill.takenOverMs = await awaitTakeover(holders, [...live], partitions, at, 30_000);
    // The window after the kill, and a second more so that delivery resumed well before the load stops.
    await pause(Math.max(at + steadyS * 1000, Date.now() + 1000) - Date.now());
    checkRunning();
  }
  const steadyUntil = kills[0]?.at ?? Date.now();
  const sent = await load.stop();

  // Every stored event at the projector: waited for (up to 30 s), then the projector stopped and its notes read.
  const client = await connectStore();
  let stored: Set<string>;
  try {
    const { rows } = await client.query<{ root: Buffer; sequence: string }>(
      `SELECT root, sequence FROM ${schema}.events WHERE domain = 'account'`,
    );
    stored = new Set(rows.map((row) => `${row.root.toString('hex')}#${Number(row.sequence)}`));
  } finally {
    await client.end();
  }
  const settleUntil = Date.now() + 30_000;
  const progress = (): number => Number([...projector.output().matchAll(/progress (\d+)/g)].pop()?.[1] ?? 0);
  while (Date.now() < settleUntil && progress() < stored.size) await pause(200);
  await holders.close();
  await stopAll([...[...live].map((served) => served.process), projector, logic]);
  for (const caller of callers.values()) caller.close();
  const deliveries = readDeliveries(out);
  rmSync(out, { force: true });
  const first = new Map<string, Delivery>();
  for (const delivery of deliveries) if (!first.has(delivery.key)) first.set(delivery.key, delivery);
  const firsts = [...first.values()];
  const missing = [...stored].filter((key) => !first.has(key)).length;
  const again = deliveries.length - first.size;

  const steady = firsts
    .filter((d) => d.created >= steadyFrom && d.created < steadyUntil)
    .map((d) => d.answered - d.created);
  const baselineP99 = percentile(Float64Array.from(steady).sort(), 99);
  console.log(
    `commands: ${sent.sent} sent, ${sent.acknowledged} acknowledged, ${sent.failedOver} sent again to another process, ${sent.lost} not acknowledged, ${sent.skipped} not sent (${MAX_IN_FLIGHT} already in flight: the machine could not keep up with ${rate}/s)`,
  );
  console.log(
    `before any kill (the baseline): p99 commit → projector ${fmtMs(baselineP99)} over ${steady.length} events`,
  );
  const lines = notes.map((note) => `failover (${ttl}), ${note}`);
  for (const note of notes) console.log(note);
  for (const kill of kills) {
    const { resumedMs, firstPartitionMs, allPartitionsMs, p99, events } = afterKill(
      firsts,
      kill,
      steadyS * 1000,
    );
    const takenOver = kill.takenOverMs === undefined ? 'not within 30 s' : fmtMs(kill.takenOverMs);
    const verdict = Math.max(resumedMs, allPartitionsMs) < TARGET_MS ? 'PASS' : 'MISS';
    const seconds = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'never');
    const line =
      `${verdict} kill -9 of ${kill.what} (${kill.process}, ${kill.partitions.length} partitions): delivery resumed ` +
      `after ${seconds(resumedMs)}, for all its partitions after ${seconds(allPartitionsMs)} (the first after ` +
      `${seconds(firstPartitionMs)}; its claims all taken over after ${takenOver}; target < 5 s); p99 commit → ` +
      `projector ${fmtMs(p99)} over the ${events} events of the ${steadyS} s after it`;
    console.log(line);
    lines.push(`failover (${ttl}), ${line}`);
  }
  const check =
    `${missing === 0 ? 'delivery check ok' : 'delivery check FAILED'}: ${stored.size} stored events, ` +
    `${missing} never reached the projector, ${again} handed over more than once`;
  console.log(check);
  if (missing > 0) process.exitCode = 1;
  return [...lines, `failover (${ttl}), baseline p99 ${fmtMs(baselineP99)}; ${check}`];
};

/**
 * The failover part: one run per claim lifetime of BENCH_CLAIM_TTLS_MS (default: the default lifetime only; e.g.
 * `3000,2000` prints the figures at the default beside those of a shorter lifetime (the partition takeover waits for
 * the claims of the dead process to expire, so it cannot be much shorter than the lifetime).
 */
export const failover: ScalePart = async () => {
  const lines: string[] = [];
  for (const ttl of scaleSettings.claimTtlsMs) {
    lines.push(...(await failoverWith(ttl === DEFAULT_CLAIM_TTL_MS ? undefined : ttl)));
  }
  return lines;
};
