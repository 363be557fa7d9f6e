// `npm run bench -- command-path`: commands through the real command handler (`evented serve`, a subprocess)
// to the sample business logic (a subprocess) over the SQLite store, against the raw grpc-js unary round trip
// (an echo server subprocess) driven by the same load generator at the same concurrency, on this machine.
// Prints commands/s, p50/p99, the runtime's peak RSS, the ratio command-path/raw, and PASS/MISS per target.
// With BENCH_TRACING=1 (the default), a second runtime exports OpenTelemetry traces to a local OTLP receiver
// (bench/lib/otlp-sink.ts, a subprocess), measured in the same rounds: the column "traced" and the ratio
// traced/untraced, against the target ≥ 0.9 (tracing costs at most a tenth of the throughput). With
// BENCH_METRICS=1 (the default), another runtime has its Prometheus endpoint on, scraped every second as a
// Prometheus would: the column "metrics" and the ratio metrics on/off, against the target ≥ 0.97. With
// BENCH_COMMAND_LOG=1 (the default), another runtime has the decision log on (`commandLog: true`): the column
// "logged" and the ratio command log on/off, against the target ≥ 0.9; its store check also counts the log.
// Settings come from environment variables (printed at the start); see `settings` below.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { SynchronousProcessingResponse } from '../runtime/protocol/gen/evented/evented.js';
import { uuidToBytes } from '../runtime/protocol/uuid.js';
import { encodeEvent, encodeState } from '../templates/typescript/src/codec.js';
import { ECHO_PATH } from './lib/echo.js';
import { runClosedLoop, sendAll, unaryCaller, type UnaryCaller } from './lib/load.js';
import { cpuSeconds, machineBusySeconds, peakRssKiB, resetPeakRss } from './lib/proc-stats.js';
import { runBenchmark, startProcess, type BenchProcess } from './lib/processes.js';
import { fmtMiB, fmtMs, fmtRate, pad, padLeft, percentile } from './lib/stats.js';
import { numberEnv, packageVersion } from './lib/settings.js';
import { writeBenchProject } from './lib/project-file.js';
import { commandBook } from './lib/command-book.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const HANDLE_PATH = '/evented.BusinessCoordinator/Handle';

const settings = {
  /** In-flight commands per setting, comma-separated. */
  concurrency: (process.env.BENCH_CONCURRENCY ?? '16,64')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0),
  warmupS: numberEnv('BENCH_WARMUP_S', 3),
  /** Measured seconds per path and setting, split into `rounds` alternating slices. */
  durationS: numberEnv('BENCH_DURATION_S', 8),
  rounds: Math.max(1, Math.round(numberEnv('BENCH_ROUNDS', 4))),
  accounts: numberEnv('BENCH_ACCOUNTS', 1000),
  snapshotEvery: numberEnv('BENCH_SNAPSHOT_EVERY', 10),
  /** Empty: the store's default (full). */
  synchronous: process.env.BENCH_SYNCHRONOUS ?? '',
  /** A folder: run `evented serve` with --cpu-prof, writing the profile there. */
  cpuProfDir: process.env.BENCH_CPU_PROF ?? '',
  /** Extra node arguments for `evented serve` (space-separated), e.g. "--import ./probe.mjs". */
  serveNodeArgs: (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  keep: process.env.BENCH_KEEP === '1',
  /** A folder: each subprocess's whole output is written there (echo.log, business-logic.log, serve.log). */
  logDir: process.env.BENCH_LOG_DIR ?? '',
  /** 0: no traced runtime (no "traced" column). */
  tracing: process.env.BENCH_TRACING !== '0',
  /** 0: no runtime with metrics on (no "metrics" column). */
  metrics: process.env.BENCH_METRICS !== '0',
  /** 0: no runtime with the decision log on (no "logged" column). */
  commandLog: process.env.BENCH_COMMAND_LOG !== '0',
};

const TARGET_RATIO = { concurrency: 64, ratio: 0.35 };
const TARGET_P99 = { concurrency: 16, p99Ms: 20 };
/** Tracing on (exported over OTLP/HTTP) keeps at least this share of the untraced throughput. */
const TARGET_TRACING = { concurrency: 64, ratio: 0.9 };
/** Metrics on (the endpoint scraped every SCRAPE_EVERY_MS) keeps at least this share of the throughput without. */
const TARGET_METRICS = { concurrency: 64, ratio: 0.97 };
/** The decision log on (a row per command, in the append's transaction) keeps at least this share of the throughput. */
const TARGET_COMMAND_LOG = { concurrency: 64, ratio: 0.9 };
/** How often the metrics-on runtime is scraped (Prometheus's default is 1 min: 1 s is harsh). */
const SCRAPE_EVERY_MS = 1000;

interface Measured {
  rate: number;
  p50: number;
  p99: number;
  errors: Map<string, number>;
  /** CPU used during the measured windows, as a share of one core, per process name. */
  cpu: Record<string, number>;
  peakRssKiB?: number;
}

/** What the measured windows of one path add up to. */
interface Totals {
  completed: number;
  windowMs: number;
  latencies: Float64Array[];
  errors: Map<string, number>;
  cpuSeconds: Map<string, number>;
}

const newTotals = (): Totals => ({
  completed: 0,
  windowMs: 0,
  latencies: [],
  errors: new Map(),
  cpuSeconds: new Map(),
});

const summarise = (totals: Totals, peak?: number): Measured => {
  const all = new Float64Array(totals.latencies.reduce((n, l) => n + l.length, 0));
  let offset = 0;
  for (const l of totals.latencies) {
    all.set(l, offset);
    offset += l.length;
  }
  const sorted = all.sort();
  const seconds = totals.windowMs / 1000;
  return {
    rate: totals.completed / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: totals.errors,
    cpu: Object.fromEntries([...totals.cpuSeconds].map(([name, used]) => [name, used / seconds])),
    peakRssKiB: peak,
  };
};

const ownCpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/** The CPU meter of the whole machine (every process and the kernel). */
const MACHINE = 'machine';

/** CPU of the machine not used by the benchmark's processes, as a share of one core. */
const restOfMachine = (m: Measured): number =>
  (m.cpu[MACHINE] ?? Number.NaN) -
  Object.entries(m.cpu)
    .filter(([name]) => name !== MACHINE)
    .reduce((sum, [, share]) => sum + share, 0);

/** Above this share of a core used by others, the run is flagged as not representative. */
const BUSY_MACHINE = 0.25;

/** Unmeasured time at the start of every measured slice, so that each path runs at its pace before counting. */
const SETTLE_MS = 500;

/** The size of the runtime's answer to a Deposit (one stored page; every tenth also carries a snapshot). */
const typicalResponseBytes = (root: Uint8Array): number =>
  SynchronousProcessingResponse.encode({
    books: [
      {
        cover: { domain: 'account', root: { value: root } },
        snapshot: undefined,
        pages: [
          {
            num: 15,
            createdAt: { seconds: 1_760_000_000, nanos: 123_000_000 },
            Event: encodeEvent({ type: 'MoneyDeposited', amount: 100, balance: 1500 }),
            synchronous: false,
          },
        ],
      },
    ],
    projections: [],
    commands: [],
  }).finish().length +
  Math.round((encodeState({ open: true, owner: 'bench-owner-0000', balance: 1500 }).value.length + 60) / 10);

const logFile = (name: string): string | undefined =>
  settings.logDir === '' ? undefined : join(settings.logDir, name);

const processes: BenchProcess[] = [];
const callers: UnaryCaller[] = [];
/** Aborted when the benchmark stops (at the end, on an error, on Ctrl-C): the load generator stops sending. */
const stopping = new AbortController();
/** Set when one of the processes exits on its own: the run stops and says which, with its last output. */
let crashed: string | undefined;

const watch = (child: BenchProcess): BenchProcess => {
  processes.push(child);
  void child.exited.then(({ code, signal }) => {
    if (stopping.signal.aborted) return;
    crashed = `${child.name} exited (${signal ?? `code ${code}`}) during the run; its last output:\n${child.output().slice(-2000)}`;
    stopping.abort();
  });
  return child;
};

/** Throws when the run is being stopped, so that nothing more is measured. */
const checkRunning = (): void => {
  if (crashed !== undefined) throw new Error(crashed);
  if (stopping.signal.aborted) throw new Error('the benchmark was stopped');
};
const projectDirs: string[] = [];
const storeChecks: (() => void)[] = [];

const cleanup = async (): Promise<void> => {
  stopping.abort();
  for (const caller of callers.splice(0)) caller.close();
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  for (const check of storeChecks.splice(0)) check();
  for (const projectDir of projectDirs.splice(0)) {
    if (!settings.keep) rmSync(projectDir, { recursive: true, force: true });
    else console.log(`kept the project folder ${projectDir}`);
  }
};

const COMMAND_LOG_ON = 'commandLog: true';

/** A runtime under load: its process, its store, and its command caller counting what it acknowledged. */
interface MeasuredRuntime {
  label: string;
  process: BenchProcess;
  line: string;
  dbPath: string;
  commands: UnaryCaller;
  acknowledged: number;
  failed: number;
  /** Whether its decision log is on (`commandLog: true`): its store check counts the log too. */
  commandLog: boolean;
}

/**
 * `evented serve` on a project of its own (its own SQLite store) in front of the business logic, with `env`
 * (the OTEL_* variables of the traced runtime; the untraced one has OTEL_SDK_DISABLED=true whatever the
 * benchmark's environment says).
 */
const startRuntime = async (
  label: string,
  logicAddress: string,
  env: NodeJS.ProcessEnv,
  config: readonly string[] = [],
): Promise<MeasuredRuntime> => {
  const projectDir = mkdtempSync(join(tmpdir(), 'evented-bench-'));
  projectDirs.push(projectDir);
  writeBenchProject(projectDir, [
    ...config,
    ...(settings.synchronous ? [`store: { kind: sqlite, synchronous: ${settings.synchronous} }`] : []),
    'domains:',
    `  account: { businessLogic: "${logicAddress}" }`,
  ]);
  const serveArgs = [
    ...settings.serveNodeArgs,
    ...(settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`] : []),
    join(repoRoot, 'bin/evented.js'),
    'serve',
    projectDir,
  ];
  const runtime = watch(
    startProcess(label, process.execPath, serveArgs, {
      cwd: projectDir,
      env,
      logFile: logFile(`${label.replaceAll(' ', '-')}.log`),
    }),
  );
  const [line, commandAddress] = await runtime.waitFor(/evented serving .*commands on (\S+?),.*/);
  // Every acknowledged command is counted, to check the store against it at the end.
  const handleCaller = unaryCaller({ address: commandAddress!, path: HANDLE_PATH });
  const measured: MeasuredRuntime = {
    label,
    process: runtime,
    line: line.split('\n')[0]!.trim(),
    dbPath: join(projectDir, '.evented', 'events.db'),
    commands: {
      call: async (request) => {
        try {
          const response = await handleCaller.call(request);
          measured.acknowledged += 1;
          return response;
        } catch (err) {
          measured.failed += 1;
          throw err;
        }
      },
      close: () => handleCaller.close(),
    },
    acknowledged: 0,
    failed: 0,
    commandLog: config.includes(COMMAND_LOG_ON),
  };
  callers.push(measured.commands);
  return measured;
};

const main = async (): Promise<void> => {
  if (settings.concurrency.length === 0) throw new Error('BENCH_CONCURRENCY names no concurrency');
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  console.log('command-path benchmark');
  console.log(
    `machine: ${availableParallelism()} cores (${cpuModel}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `node ${process.version}, ${process.platform} ${process.arch}, @grpc/grpc-js ${packageVersion('@grpc/grpc-js')}, ` +
      `better-sqlite3 ${packageVersion('better-sqlite3')}`,
  );
  console.log(
    `settings: BENCH_CONCURRENCY=${settings.concurrency.join(',')} BENCH_WARMUP_S=${settings.warmupS} ` +
      `BENCH_DURATION_S=${settings.durationS} BENCH_ROUNDS=${settings.rounds} BENCH_ACCOUNTS=${settings.accounts} ` +
      `BENCH_SNAPSHOT_EVERY=${settings.snapshotEvery} BENCH_SYNCHRONOUS=${settings.synchronous || '(store default)'}` +
      (settings.cpuProfDir ? ` BENCH_CPU_PROF=${settings.cpuProfDir}` : '') +
      (settings.serveNodeArgs.length > 0
        ? ` BENCH_SERVE_NODE_ARGS="${settings.serveNodeArgs.join(' ')}"`
        : '') +
      (settings.logDir ? ` BENCH_LOG_DIR=${settings.logDir}` : '') +
      ` BENCH_TRACING=${settings.tracing ? 1 : 0} BENCH_METRICS=${settings.metrics ? 1 : 0}` +
      ` BENCH_COMMAND_LOG=${settings.commandLog ? 1 : 0}`,
  );

  const roots = Array.from({ length: settings.accounts }, () => uuidToBytes(randomUUID())!);
  const responseBytes = typicalResponseBytes(roots[0]!);
  const deposits = roots.map((root) => commandBook(root, { type: 'Deposit', amount: 100 }));

  // 1. The processes: the raw echo server and the sample business logic, then the runtime pointing at it.
  const echo = watch(
    startProcess(
      'echo server',
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, 'bench/lib/echo-server.ts'),
        '--port',
        '0',
        '--response-bytes',
        String(responseBytes),
      ],
      { cwd: repoRoot, logFile: logFile('echo.log') },
    ),
  );
  const logic = watch(
    startProcess(
      'business logic',
      process.execPath,
      ['--import', 'tsx', 'src/business-logic.ts', '--port', '0'],
      {
        cwd: join(repoRoot, 'templates/typescript'),
        env: { SNAPSHOT_EVERY: String(settings.snapshotEvery) },
        logFile: logFile('business-logic.log'),
      },
    ),
  );
  const [, echoAddress] = await echo.waitFor(/listening on (\S+)/);
  const [, logicAddress] = await logic.waitFor(/listening on (\S+)/);

  // The traced runtime exports to a local OTLP receiver, with the SDK's defaults otherwise (batches of 512
  // spans, every 5 s or when 2048 wait): what a user who sets OTEL_EXPORTER_OTLP_ENDPOINT gets.
  const sink = settings.tracing
    ? watch(
        startProcess(
          'otlp sink',
          process.execPath,
          ['--import', 'tsx', join(repoRoot, 'bench/lib/otlp-sink.ts')],
          { cwd: repoRoot, logFile: logFile('otlp-sink.log') },
        ),
      )
    : undefined;
  const [, sinkUrl] = sink ? await sink.waitFor(/listening on (\S+)/) : [];
  const runtime = await startRuntime('evented serve', logicAddress!, { OTEL_SDK_DISABLED: 'true' });
  const traced = sink
    ? await startRuntime('evented serve traced', logicAddress!, {
        OTEL_SDK_DISABLED: 'false',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        // BENCH_TRACES_SAMPLER=always_off: the context manager and propagation without recording (what they cost).
        OTEL_TRACES_SAMPLER: process.env.BENCH_TRACES_SAMPLER ?? 'parentbased_always_on',
      })
    : undefined;
  const metered = settings.metrics
    ? await startRuntime('evented serve metrics', logicAddress!, { OTEL_SDK_DISABLED: 'true' }, [
        'metrics: { port: 0 }',
      ])
    : undefined;
  const logged = settings.commandLog
    ? await startRuntime('evented serve command log', logicAddress!, { OTEL_SDK_DISABLED: 'true' }, [
        COMMAND_LOG_ON,
      ])
    : undefined;
  const [, metricsUrl] = metered ? await metered.process.waitFor(/metrics on (\S+?);/) : [];
  if (metricsUrl !== undefined) {
    // Scraped as Prometheus would, for as long as the benchmark runs.
    const scraper = setInterval(() => {
      void fetch(metricsUrl).then(
        (response) => response.arrayBuffer(),
        () => undefined,
      );
    }, SCRAPE_EVERY_MS);
    scraper.unref();
    stopping.signal.addEventListener('abort', () => clearInterval(scraper), { once: true });
  }
  /** The runtimes measured against the plain one, each with the processes its slices are charged with. */
  const variants = [
    ...(traced && sink
      ? [
          {
            name: 'traced',
            runtime: traced,
            alsoCharged: [sink],
            target: TARGET_TRACING,
            what: 'tracing on/off',
          },
        ]
      : []),
    ...(metered
      ? [
          {
            name: 'metrics',
            runtime: metered,
            alsoCharged: [],
            target: TARGET_METRICS,
            what: 'metrics on/off',
          },
        ]
      : []),
    ...(logged
      ? [
          {
            name: 'logged',
            runtime: logged,
            alsoCharged: [],
            target: TARGET_COMMAND_LOG,
            what: 'command log on/off',
          },
        ]
      : []),
  ];
  const runtimes = [runtime, ...variants.map((variant) => variant.runtime)];
  const facts = new Database(runtime.dbPath, { readonly: true, fileMustExist: true });
  const sqliteFacts = `SQLite ${facts.prepare('SELECT sqlite_version()').pluck().get() as string}`;
  facts.close();
  console.log(`runtime: ${runtime.line}`);
  if (traced)
    console.log(`traced runtime: ${traced.line}, exporting OTLP/HTTP to ${sinkUrl} (every span sampled)`);
  if (metered)
    console.log(
      `metrics runtime: ${metered.line}, its endpoint ${metricsUrl} scraped every ${SCRAPE_EVERY_MS} ms`,
    );
  if (logged) console.log(`command log runtime: ${logged.line}, with ${COMMAND_LOG_ON}`);
  console.log(
    `store: ${sqliteFacts}, WAL, synchronous=${settings.synchronous || 'full'}` +
      `${settings.synchronous ? '' : ' (the default)'}, file under ${tmpdir()}` +
      (variants.length > 0 ? ' (one per runtime)' : ''),
  );
  console.log(
    `business logic: templates/typescript at ${logicAddress}, snapshot every ${settings.snapshotEvery} events`,
  );
  console.log(
    `raw baseline: grpc-js echo at ${echoAddress}, request ~${deposits[0]!.length} B, response ${responseBytes} B`,
  );

  const raw = unaryCaller({ address: echoAddress!, path: ECHO_PATH });
  callers.push(raw);

  // 2. Open the accounts (each gets its first event), so deposits have something to grow.
  const opened = Date.now();
  for (const { commands } of runtimes) {
    await sendAll(
      commands,
      roots.map((root, index) => commandBook(root, { type: 'OpenAccount', owner: `bench-owner-${index}` })),
      64,
      stopping.signal,
    );
  }
  checkRunning();
  console.log(`opened ${roots.length} accounts in ${Date.now() - opened} ms\n`);

  const nextDeposit = (): Buffer => deposits[Math.floor(Math.random() * deposits.length)]!;

  /** Runs one path for a slice; adds its completions, latencies and CPU (window only) to `into`. */
  const slice = async (
    into: Totals,
    caller: UnaryCaller,
    concurrency: number,
    settleMs: number,
    windowMs: number,
    watched: BenchProcess[],
  ): Promise<void> => {
    const meters: [string, () => number | undefined][] = [
      ['load generator', ownCpuSeconds],
      ...watched.map((p): [string, () => number | undefined] => [p.name, () => cpuSeconds(p.pid)]),
      [MACHINE, machineBusySeconds],
    ];
    const atStart = new Map<string, number>();
    const result = await runClosedLoop({
      caller,
      concurrency,
      warmupMs: settleMs,
      windowMs,
      nextRequest: nextDeposit,
      signal: stopping.signal,
      onWindowStart: () => {
        for (const [name, read] of meters) atStart.set(name, read() ?? Number.NaN);
      },
      onWindowEnd: () => {
        for (const [name, read] of meters) {
          const used = (read() ?? Number.NaN) - atStart.get(name)!;
          into.cpuSeconds.set(name, (into.cpuSeconds.get(name) ?? 0) + used);
        }
      },
    });
    checkRunning();
    if (windowMs === 0) return;
    into.windowMs += result.windowMs;
    into.completed += result.completed;
    into.latencies.push(result.latencies);
    for (const [error, count] of result.errors) into.errors.set(error, (into.errors.get(error) ?? 0) + count);
  };

  // 3. Per setting: a warm-up of each path, then rounds that alternate the raw round trip and the command path
  //    at the same concurrency, so that both see the same machine (other load, CPU frequency, the host).
  const rows: { concurrency: number; raw: Measured; command: Measured; variants: Measured[] }[] = [];
  const sliceMs = (settings.durationS * 1000) / settings.rounds;
  const sliceS = (sliceMs / 1000).toFixed(1);
  for (const concurrency of settings.concurrency) {
    console.log(
      `— ${concurrency} in flight: ${settings.warmupS} s warm-up each, then ${settings.rounds} rounds of ` +
        `${sliceS} s raw + ${sliceS} s commands` +
        variants.map((variant) => ` + ${sliceS} s ${variant.name} commands`).join('') +
        ` (${SETTLE_MS} ms settle before each)`,
    );
    const rawTotals = newTotals();
    const commandTotals = newTotals();
    const variantTotals = variants.map(() => newTotals());
    await slice(rawTotals, raw, concurrency, settings.warmupS * 1000, 0, []);
    for (const [index, measured] of runtimes.entries()) {
      resetPeakRss(measured.process.pid);
      const totals = index === 0 ? commandTotals : variantTotals[index - 1]!;
      await slice(totals, measured.commands, concurrency, settings.warmupS * 1000, 0, []);
    }
    for (let round = 0; round < settings.rounds; round += 1) {
      await slice(rawTotals, raw, concurrency, SETTLE_MS, sliceMs, [echo]);
      await slice(commandTotals, runtime.commands, concurrency, SETTLE_MS, sliceMs, [runtime.process, logic]);
      for (const [index, variant] of variants.entries()) {
        await slice(variantTotals[index]!, variant.runtime.commands, concurrency, SETTLE_MS, sliceMs, [
          variant.runtime.process,
          logic,
          ...variant.alsoCharged,
        ]);
      }
    }
    const rawResult = summarise(rawTotals);
    const commandResult = summarise(commandTotals, peakRssKiB(runtime.process.pid));
    const variantResults = variants.map((variant, index) =>
      summarise(variantTotals[index]!, peakRssKiB(variant.runtime.process.pid)),
    );
    rows.push({ concurrency, raw: rawResult, command: commandResult, variants: variantResults });
    const ratio = commandResult.rate / rawResult.rate;
    const cpuText = (m: Measured): string => {
      const ours = Object.entries(m.cpu).filter(([name]) => name !== MACHINE);
      const rest = restOfMachine(m);
      return (
        ours
          .map(
            ([name, share]) =>
              `${name} ${(share * 100).toFixed(0)}% (${Math.round((share * 1e6) / m.rate)} µs/call)`,
          )
          .join(', ') + `, rest of the machine ${(rest * 100).toFixed(0)}%`
      );
    };
    const measuredLines: [string, Measured][] = [
      ['raw unary', rawResult],
      ['command path', commandResult],
      ...variants.map((variant, index): [string, Measured] => [variant.name, variantResults[index]!]),
    ];
    for (const [label, m] of measuredLines) {
      console.log(
        `  ${pad(label, 12)}  ${padLeft(fmtRate(m.rate), 10)}  p50 ${padLeft(fmtMs(m.p50), 9)}  p99 ${padLeft(fmtMs(m.p99), 9)}`,
      );
      console.log(`      cpu: ${cpuText(m)}`);
    }
    console.log(
      `  runtime peak RSS ${fmtMiB(commandResult.peakRssKiB)}, ratio command/raw ${ratio.toFixed(2)}` +
        variants
          .map(
            (variant, index) =>
              `; ${variant.name} runtime peak RSS ${fmtMiB(variantResults[index]!.peakRssKiB)}, ratio ` +
              `${variant.what} ${(variantResults[index]!.rate / commandResult.rate).toFixed(2)}`,
          )
          .join(''),
    );
    const busiest = Math.max(...measuredLines.map(([, m]) => restOfMachine(m)));
    if (busiest > BUSY_MACHINE) {
      console.log(
        `  warning: the rest of the machine was ${(busiest * 100).toFixed(0)}% busy (other processes, or kernel ` +
          `work not charged to ours): figures from a busy machine are not representative`,
      );
    }
    for (const [label, m] of measuredLines) {
      for (const [error, count] of m.errors) console.log(`  ${label} errors: ${count} × ${error}`);
    }
    console.log('');
  }

  // 4. The summary, and the targets.
  console.log(
    `${pad('in flight', 10)}${padLeft('commands/s', 12)}${padLeft('p50', 10)}${padLeft('p99', 10)}${padLeft('peak RSS', 10)}` +
      `${padLeft('raw/s', 12)}${padLeft('raw p50', 10)}${padLeft('raw p99', 10)}${padLeft('ratio', 8)}` +
      variants
        .map((v) => `${padLeft(`${v.name}/s`, 12)}${padLeft(`${v.name} p99`, 14)}${padLeft('on/off', 8)}`)
        .join(''),
  );
  for (const { concurrency, raw: r, command: c, variants: measured } of rows) {
    console.log(
      `${pad(String(concurrency), 10)}${padLeft(fmtRate(c.rate), 12)}${padLeft(fmtMs(c.p50), 10)}${padLeft(fmtMs(c.p99), 10)}` +
        `${padLeft(fmtMiB(c.peakRssKiB), 10)}${padLeft(fmtRate(r.rate), 12)}${padLeft(fmtMs(r.p50), 10)}${padLeft(fmtMs(r.p99), 10)}` +
        `${padLeft((c.rate / r.rate).toFixed(2), 8)}` +
        measured
          .map(
            (m) =>
              `${padLeft(fmtRate(m.rate), 12)}${padLeft(fmtMs(m.p99), 14)}${padLeft((m.rate / c.rate).toFixed(2), 8)}`,
          )
          .join(''),
    );
  }
  console.log('');
  const at = (concurrency: number) => rows.find((row) => row.concurrency === concurrency);
  const ratioRow = at(TARGET_RATIO.concurrency);
  if (ratioRow) {
    const ratio = ratioRow.command.rate / ratioRow.raw.rate;
    console.log(
      `${ratio >= TARGET_RATIO.ratio ? 'PASS' : 'MISS'}  ratio command-path/raw-unary at ${TARGET_RATIO.concurrency} in flight: ` +
        `${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO.ratio})`,
    );
  } else console.log(`n/a   ratio target: ${TARGET_RATIO.concurrency} in flight was not measured`);
  const p99Row = at(TARGET_P99.concurrency);
  if (p99Row) {
    console.log(
      `${p99Row.command.p99 < TARGET_P99.p99Ms ? 'PASS' : 'MISS'}  p99 at ${TARGET_P99.concurrency} in flight: ` +
        `${fmtMs(p99Row.command.p99)} (target < ${TARGET_P99.p99Ms} ms)`,
    );
  } else console.log(`n/a   p99 target: ${TARGET_P99.concurrency} in flight was not measured`);
  for (const [index, { target, what }] of variants.entries()) {
    const row = at(target.concurrency);
    if (row) {
      const ratio = row.variants[index]!.rate / row.command.rate;
      console.log(
        `${ratio >= target.ratio ? 'PASS' : 'MISS'}  ratio ${what} at ${target.concurrency} in flight: ` +
          `${ratio.toFixed(2)} (target ≥ ${target.ratio})`,
      );
    } else console.log(`n/a   ${what} target: ${target.concurrency} in flight was not measured`);
  }

  // 5. After the runtimes have stopped: every acknowledged command is in its store, with no gaps.
  for (const measured of runtimes)
    storeChecks.push(() => {
      const { label, dbPath, acknowledged, failed, commandLog } = measured;
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        const events = db.prepare('SELECT count(*) FROM events').pluck().get() as number;
        const gaps = db
          .prepare(
            `SELECT count(*) FROM aggregates a
           WHERE a.next <> (SELECT count(*) FROM events e WHERE e.domain = a.domain AND e.root = a.root)
              OR a.next <> (SELECT coalesce(max(sequence), -1) + 1 FROM events e WHERE e.domain = a.domain AND e.root = a.root)`,
          )
          .pluck()
          .get() as number;
        // Every command of the load is accepted with one event: with the log on, one accepted row per event.
        const log = commandLog
          ? (db
              .prepare(
                'SELECT count(*) AS rows, coalesce(sum(event_count), 0) AS logged FROM command_log WHERE error_code IS NULL',
              )
              .get() as { rows: number; logged: number })
          : undefined;
        const logOk = log === undefined || (log.rows === events && log.logged === events);
        // A failed call (a deadline, say) may or may not have been written; an acknowledged one must be.
        const ok = gaps === 0 && events >= acknowledged && events <= acknowledged + failed && logOk;
        console.log(
          `${label}: store check ${ok ? 'ok' : 'FAILED'}: ${events.toLocaleString('en-US')} events for ` +
            `${acknowledged.toLocaleString('en-US')} acknowledged commands` +
            `${failed > 0 ? ` (+ ${failed} failed)` : ''} in ${roots.length} aggregates, ` +
            `${gaps === 0 ? 'sequences 0…next-1 without gaps' : `${gaps} aggregates with gaps or a wrong next`}` +
            (log === undefined
              ? ''
              : `, ${log.rows.toLocaleString('en-US')} commands logged accepted with ${log.logged.toLocaleString('en-US')} events`),
        );
        if (!ok) process.exitCode = 1;
      } finally {
        db.close();
      }
    });
};

await runBenchmark(main, cleanup);
