// `npm run bench -- delivery [--runs N]`: the delivery path, store → outbox relay → RabbitMQ → projector
// coordinator → the user's projector (templates/typescript/src/projector.ts, its own process), against bare
// amqplib on the same broker in the same run. Two figures, each beside its baselines:
// - drain: a backlog of events already in the store delivered to the projector, in events/s. The headline is
//   its ratio to the fair limit: bare amqplib moving the same events in the same messages (the EventBatch
//   bodies the relay publishes for this log, same bytes per message) with the same flow control (confirms with
//   the relay's publish-ahead, manual acks, the same prefetch). Context: RabbitMQ's rate with one small
//   message per event;
// - latency: at a steady rate of commands through the command handler's gRPC API, commit → projector p50/p99,
//   against the bare publish → consume latency at the same rate.
// The drain also runs with the runtime's Prometheus endpoint on (scraped every second), on a second store seeded
// the same way, in the same run: the column "metrics on" and its ratio to off (target ≥ 0.97) (BENCH_METRICS=0:
// not run). With BENCH_TRACING=1 (the default), the drain runs once more on a backlog seeded the same way by a
// runtime that exports OpenTelemetry traces (relay publish and delivery spans) to a local OTLP receiver
// (bench/lib/otlp-sink.ts): its rate beside the untraced one, and the ratio on/off against the target ≥ 0.9.
// --runs N (or BENCH_RUNS) repeats both, each on fresh processes and a fresh store, printing the machine's load
// average before and after each run, then min / median / max over the runs.
// Settings come from environment variables (printed at the start); see `settings` below.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import amqp from 'amqplib';
import type { Options } from 'amqplib';
import { encodeBatch } from '../runtime/bus/amqp/codec.js';
import { toBatches } from '../runtime/bus/batches.js';
import { DEFAULT_PREFETCH } from '../runtime/bus/validate.js';
import { SynchronousProcessingResponse } from '../runtime/protocol/gen/evented/evented.js';
import { uuidToBytes } from '../runtime/protocol/uuid.js';
import { createSqliteEventStore } from '../runtime/store/sqlite/index.js';
import { seedAccounts } from './lib/seed.js';
import { amqpDrain, amqpDrainBatches, amqpLatency, steadily } from './lib/amqp-baseline.js';
import { sendAll, unaryCaller, type UnaryCaller } from './lib/load.js';
import { cpuSeconds, machineBusySeconds, peakRssKiB } from './lib/proc-stats.js';
import { runBenchmark, startProcess, type BenchProcess } from './lib/processes.js';
import { fmtMiB, fmtMs, fmtRate, median, padLeft, percentile, spread } from './lib/stats.js';
import { intFlag, loadAverage, numberEnv, packageVersion } from './lib/settings.js';
import { wallClockMs } from './lib/wall-clock.js';
import { writeBenchProject } from './lib/project-file.js';
import { commandBook } from './lib/command-book.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const HANDLE_PATH = '/evented.BusinessCoordinator/Handle';
const PROJECTOR = 'accounts';
const SUBSCRIBER = `projector:${PROJECTOR}`;

const settings = {
  /** Which figures: "drain", "latency" or both (comma-separated). */
  phases: (process.env.BENCH_PHASES ?? 'drain,latency').split(',').map((s) => s.trim()),
  amqpUrl: process.env.EVENTED_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  /** Drain: events in the store before the runtime starts, spread over this many aggregates. */
  events: Math.round(numberEnv('BENCH_EVENTS', 200_000)),
  aggregates: Math.round(numberEnv('BENCH_AGGREGATES', 20_000)),
  /** Events per relay round (relay.batchSize), and the prefetch of evented's consumer and the fair baseline's. */
  relayBatch: Math.max(1, Math.round(numberEnv('BENCH_RELAY_BATCH', 1000))),
  prefetch: Math.max(1, Math.round(numberEnv('BENCH_PREFETCH', DEFAULT_PREFETCH))),
  /** delivery.partitions of the runtime (0: evented's default). */
  partitions: Math.max(0, Math.round(numberEnv('BENCH_PARTITIONS', 0))),
  /** Per-message drain baseline: bytes per message, messages not yet confirmed, the consumer's prefetch. */
  messageBytes: Math.round(numberEnv('BENCH_MESSAGE_BYTES', 200)),
  baselineInFlight: Math.max(1, Math.round(numberEnv('BENCH_BASELINE_IN_FLIGHT', 1000))),
  baselinePrefetch: Math.max(1, Math.round(numberEnv('BENCH_BASELINE_PREFETCH', 100))),
  /** Latency: commands per second, accounts they go to, warm-up and measured seconds. */
  rate: numberEnv('BENCH_RATE', 1000),
  accounts: Math.round(numberEnv('BENCH_ACCOUNTS', 1000)),
  warmupS: numberEnv('BENCH_WARMUP_S', 3),
  durationS: numberEnv('BENCH_DURATION_S', 15),
  /** Latency: commands in flight at most; a command due while this many wait is not sent (and counted). */
  maxInFlight: Math.max(1, Math.round(numberEnv('BENCH_MAX_IN_FLIGHT', 64))),
  /** A folder: run `evented serve` with --cpu-prof, writing the profile there. */
  cpuProfDir: process.env.BENCH_CPU_PROF ?? '',
  /** Extra node arguments for `evented serve` (space-separated), e.g. "--import ./probe.mjs". */
  serveNodeArgs: (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  keep: process.env.BENCH_KEEP === '1',
  /** A folder: each subprocess's whole output is written there. */
  logDir: process.env.BENCH_LOG_DIR ?? '',
  /** Measured runs, each on fresh processes and a fresh store (--runs N, or BENCH_RUNS). */
  runs: intFlag('--runs', Math.max(1, Math.round(numberEnv('BENCH_RUNS', 1)))),
  /** 0: no traced drain. */
  tracing: process.env.BENCH_TRACING !== '0',
  /** 0: no drain with metrics on. */
  metrics: process.env.BENCH_METRICS !== '0',
};

/** Rounds the relay publishes before the first is confirmed: runtime/relay/relay.ts's publishAhead default. */
const RELAY_PUBLISH_AHEAD = 4;
/** The target against the per-message baseline (kept as context: that baseline moves ~1,000× more messages). */
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 50;
/** Drain events/s with metrics on, against off. */
const TARGET_METRICS_RATIO = 0.97;
/** How often a runtime with metrics on is scraped (Prometheus's default is 1 min; 1 s is harsh). */
const SCRAPE_EVERY_MS = 1000;
/** Tracing on (exported over OTLP/HTTP) keeps at least this share of the untraced drain rate. */
const TARGET_TRACING_RATIO = 0.9;

/** The traced runtime's OTEL_* (set once the sink listens); the untraced ones have the SDK disabled. */
let tracedEnv: NodeJS.ProcessEnv | undefined;
const UNTRACED_ENV: NodeJS.ProcessEnv = { OTEL_SDK_DISABLED: 'true' };

const logFile = (name: string): string | undefined =>
  settings.logDir === '' ? undefined : join(settings.logDir, name);

const processes: BenchProcess[] = [];
const stopping = new AbortController();
let crashed: string | undefined;
const folders: string[] = [];
const exchanges: string[] = [];
const callers: UnaryCaller[] = [];

const watch = (child: BenchProcess): BenchProcess => {
  processes.push(child);
  void child.exited.then(({ code, signal }) => {
    if (stopping.signal.aborted || !processes.includes(child)) return;
    crashed = `${child.name} exited (${signal ?? `code ${code}`}) during the run; its last output:\n${child.output().slice(-2000)}`;
    stopping.abort();
  });
  return child;
};

/** Stops one process on purpose (it is no longer watched for crashes). */
const stopProcess = async (child: BenchProcess): Promise<void> => {
  processes.splice(processes.indexOf(child), 1);
  await child.stop();
};

const checkRunning = (): void => {
  if (crashed !== undefined) throw new Error(crashed);
  if (stopping.signal.aborted) throw new Error('the benchmark was stopped');
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Deletes the exchanges and queues the runs declared on the shared broker. */
const deleteTopology = async (): Promise<void> => {
  if (exchanges.length === 0) return;
  const connection = await amqp.connect(settings.amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const exchange of exchanges.splice(0)) {
      await channel.deleteQueue(`${exchange}.${SUBSCRIBER}`);
      await channel.deleteExchange(exchange);
    }
  } finally {
    await connection.close();
  }
};

const cleanup = async (): Promise<void> => {
  stopping.abort();
  for (const caller of callers.splice(0)) caller.close();
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  await deleteTopology();
  for (const folder of folders.splice(0)) {
    if (settings.keep) console.log(`kept ${folder}`);
    else rmSync(folder, { recursive: true, force: true });
  }
};

const redacted = (url: string): string => url.replace(/\/\/[^@/]*@/, '//');

/** Every process of a run: the sample business logic, the sample projector, `evented serve` on a project. */
interface Stack {
  dir: string;
  dbPath: string;
  readModel: string;
  projector: BenchProcess;
  runtime: BenchProcess;
  commandAddress: string;
  /** When `evented serve` said it was serving (ms, real-time clock). */
  servingAt: number;
}

const startStack = async (options: {
  label: string;
  dir: string;
  logicAddress: string;
  probeOut?: string;
  /** Its Prometheus endpoint on, scraped every SCRAPE_EVERY_MS while the run lasts. */
  metrics?: boolean;
  /** OTEL_* of `evented serve` (default: untraced). */
  env?: NodeJS.ProcessEnv;
}): Promise<Stack> => {
  const { dir, label } = options;
  const readModel = join(dir, 'accounts.json');
  const projector = watch(
    startProcess(
      `projector (${label})`,
      process.execPath,
      [
        '--import',
        'tsx',
        ...(options.probeOut ? ['--import', join(repoRoot, 'bench/lib/projector-probe.ts')] : []),
        'src/projector.ts',
        '--port',
        '0',
      ],
      {
        cwd: join(repoRoot, 'templates/typescript'),
        env: { READ_MODEL: readModel, PROBE_OUT: options.probeOut ?? '' },
        logFile: logFile(`projector-${label}.log`),
      },
    ),
  );
  const [, projectorAddress] = await projector.waitFor(/listening on (\S+)/);
  const exchange = `evented-bench-${randomUUID()}`;
  exchanges.push(exchange);
  writeBenchProject(dir, [
    `bus: { kind: amqp, url: "${settings.amqpUrl}", exchange: "${exchange}", prefetch: ${settings.prefetch} }`,
    `relay: { batchSize: ${settings.relayBatch} }`,
    ...(settings.partitions > 0 ? [`delivery: { partitions: ${settings.partitions} }`] : []),
    ...(options.metrics ? ['metrics: { port: 0 }'] : []),
    'domains:',
    `  account: { businessLogic: "${options.logicAddress}" }`,
    'projectors:',
    `  ${PROJECTOR}: { address: "${projectorAddress}", domains: [account] }`,
  ]);
  const runtime = watch(
    startProcess(
      `evented serve (${label})`,
      process.execPath,
      [
        ...settings.serveNodeArgs,
        ...(settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`] : []),
        join(repoRoot, 'bin/evented.js'),
        'serve',
        dir,
      ],
      { cwd: dir, env: options.env ?? UNTRACED_ENV, logFile: logFile(`serve-${label}.log`) },
    ),
  );
  const [, commandAddress] = await runtime.waitFor(/evented serving .*commands on (\S+?),.*/);
  const servingAt = wallClockMs();
  if (options.metrics) {
    const [, url] = await runtime.waitFor(/metrics on (\S+?);/);
    const scraper = setInterval(() => {
      void fetch(url!).then(
        (response) => response.arrayBuffer(),
        () => undefined,
      );
    }, SCRAPE_EVERY_MS);
    scraper.unref();
    void runtime.exited.then(() => clearInterval(scraper));
  }
  return {
    dir,
    dbPath: join(dir, '.evented', 'events.db'),
    readModel,
    projector,
    runtime,
    commandAddress: commandAddress!,
    servingAt,
  };
};

/** How many events the projector has handled (from its progress records: every aggregate starts at 0). */
const progressReader = (dbPath: string): { delivered(): number; close(): void } => {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  const sum = db
    .prepare('SELECT coalesce(sum(next), 0) FROM subscriber_progress WHERE subscriber = ?')
    .pluck();
  return { delivered: () => sum.get(SUBSCRIBER) as number, close: () => db.close() };
};

const waitDelivered = async (dbPath: string, expected: number, timeoutMs: number): Promise<number> => {
  const progress = progressReader(dbPath);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      checkRunning();
      const delivered = progress.delivered();
      if (delivered >= expected) return wallClockMs();
      if (Date.now() > deadline)
        throw new Error(`the projector had ${delivered} of ${expected} events after ${timeoutMs} ms`);
      await sleep(10);
    }
  } finally {
    progress.close();
  }
};

/** The benchmark's own process (the load generator), for the CPU meter. */
const self = { name: 'load generator', pid: process.pid } as BenchProcess;

const cpuMeter = (named: BenchProcess[]) => {
  const read = (): number[] => [
    ...named.map((p) => cpuSeconds(p.pid) ?? Number.NaN),
    machineBusySeconds() ?? 0,
  ];
  const start = read();
  const started = performance.now();
  return (): string => {
    const end = read();
    const seconds = (performance.now() - started) / 1000;
    const shares = end.map((value, i) => (value - start[i]!) / seconds);
    const ours = shares.slice(0, -1);
    const rest = shares.at(-1)! - ours.reduce((a, b) => a + b, 0);
    return (
      named.map((p, i) => `${p.name.replace(/ \(.*\)$/, '')} ${(ours[i]! * 100).toFixed(0)}%`).join(', ') +
      `, rest of the machine (RabbitMQ, others) ${(rest * 100).toFixed(0)}%`
    );
  };
};

/** What one drain measured, in events/s. */
interface DrainResult {
  rate: number;
  /** Bare amqplib moving the same EventBatch messages: the fair limit. */
  fair: number;
  /** RabbitMQ with one message per event: context. */
  perMessage: number;
  /** The same drain by a runtime with metrics on. */
  /** The same drain by a runtime with metrics on (settings.metrics). */
  metricsOn?: number | undefined;
  /** The same drain by a runtime exporting traces (settings.tracing). */
  traced?: number | undefined;
}

/**
 * The messages evented's relay publishes for the log in `dbPath`: rounds of `relayBatch` events read from the
 * log, one EventBatch per domain and round, encoded and labelled by the bus's own codec (runtime/relay/relay.ts,
 * runtime/bus/batches.ts, runtime/bus/amqp/codec.ts).
 */
const relayMessages = async (
  dbPath: string,
): Promise<{ content: Buffer; properties: Options.Publish; domain: string }[]> => {
  const store = createSqliteEventStore({ path: dbPath });
  const messages: { content: Buffer; properties: Options.Publish; domain: string }[] = [];
  try {
    let after = 0;
    for (;;) {
      const events = await store.readLog(after, settings.relayBatch);
      if (events.length === 0) break;
      for (const published of toBatches(events)) {
        const { content, options } = encodeBatch(published);
        messages.push({ content, properties: options, domain: published.domain });
      }
      after = events[events.length - 1]!.position;
    }
  } finally {
    await store.close();
  }
  return messages;
};

/**
 * A fresh store holding the backlog (`perAggregate` events for each of settings.aggregates aggregates), the
 * projector caught up with the store as it was (empty): its checkpoint is the head, so its catch-up from the
 * store has nothing to do, and every event reaches it through relay → RabbitMQ → coordinator, as a backlog the
 * relay publishes while the projector is live (after a broker outage, say). Its per-aggregate progress is empty,
 * so every event is new to it.
 */
const seedBacklog = async (perAggregate: number): Promise<{ dir: string; dbPath: string }> => {
  const dir = mkdtempSync(join(tmpdir(), 'evented-bench-drain-'));
  folders.push(dir);
  const dbPath = join(dir, '.evented', 'events.db');
  // Through the store API (synchronous=normal: seeding is not what is measured).
  const seeding = performance.now();
  const store = createSqliteEventStore({ path: dbPath, synchronous: 'normal' });
  const head = await seedAccounts(store, { aggregates: settings.aggregates, perAggregate });
  await store.saveCheckpoint(SUBSCRIBER, head);
  await store.close();
  console.log(
    `  seeded ${head.toLocaleString('en-US')} events in ${((performance.now() - seeding) / 1000).toFixed(1)} s; ` +
      `projector checkpoint set to ${head} (its catch-up from the store is empty: all goes through the bus)`,
  );
  return { dir, dbPath };
};

/**
 * The runtime delivering the backlog in `dir`: from "serving" (the relay is running by then) to the last event
 * handled by the projector, in events/s; then the read model is checked.
 */
const timeDrain = async (
  backlog: { dir: string },
  options: {
    label: string;
    /** How the figure is named in the output. */
    title: string;
    logicAddress: string;
    total: number;
    perAggregate: number;
    metrics: boolean;
    env?: NodeJS.ProcessEnv | undefined;
  },
): Promise<number> => {
  const { total, perAggregate } = options;
  const stack = await startStack({
    label: options.label,
    dir: backlog.dir,
    logicAddress: options.logicAddress,
    metrics: options.metrics,
    env: options.env,
  });
  const meter = cpuMeter([stack.runtime, stack.projector]);
  const done = await waitDelivered(stack.dbPath, total, 600_000);
  const cpu = meter();
  const seconds = (done - stack.servingAt) / 1000;
  const rate = total / seconds;
  const rss = peakRssKiB(stack.runtime.pid);
  console.log(
    `  ${`${options.title}:`.padEnd(21)}${fmtRate(rate)} (relay → RabbitMQ → coordinator → projector, all ${total.toLocaleString('en-US')} ` +
      `in ${seconds.toFixed(1)} s from "serving" to the projector's progress at the head)`,
  );
  console.log(`      cpu: ${cpu}; runtime peak RSS ${fmtMiB(rss)}`);
  await stopProcess(stack.runtime);
  await stopProcess(stack.projector);

  // The read model holds every account with every event applied once, in order.
  const model = JSON.parse(readFileSync(stack.readModel, 'utf8')) as Record<
    string,
    { sequence: number; balance: number }
  >;
  const views = Object.values(model);
  const wrong = views.filter(
    (v) => v.sequence !== perAggregate - 1 || v.balance !== (perAggregate - 1) * 100,
  ).length;
  const ok = views.length === settings.aggregates && wrong === 0;
  console.log(
    `  read model check ${ok ? 'ok' : 'FAILED'}: ${views.length} accounts, ${wrong} not at sequence ${perAggregate - 1}`,
  );
  if (!ok) process.exitCode = 1;
  return rate;
};

/**
 * Drain: seed the store, then time the runtime delivering all of it through RabbitMQ to the projector; then the
 * same on a second store seeded the same way, by a runtime with metrics on.
 */
const drain = async (logicAddress: string): Promise<DrainResult> => {
  const perAggregate = Math.max(1, Math.floor(settings.events / settings.aggregates));
  const total = perAggregate * settings.aggregates;
  console.log(
    `— drain: ${total.toLocaleString('en-US')} events of ${settings.aggregates.toLocaleString('en-US')} aggregates ` +
      `(${perAggregate} per aggregate, appended as one book each)`,
  );
  // 1. The backlog.
  const backlog = await seedBacklog(perAggregate);
  const dbPath = backlog.dbPath;

  // 2. The baselines first, bare amqplib. The fair limit: the relay's own messages for this log.
  checkRunning();
  const messages = await relayMessages(dbPath);
  const bytes = messages.reduce((sum, m) => sum + m.content.length, 0);
  const domains = new Set(messages.map((m) => m.domain));
  if (domains.size !== 1)
    throw new Error(`the backlog spans ${domains.size} domains; the baseline expects one`);
  const fair = await amqpDrainBatches({
    url: settings.amqpUrl,
    messages,
    routingKey: [...domains][0]!,
    events: total,
    prefetch: settings.prefetch,
    inFlight: RELAY_PUBLISH_AHEAD,
    minSeconds: 2,
  });
  console.log(
    `  bare amqplib, same batches: ${fmtRate(fair.eventsPerSecond)} (the relay's ${messages.length.toLocaleString('en-US')} ` +
      `EventBatch messages for this log, ${settings.relayBatch} events and ${Math.round(bytes / messages.length).toLocaleString('en-US')} ` +
      `bytes each on average, persistent, through a topic exchange, confirms with ≤ ${RELAY_PUBLISH_AHEAD} unconfirmed, ` +
      `consumed with manual acks, prefetch ${settings.prefetch}; ${fair.passes} pass${fair.passes === 1 ? '' : 'es'} ` +
      `over them in ${fair.seconds.toFixed(1)} s)`,
  );
  checkRunning();
  const perMessage = await amqpDrain({
    url: settings.amqpUrl,
    count: total,
    messageBytes: settings.messageBytes,
    prefetch: settings.baselinePrefetch,
    inFlight: settings.baselineInFlight,
  });
  console.log(
    `  bare amqplib, one message per event: ${fmtRate(perMessage.eventsPerSecond)} (${total.toLocaleString('en-US')} persistent ` +
      `${settings.messageBytes}-byte messages, confirms with ≤ ${settings.baselineInFlight} unconfirmed, consumed ` +
      `with manual acks, prefetch ${settings.baselinePrefetch}, in ${perMessage.seconds.toFixed(1)} s)`,
  );

  // 3. The runtime, metrics and traces off; 4. the same on a backlog seeded the same way, with metrics on; 5. and
  //    traced (same batching, same durability).
  const common = { logicAddress, total, perAggregate };
  const rate = await timeDrain(backlog, { ...common, label: 'drain', title: 'evented', metrics: false });
  const variant = async (label: string, title: string, metrics: boolean, env?: NodeJS.ProcessEnv) => {
    checkRunning();
    const variantRate = await timeDrain(await seedBacklog(perAggregate), {
      ...common,
      label,
      title,
      metrics,
      env,
    });
    console.log(`  ${title} on/off: ${(variantRate / rate).toFixed(2)}`);
    return variantRate;
  };
  const metricsOn = settings.metrics
    ? await variant('drain-metrics', 'evented, metrics on', true)
    : undefined;
  const traced = tracedEnv ? await variant('drain-traced', 'evented, traced', false, tracedEnv) : undefined;
  return { rate, fair: fair.eventsPerSecond, perMessage: perMessage.eventsPerSecond, metricsOn, traced };
};

interface LatencyResult {
  fromCreated: Float64Array;
  fromAck: Float64Array;
  commands: Float64Array;
  baseline: Float64Array;
}

/** Latency: a steady rate of commands; when each event is committed and when the projector has applied it. */
const latency = async (logic: BenchProcess, logicAddress: string): Promise<LatencyResult> => {
  const total = Math.round(settings.rate * (settings.warmupS + settings.durationS));
  const measureFrom = Math.round(settings.rate * settings.warmupS);
  console.log(
    `— latency: ${settings.rate} commands/s (Deposit to ${settings.accounts} accounts), ${settings.warmupS} s warm-up, ` +
      `${settings.durationS} s measured`,
  );
  console.log(
    "  clock: the machine's real-time clock, read by every process. Commit: the sample business logic runs with\n" +
      '  bench/lib/logic-probe.ts, which leaves createdAt unset, so the store stamps each event (Date.now()) as it\n' +
      '  writes it inside the commit transaction, just before COMMIT and its fsync. Arrival: the unchanged sample\n' +
      '  projector runs with bench/lib/projector-probe.ts, which notes (Date.now(), see wall-clock.ts) when each\n' +
      "  Handle/HandleBatch call has been applied, saved and answered. Also shown: from the command's\n" +
      '  acknowledgement at the client (after the commit) to the same arrival.',
  );

  const baseline = await amqpLatency({
    url: settings.amqpUrl,
    rate: settings.rate,
    warmupS: settings.warmupS,
    durationS: settings.durationS,
    messageBytes: settings.messageBytes,
    prefetch: settings.baselinePrefetch,
    signal: stopping.signal,
  });
  checkRunning();

  const dir = mkdtempSync(join(tmpdir(), 'evented-bench-latency-'));
  folders.push(dir);
  const probeOut = join(dir, 'probe.txt');
  const stack = await startStack({ label: 'latency', dir, logicAddress, probeOut });
  const handle = unaryCaller({ address: stack.commandAddress, path: HANDLE_PATH });
  callers.push(handle);
  const roots = Array.from({ length: settings.accounts }, () => uuidToBytes(randomUUID())!);
  const hex = roots.map((root) => Buffer.from(root).toString('hex'));
  await sendAll(
    handle,
    roots.map((root, i) => commandBook(root, { type: 'OpenAccount', owner: `bench-owner-${i}` })),
    32,
    stopping.signal,
  );
  await waitDelivered(stack.dbPath, settings.accounts, 60_000);
  const deposit = roots.map((root) => commandBook(root, { type: 'Deposit', amount: 100 }));

  const acked = new Map<string, number>();
  const commandLatencies: number[] = [];
  let failed = 0;
  let inFlight = 0;
  let skipped = 0;
  let acceptedInWindow = 0;
  let measuredFrom = performance.now();
  let meter: (() => string) | undefined;
  const calls: Promise<void>[] = [];
  await steadily(settings.rate, total, stopping.signal, (index) => {
    if (index === measureFrom) {
      meter = cpuMeter([stack.runtime, stack.projector, logic, self]);
      measuredFrom = performance.now();
    }
    if (inFlight >= settings.maxInFlight) {
      skipped += 1;
      return;
    }
    inFlight += 1;
    const account = Math.floor(Math.random() * roots.length);
    const sent = wallClockMs();
    calls.push(
      handle.call(deposit[account]!).then(
        (response) => {
          inFlight -= 1;
          if (index < measureFrom) return;
          acceptedInWindow += 1;
          const at = wallClockMs();
          commandLatencies.push(at - sent);
          const num = SynchronousProcessingResponse.decode(response).books[0]?.pages[0]?.num;
          acked.set(`${hex[account]} ${num}`, at);
        },
        () => {
          inFlight -= 1;
          failed += 1;
        },
      ),
    );
  });
  const windowS = (performance.now() - measuredFrom) / 1000;
  await Promise.all(calls);
  const cpu = meter?.() ?? '';
  const delivered = settings.accounts + total - failed - skipped;
  await waitDelivered(stack.dbPath, delivered, 60_000);
  await stopProcess(stack.runtime);
  await stopProcess(stack.projector);
  console.log(
    `  achieved ${fmtRate(acceptedInWindow / windowS)} while measured` +
      (failed > 0 ? `; ${failed} commands failed` : '') +
      (skipped > 0
        ? `; ${skipped} not sent (already ${settings.maxInFlight} in flight: the command path could not keep up)`
        : ''),
  );
  console.log(`      cpu while measured: ${cpu}`);

  const fromCreated: number[] = [];
  const fromAck: number[] = [];
  const seen = new Set<string>();
  for (const line of readFileSync(probeOut, 'utf8').split('\n')) {
    const [root, sequence, created, answered] = line.split(' ');
    const key = `${root} ${sequence}`;
    const ackAt = acked.get(key);
    if (ackAt === undefined || seen.has(key)) continue;
    seen.add(key);
    fromCreated.push(Number(answered) - Number(created));
    fromAck.push(Number(answered) - ackAt);
  }
  if (seen.size !== acked.size) {
    console.log(`  probe check FAILED: ${seen.size} of ${acked.size} measured events reached the projector`);
    process.exitCode = 1;
  }
  const sorted = (values: number[]): Float64Array => Float64Array.from(values).sort();
  return {
    fromCreated: sorted(fromCreated),
    fromAck: sorted(fromAck),
    commands: sorted(commandLatencies),
    baseline: baseline.sort(),
  };
};

const main = async (): Promise<void> => {
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  console.log('delivery benchmark');
  console.log(
    `machine: ${availableParallelism()} cores (${cpuModel}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `node ${process.version}, amqplib ${packageVersion('amqplib')}, @grpc/grpc-js ${packageVersion('@grpc/grpc-js')}`,
  );
  console.log(
    `settings: BENCH_PHASES=${settings.phases.join(',')} broker ${redacted(settings.amqpUrl)} ` +
      `BENCH_EVENTS=${settings.events} BENCH_AGGREGATES=${settings.aggregates} BENCH_MESSAGE_BYTES=${settings.messageBytes} ` +
      `BENCH_BASELINE_IN_FLIGHT=${settings.baselineInFlight} BENCH_BASELINE_PREFETCH=${settings.baselinePrefetch} ` +
      `BENCH_RATE=${settings.rate} BENCH_ACCOUNTS=${settings.accounts} BENCH_WARMUP_S=${settings.warmupS} ` +
      `BENCH_DURATION_S=${settings.durationS} BENCH_MAX_IN_FLIGHT=${settings.maxInFlight} ` +
      `BENCH_RELAY_BATCH=${settings.relayBatch} BENCH_PREFETCH=${settings.prefetch} BENCH_PARTITIONS=${settings.partitions || 'default'} runs ${settings.runs}` +
      (settings.cpuProfDir ? ` BENCH_CPU_PROF=${settings.cpuProfDir}` : '') +
      (settings.logDir ? ` BENCH_LOG_DIR=${settings.logDir}` : '') +
      ` BENCH_TRACING=${settings.tracing ? 1 : 0} BENCH_METRICS=${settings.metrics ? 1 : 0}`,
  );
  console.log(
    'runtime: evented serve (dist/), SQLite store, RabbitMQ bus on a fresh exchange per run (deleted after), ' +
      'the sample business logic and projector (templates/typescript) as their own processes\n',
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
      {
        cwd: join(repoRoot, 'templates/typescript'),
        env: { LOGIC_PROBE: '1' },
        logFile: logFile('business-logic.log'),
      },
    ),
  );
  const [, logicAddress] = await logic.waitFor(/listening on (\S+)/);
  if (settings.tracing) {
    const sink = watch(
      startProcess(
        'otlp sink',
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'bench/lib/otlp-sink.ts')],
        { cwd: repoRoot, logFile: logFile('otlp-sink.log') },
      ),
    );
    const [, sinkUrl] = await sink.waitFor(/listening on (\S+)/);
    tracedEnv = {
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    };
  }

  const drains: DrainResult[] = [];
  const latencies: { p50: number; p99: number; baselineP99: number }[] = [];
  for (let run = 1; run <= settings.runs; run++) {
    if (settings.runs > 1) console.log(`run ${run} of ${settings.runs}`);
    console.log(`load average before: ${loadAverage()}`);
    const drained = settings.phases.includes('drain') ? await drain(logicAddress!) : undefined;
    if (drained) {
      drains.push(drained);
      console.log('');
    }
    checkRunning();
    const timed = settings.phases.includes('latency') ? await latency(logic, logicAddress!) : undefined;
    if (timed) {
      const row = (label: string, values: Float64Array): void =>
        console.log(
          `  ${label.padEnd(44)} p50 ${padLeft(fmtMs(percentile(values, 50)), 9)}  p99 ${padLeft(fmtMs(percentile(values, 99)), 9)}` +
            `  (${values.length.toLocaleString('en-US')})`,
        );
      row('commit (store stamp) → projector applied', timed.fromCreated);
      row('command acknowledged → projector applied', timed.fromAck);
      row('command round trip (client)', timed.commands);
      row('baseline: amqplib publish → consume', timed.baseline);
      // An arrival before its commit stamp means the processes' clocks disagree: no figure then. (An arrival
      // before the client has its acknowledgement is real: the answer is still on its way back.)
      const earliest = percentile(timed.fromCreated, 0);
      if (earliest < -1) {
        throw new Error(
          `latencies below zero (${fmtMs(earliest)}): the processes' clocks disagree, so this run measures nothing`,
        );
      }
      latencies.push({
        p50: percentile(timed.fromCreated, 50),
        p99: percentile(timed.fromCreated, 99),
        baselineP99: percentile(timed.baseline, 99),
      });
    }
    console.log(`load average after: ${loadAverage()}\n`);
  }

  if (drains.length > 0) {
    const ratios = drains.map((d) => d.rate / d.fair);
    const perMessage = drains.map((d) => d.rate / d.perMessage);
    console.log(
      `drain: evented ${spread(
        drains.map((d) => d.rate),
        fmtRate,
      )}; bare amqplib moving the same batches ` +
        `${spread(
          drains.map((d) => d.fair),
          fmtRate,
        )}`,
    );
    console.log(
      `      ratio to the fair limit (headline): ${spread(ratios, (r) => r.toPrecision(2))}` +
        (drains.length > 1 ? ' (min / median / max)' : ''),
    );
    for (const [what, rateOf, target] of [
      ['metrics on', (d: DrainResult) => d.metricsOn, TARGET_METRICS_RATIO],
      ['tracing on', (d: DrainResult) => d.traced, TARGET_TRACING_RATIO],
    ] as const) {
      const measured = drains.flatMap((d) => {
        const on = rateOf(d);
        return on === undefined ? [] : [{ on, onOff: on / d.rate }];
      });
      if (measured.length === 0) continue;
      const onOff = measured.map((m) => m.onOff);
      console.log(
        `      ${what}: ${spread(
          measured.map((m) => m.on),
          fmtRate,
        )}; on/off ${spread(onOff, (r) => r.toFixed(2))}`,
      );
      const medianOnOff = median(onOff);
      console.log(
        `${medianOnOff >= target ? 'PASS' : 'MISS'}  drain events/s ${what}/off: ${medianOnOff.toFixed(2)} ` +
          `(target ≥ ${target})`,
      );
    }
    const medianPerMessage = median(perMessage);
    console.log(
      `      context: ${spread(perMessage, (r) => `${r.toFixed(1)}×`)} RabbitMQ's rate with one ${settings.messageBytes}-byte ` +
        `message per event (${spread(
          drains.map((d) => d.perMessage),
          fmtRate,
        )}); ` +
        `target ≥ ${TARGET_RATIO} against it: ${medianPerMessage >= TARGET_RATIO ? 'met' : 'NOT met'}`,
    );
  }
  if (latencies.length > 0) {
    const p99s = latencies.map((l) => l.p99);
    const under = p99s.filter((p99) => p99 < TARGET_P99_MS).length;
    const medianP99 = median(p99s);
    console.log(
      `commit → projector at ${settings.rate}/s: p50 ${spread(
        latencies.map((l) => l.p50),
        fmtMs,
      )}, ` +
        `p99 ${spread(p99s, fmtMs)}; bare publish → consume p99 ${spread(
          latencies.map((l) => l.baselineP99),
          fmtMs,
        )}`,
    );
    console.log(
      `${medianP99 < TARGET_P99_MS ? 'PASS' : 'MISS'}  commit → projector p99 < ${TARGET_P99_MS} ms at ${settings.rate}/s: ` +
        `median ${fmtMs(medianP99)}, under the target in ${under} of ${latencies.length} run${latencies.length === 1 ? '' : 's'}`,
    );
  }
};

await runBenchmark(main, cleanup);
