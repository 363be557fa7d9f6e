// `npm run bench -- verify`: how fast `evented verify` decides recorded commands again, beside the command path's
// own rate in the same run — the same commands, the same business logic, the same number in flight. The sample
// business logic (a subprocess) and `evented serve` with `commandLog: true` over SQLite (a subprocess) take
// BENCH_COMMANDS commands (deposits and withdrawals, some refused, over BENCH_ACCOUNTS accounts) through the
// command handler, timed; then `evented verify` (the built CLI, a subprocess, run as a user runs it) decides them
// all again, timed from its start to its answer. Target: verify's rate ≥ 1.0 × the command path's.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { uuidToBytes } from '../runtime/protocol/uuid.js';
import type { AccountCommand } from '../templates/typescript/src/domain.js';
import { unaryCaller, type UnaryCaller } from './lib/load.js';
import { runBenchmark, startProcess, type BenchProcess } from './lib/processes.js';
import { numberEnv, packageVersion } from './lib/settings.js';
import { writeBenchProject } from './lib/project-file.js';
import { commandBook } from './lib/command-book.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const HANDLE_PATH = '/evented.BusinessCoordinator/Handle';

const settings = {
  commands: numberEnv('BENCH_COMMANDS', 20_000),
  accounts: numberEnv('BENCH_ACCOUNTS', 1000),
  /** In flight on the command path: what `evented verify` keeps in flight (cli/verify/run.ts CONCURRENCY). */
  concurrency: numberEnv('BENCH_CONCURRENCY', 8),
  snapshotEvery: numberEnv('BENCH_SNAPSHOT_EVERY', 10),
  keep: process.env.BENCH_KEEP === '1',
};

const TARGET_RATIO = 1.0;

const perSecond = (rate: number): string => `${Math.round(rate).toLocaleString('en-US')} commands/s`;

const processes: BenchProcess[] = [];
const callers: UnaryCaller[] = [];
const folders: string[] = [];

/** Per account: opened, then deposits and withdrawals at random, so that some withdrawals are refused. */
const workload = (): Buffer[][] => {
  const roots = Array.from({ length: settings.accounts }, () => uuidToBytes(randomUUID())!);
  const perAccount = roots.map((root) => [commandBook(root, { type: 'OpenAccount', owner: 'bench' })]);
  for (let n = settings.accounts; n < settings.commands; n += 1) {
    const index = Math.floor(Math.random() * roots.length);
    const amount = 100 + Math.floor(Math.random() * 200);
    const command: AccountCommand =
      Math.random() < 0.5 ? { type: 'Deposit', amount } : { type: 'Withdraw', amount };
    perAccount[index]!.push(commandBook(roots[index]!, command));
  }
  return perAccount;
};

/**
 * The command path: every command through the command handler, `concurrency` in flight, each account's in order
 * (a refusal is an answer like any other); returns commands/s.
 */
const commandPath = async (caller: UnaryCaller, perAccount: Buffer[][]): Promise<number> => {
  const queues = perAccount.map((commands) => [...commands]);
  let nextAccount = 0;
  const slot = async (): Promise<void> => {
    while (nextAccount < queues.length) {
      const queue = queues[nextAccount++]!;
      for (const request of queue) await caller.call(request).catch(() => undefined);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: settings.concurrency }, slot));
  return settings.commands / ((performance.now() - started) / 1000);
};

/** `evented verify` as a user runs it; returns commands/s from the CLI's start to its answer. */
const verify = async (admin: string, projectDir: string): Promise<number> => {
  const started = performance.now();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(repoRoot, 'bin/evented.js'), 'verify', '--address', admin, '--dir', projectDir, '--json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (performance.now() - started) / 1000;
  const { summary } = JSON.parse(stdout) as { summary: { checked: number; differ: number } };
  if (summary.checked !== settings.commands || summary.differ !== 0) {
    throw new Error(`verify checked ${summary.checked} of ${settings.commands}, ${summary.differ} differ`);
  }
  return summary.checked / seconds;
};

const main = async (): Promise<void> => {
  console.log('verify benchmark');
  console.log(
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}, @grpc/grpc-js ${packageVersion('@grpc/grpc-js')}`,
  );
  console.log(
    `settings: BENCH_COMMANDS=${settings.commands} BENCH_ACCOUNTS=${settings.accounts} ` +
      `BENCH_CONCURRENCY=${settings.concurrency} BENCH_SNAPSHOT_EVERY=${settings.snapshotEvery}`,
  );

  // 1. The sample business logic, and the runtime logging its decisions in front of it.
  const logic = startProcess(
    'business logic',
    process.execPath,
    ['--import', 'tsx', 'src/business-logic.ts', '--port', '0'],
    { cwd: join(repoRoot, 'templates/typescript'), env: { SNAPSHOT_EVERY: String(settings.snapshotEvery) } },
  );
  processes.push(logic);
  const [, logicAddress] = await logic.waitFor(/listening on (\S+)/);
  const projectDir = mkdtempSync(join(tmpdir(), 'evented-bench-verify-'));
  folders.push(projectDir);
  // The project's .proto files, so that verify decodes and compares payloads as it does for a user.
  cpSync(join(repoRoot, 'templates/typescript/proto'), join(projectDir, 'proto'), { recursive: true });
  writeBenchProject(projectDir, [
    'commandLog: true',
    'domains:',
    `  account: { businessLogic: "${logicAddress}" }`,
  ]);
  const serve = startProcess(
    'evented serve',
    process.execPath,
    [join(repoRoot, 'bin/evented.js'), 'serve', projectDir],
    {
      cwd: projectDir,
      env: { OTEL_SDK_DISABLED: 'true' },
    },
  );
  processes.push(serve);
  const [, commandAddress] = await serve.waitFor(/commands on (\S+?),/);
  const [, admin] = await serve.waitFor(/admin on (\S+);/);
  const caller = unaryCaller({ address: commandAddress!, path: HANDLE_PATH });
  callers.push(caller);

  // 2. The command path: the commands decided and stored (and logged).
  const commandRate = await commandPath(caller, workload());
  console.log(
    `command path: ${perSecond(commandRate)}, decided and stored (${settings.concurrency} in flight)`,
  );

  // 3. The same commands decided again by the same business logic.
  const verifyRate = await verify(admin!, projectDir);
  console.log(`evented verify: ${perSecond(verifyRate)}, decided again (from its start to its answer)`);
  const ratio = verifyRate / commandRate;
  console.log(
    `ratio verify/command path: ${ratio.toFixed(2)}; target ≥ ${TARGET_RATIO.toFixed(1)}: ${ratio >= TARGET_RATIO ? 'PASS' : 'MISS'}`,
  );
};

await runBenchmark(main, async () => {
  for (const caller of callers.splice(0)) caller.close();
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  for (const folder of folders.splice(0)) {
    if (settings.keep) console.log(`kept ${folder}`);
    else rmSync(folder, { recursive: true, force: true });
  }
});
