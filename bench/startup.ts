// `npm run bench -- startup`: how `evented serve` start-up grows with the number of domains in evented.yaml.
// For each count (BENCH_DOMAINS, default 0,1000,10000,64000), a fresh project whose evented.yaml lists that many
// domains (each with a business logic address; nothing needs to listen there, connections are lazy) is served
// by the built CLI as a subprocess: the time from its start to its "evented serving" line, and the time it takes
// to exit on a SIGTERM sent while it is still loading (BENCH_SIGTERM_AFTER_MS after its start, default 1500).
// Start-up should grow linearly: each row's cost per domain above the first row is printed, so that rows compare.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBenchmark, startProcess, type BenchProcess } from './lib/processes.js';
import { numberEnv } from './lib/settings.js';
import { fmtMs } from './lib/stats.js';
import { writeBenchProject } from './lib/project-file.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const SERVING = /evented serving/;

const settings = {
  domains: (process.env.BENCH_DOMAINS ?? '0,1000,10000,64000').split(',').map(Number),
  sigtermAfterMs: numberEnv('BENCH_SIGTERM_AFTER_MS', 1500),
  timeoutMs: numberEnv('BENCH_TIMEOUT_MS', 600_000),
};

const dirs: string[] = [];
let current: BenchProcess | undefined;

const project = (domains: number): string => {
  const dir = mkdtempSync(join(tmpdir(), 'evented-bench-startup-'));
  dirs.push(dir);
  const lines = ['log: { level: warn }', domains === 0 ? 'domains: {}' : 'domains:'];
  for (let i = 0; i < domains; i++) lines.push(`  d${i}: { businessLogic: 127.0.0.1:1737 }`);
  writeBenchProject(dir, lines);
  return dir;
};

const serve = (dir: string): BenchProcess =>
  startProcess('evented serve', process.execPath, [join(repoRoot, 'bin/evented.js'), 'serve', dir], {
    cwd: dir,
  });

/** From start to the "evented serving" line; then stopped. */
const readyTime = async (dir: string): Promise<number> => {
  const started = performance.now();
  current = serve(dir);
  await current.waitFor(SERVING, settings.timeoutMs);
  const readyMs = performance.now() - started;
  await current.stop(10_000);
  current = undefined;
  return readyMs;
};

/** How long a process has to exit after SIGTERM before it is reported as hanging (and killed). */
const EXIT_WAIT_MS = 30_000;

/** SIGTERM `sigtermAfterMs` after the start: how long until the process is gone, and its exit code. */
const sigtermWhileLoading = async (dir: string): Promise<string> => {
  const process_ = serve(dir);
  current = process_;
  await new Promise((resolve) => setTimeout(resolve, settings.sigtermAfterMs));
  const sent = performance.now();
  process.kill(process_.pid, 'SIGTERM');
  const exited = await Promise.race([
    process_.exited,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), EXIT_WAIT_MS)),
  ]);
  current = undefined;
  if (exited === undefined) {
    await process_.stop(0);
    return `still running ${fmtMs(EXIT_WAIT_MS)} later (killed)`;
  }
  return `exit ${String(exited.code ?? exited.signal)} ${fmtMs(performance.now() - sent)} later`;
};

const main = async (): Promise<void> => {
  console.log(
    `evented serve start-up by number of domains (BENCH_DOMAINS=${settings.domains.join(',')}); load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  let first: { count: number; readyMs: number } | undefined;
  for (const count of settings.domains) {
    const dir = project(count);
    const readyMs = await readyTime(dir);
    const stopped = await sigtermWhileLoading(dir);
    first ??= { count, readyMs };
    const perDomain =
      count > first.count
        ? `, +${(((readyMs - first.readyMs) * 1000) / (count - first.count)).toFixed(0)} µs a domain`
        : '';
    console.log(
      `  ${String(count).padStart(7)} domains: serving in ${fmtMs(readyMs)}${perDomain}; ` +
        `SIGTERM ${settings.sigtermAfterMs} ms after start: ${stopped}`,
    );
  }
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
};

const cleanup = async (): Promise<void> => {
  await current?.stop(5000);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
};

await runBenchmark(main, cleanup);
