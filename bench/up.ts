// `npm run bench -- up`: how long `evented up` takes to be ready on the embedded defaults (SQLite store,
// in-process bus, evented.yaml; no user processes): from starting the built CLI as a subprocess to its
// "is ready" line, over several runs on a fresh project each time, then stopped with SIGTERM as Ctrl-C would.
// Prints each run, min / median / max, the machine's load, and PASS/MISS against the target (< 3 s).
// Settings come from environment variables (printed at the start); see `settings` below.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBenchmark, startProcess, type BenchProcess } from './lib/processes.js';
import { numberEnv } from './lib/settings.js';
import { fmtMs, percentile } from './lib/stats.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const READY = /is ready: commands on (\S+), queries on (\S+), admin on (\S+)\./;
const TARGET_MS = 3000;

const settings = {
  runs: Math.max(1, numberEnv('BENCH_RUNS', 5)),
  keep: process.env.BENCH_KEEP === '1',
};

const dirs: string[] = [];
let current: BenchProcess | undefined;

/** Every server on a free port: the benchmark never meets a running `evented up` (1313-1316, 1748). */
const config = [
  'name: bench',
  'commandHandler:',
  '  port: 0',
  'queryHandler:',
  '  port: 0',
  'projectorCoordinator:',
  '  port: 0',
  'sagaCoordinator:',
  '  port: 0',
  'admin:',
  '  port: 0',
  '',
].join('\n');

const once = async (): Promise<{ readyMs: number; stopMs: number }> => {
  const dir = mkdtempSync(join(tmpdir(), 'evented-bench-up-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'evented.yaml'), config);
  const started = performance.now();
  current = startProcess('evented up', process.execPath, [join(repoRoot, 'bin/evented.js'), 'up', dir], {
    cwd: dir,
  });
  await current.waitFor(READY, 60_000);
  const readyMs = performance.now() - started;
  const stopping = performance.now();
  await current.stop(10_000);
  const stopMs = performance.now() - stopping;
  const { code } = await current.exited;
  if (code !== 0) throw new Error(`evented up exited with ${String(code)} on SIGTERM:\n${current.output()}`);
  current = undefined;
  return { readyMs, stopMs };
};

const main = async (): Promise<void> => {
  console.log(
    `evented up on the embedded defaults, ${settings.runs} runs (BENCH_RUNS), fresh project each time`,
  );
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on this machine`,
  );
  const ready: number[] = [];
  for (let run = 1; run <= settings.runs; run++) {
    const { readyMs, stopMs } = await once();
    ready.push(readyMs);
    console.log(`  run ${run}: ready in ${fmtMs(readyMs)}, stopped in ${fmtMs(stopMs)}`);
  }
  const sorted = Float64Array.from(ready).sort();
  const median = percentile(sorted, 50);
  console.log(
    `ready: min ${fmtMs(sorted[0]!)}, median ${fmtMs(median)}, max ${fmtMs(sorted[sorted.length - 1]!)}`,
  );
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`target: median < ${fmtMs(TARGET_MS)}: ${median < TARGET_MS ? 'PASS' : 'MISS'}`);
};

const cleanup = async (): Promise<void> => {
  await current?.stop(5000);
  if (!settings.keep) for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
};

await runBenchmark(main, cleanup);
