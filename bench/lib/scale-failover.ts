import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { credentials, Metadata } from '@grpc/grpc-js';
import { AdminClient, CommandBook, type RuntimeStatus } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import { encodeCommand } from '../../templates/typescript/src/codec.js';
import type { AccountCommand } from '../../templates/typescript/src/domain.js';
import { sendAll, unaryCaller, type UnaryCaller } from './load.js';
import { startProcess, type BenchProcess } from './processes.js';
import { fmtMs, percentile } from './stats.js';
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

/**
 * The failover part: BENCH_FAILOVER_PROCESSES (3) `evented serve` processes holding every role, commands at
 * BENCH_RATE (500/s) spread over them (a call to a process that is gone is sent again to another, as a client
 * behind a balancer would), a projector that notes when each event reached it (timing-projector.ts). After a
 * steady phase (the baseline, in the same run), `kill -9` of the process holding the relay (the first whose
 * status says its relay publishes), then of a process holding partitions of the projector. For each kill: the
 * time until delivery resumed (from the kill to the first event committed after it reaching the projector) and
 * the p99 commit → projector of the events committed in the BENCH_STEADY_S after it. At the end: every stored
 * event reached the projector (none missing), and how many were handed over more than once.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const HANDLE_PATH = '/evented.BusinessCoordinator/Handle';
const PROJECTOR = 'failover';
/** Commands in flight at most: past it, a command due is not sent (counted), so a slow machine is not flooded. */
const MAX_IN_FLIGHT = 128;

const commandBook = (root: Uint8Array, command: AccountCommand): Buffer =>
  Buffer.from(
    CommandBook.encode({
      cover: { domain: 'account', root: { value: root } },
      pages: [{ sequence: 0, synchronous: false, command: encodeCommand(command) }],
    }).finish(),
  );

const statusOf = (admin: string): Promise<RuntimeStatus> =>
  new Promise((resolve, reject) => {
    const client = new AdminClient(admin, credentials.createInsecure());
    client.status({}, new Metadata(), { deadline: Date.now() + 15_000 }, (err, status) => {
      client.close();
      if (err) reject(err);
      else resolve(status);
    });
  });

/**
 * The process whose relay publishes: its status shows the relay ok and not standing by. (While every process
 * publishes, the first.)
 */
const relayHolder = async (processes: readonly Served[]): Promise<Served | undefined> => {
  for (const served of processes) {
    const relay = (await statusOf(served.servers.admin!)).components.find((c) => c.name === 'relay');
    if (relay?.state === 'ok' && !/standby|standing by|waiting/i.test(relay.detail)) return served;
  }
  return undefined;
};

/**
 * The process holding the most partitions of the projector, as its status reports its claims; undefined while
 * no process reports partition claims (a build without partitioned subscribers).
 */
const partitionHolder = async (processes: readonly Served[]): Promise<Served | undefined> => {
  let best: { served: Served; held: number } | undefined;
  for (const served of processes) {
    const status = (await statusOf(served.servers.admin!)) as RuntimeStatus & { partitions?: unknown[] };
    const held = Array.isArray(status.partitions) ? status.partitions.length : 0;
    if (held > 0 && (best === undefined || held > best.held)) best = { served, held };
  }
  return best?.served;
};

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
  created: number;
  answered: number;
}

const readDeliveries = (file: string): Delivery[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [root, sequence, created, answered] = line.split(' ');
      return { key: `${root}#${sequence}`, created: Number(created), answered: Number(answered) };
    });

/** For a kill at `at`: time until an event committed after it reached the projector; p99 over the window. */
const afterKill = (
  first: readonly Delivery[],
  at: number,
  windowMs: number,
): { resumedMs: number; p99: number } => {
  const after = first.filter((d) => d.created >= at);
  const resumed = Math.min(...after.map((d) => d.answered));
  const inWindow = after.filter((d) => d.created < at + windowMs).map((d) => d.answered - d.created);
  return { resumedMs: resumed - at, p99: percentile(Float64Array.from(inWindow).sort(), 99) };
};

export const failover: ScalePart = async () => {
  const { rate, steadyS, failoverProcesses, accounts } = scaleSettings;
  const schema = newSchema('failover');
  const exchange = newExchange('failover');
  subscribersToDelete.push(`projector:${PROJECTOR}`);
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
    ],
    exchange,
  );
  const processes = await Promise.all(
    Array.from({ length: failoverProcesses }, (_, i) => startServe(`runtime ${i + 1}`, dir)),
  );
  const callers = new Map<BenchProcess, UnaryCaller>(
    processes.map((served) => [
      served.process,
      unaryCaller({ address: served.servers.commands!, path: HANDLE_PATH }, 5000),
    ]),
  );
  const live = new Set(processes);
  const targets = (): UnaryCaller[] => [...live].map((served) => callers.get(served.process)!);
  console.log(
    `${failoverProcesses} × evented serve (every role), schema ${schema}, exchange ${exchange}; ` +
      `commands at ${rate}/s over ${accounts} aggregates; ${steadyS} s before and after each kill`,
  );

  // Asked before any load (a loaded machine answers status slowly): who publishes does not change unasked.
  const asked = Date.now();
  const publishing = await relayHolder(processes);
  const holding = await partitionHolder(processes.filter((served) => served !== publishing));
  console.log(
    `relay: ${publishing?.process.name ?? 'none'} publishes; most partitions: ${holding?.process.name ?? 'no process reports partition claims'} (asked in ${Date.now() - asked} ms)`,
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
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  const steadyFrom = Date.now();
  await pause(steadyS * 1000);
  checkRunning();
  const kills: { what: string; at?: number; process?: string; reason?: string }[] = [];
  for (const [what, find, missing] of [
    ['the relay holder', () => Promise.resolve(publishing), 'no process reports an active relay'],
    [
      'a partition holder',
      () => Promise.resolve(holding),
      'needs partitions: not measured (no process reports partition claims)',
    ],
  ] as const) {
    const victim = await find();
    if (victim === undefined || live.size < 2) {
      kills.push({ what, reason: victim === undefined ? missing : 'only one process left' });
      continue;
    }
    const at = Date.now();
    live.delete(victim);
    await killHard(victim.process);
    kills.push({ what, at, process: victim.process.name });
    await pause(steadyS * 1000);
    checkRunning();
  }
  const steadyUntil = kills.find((kill) => kill.at !== undefined)?.at ?? Date.now();
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
  while (Date.now() < settleUntil && live.size > 0) {
    const status = await statusOf([...live][0]!.servers.admin!);
    const subscriber = status.subscribers.find((s) => s.name === PROJECTOR);
    if (subscriber && subscriber.lag === 0) break;
    await pause(200);
  }
  await stopAll([...[...live].map((served) => served.process), projector, logic]);
  for (const caller of callers.values()) caller.close();
  const deliveries = readDeliveries(out);
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
  const lines: string[] = [];
  for (const kill of kills) {
    if (kill.at === undefined) {
      console.log(`kill -9 of ${kill.what}: ${kill.reason}`);
      lines.push(`failover, kill -9 of ${kill.what}: ${kill.reason}`);
      continue;
    }
    const { resumedMs, p99 } = afterKill(firsts, kill.at, steadyS * 1000);
    const line =
      `kill -9 of ${kill.what} (${kill.process}): delivery resumed after ${fmtMs(resumedMs)} ` +
      `(target < 5 s), p99 commit → projector ${fmtMs(p99)} over the ${steadyS} s after it`;
    console.log(line);
    lines.push(`failover, ${line}`);
  }
  const check =
    `${missing === 0 ? 'delivery check ok' : 'delivery check FAILED'}: ${stored.size} stored events, ` +
    `${missing} never reached the projector, ${again} handed over more than once`;
  console.log(check);
  if (missing > 0) process.exitCode = 1;
  return [...lines, `failover, baseline p99 ${fmtMs(baselineP99)}; ${check}`];
};
