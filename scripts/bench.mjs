#!/usr/bin/env node
// `npm run bench -- NAME [args…]`: runs bench/NAME.ts with `node --import tsx`, after building dist/ (the
// benchmarks start `evented serve` from it; BENCH_SKIP_BUILD=1 skips the build). Without a NAME, or with an
// unknown one, lists the benchmarks and exits 2. Benchmarks are never part of `npm test`.
// Everything the benchmark prints goes to the terminal and to bench/results/NAME-<ISO date>.txt, after a header
// (the command, the date, `uptime` with the machine's load, node and the machine), so that every figure quoted
// in the README can be traced to the run that printed it.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'bench');
const available = existsSync(benchDir)
  ? readdirSync(benchDir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
      .map((entry) => entry.name.slice(0, -'.ts'.length))
      .sort()
  : [];

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  if (name !== undefined) console.error(`unknown benchmark "${name}"`);
  console.error(
    `usage: npm run bench -- NAME\navailable benchmarks:\n${available.map((b) => `  ${b}`).join('\n') || '  (none)'}`,
  );
  process.exit(2);
}

if (process.env.BENCH_SKIP_BUILD !== '1') {
  console.log('building dist/ (npx tsc -p tsconfig.build.json)…');
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('the build failed; the benchmark needs dist/');
    process.exit(build.status ?? 1);
  }
}

/** `uptime`'s line (time, up since, users, load averages), or the load averages alone where it is missing. */
const uptime = () => {
  const result = spawnSync('uptime', [], { encoding: 'utf8' });
  return result.status === 0
    ? result.stdout.trim()
    : `load average: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`;
};

const started = new Date();
const resultsDir = join(benchDir, 'results');
mkdirSync(resultsDir, { recursive: true });
const resultFile = join(
  resultsDir,
  `${name}-${started
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-')}.txt`,
);
const results = createWriteStream(resultFile);
const tee = (terminal) => (chunk) => {
  terminal.write(chunk);
  results.write(chunk);
};
const say = tee(process.stdout);
const settings = Object.entries(process.env)
  .filter(([key]) => key.startsWith('BENCH_'))
  .map(([key, value]) => `${key}=${value}`)
  .sort();
say(
  [
    `$ npm run bench -- ${[name, ...args].join(' ')}`,
    `date: ${started.toISOString()}`,
    `uptime: ${uptime()}`,
    `node ${process.version} (${process.platform} ${process.arch}), ${availableParallelism()} cores ` +
      `(${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `environment: ${settings.join(' ') || 'no BENCH_* variable set'}`,
    '',
    '',
  ].join('\n'),
);

const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, `${name}.ts`), ...args], {
  cwd: root,
  stdio: ['inherit', 'pipe', 'pipe'],
});
child.stdout.on('data', tee(process.stdout));
child.stderr.on('data', tee(process.stderr));
// Ctrl-C reaches the whole process group: the benchmark stops its own processes. A signal sent to this runner
// alone is passed on; either way, the runner exits with the benchmark.
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('close', (code, signal) => {
  const exitCode = code ?? (signal === 'SIGINT' ? 130 : 1);
  say(`\nended ${new Date().toISOString()} (exit code ${exitCode}); uptime: ${uptime()}\n`);
  results.end(() => {
    console.log(`written to ${relative(root, resultFile)}`);
    process.exit(exitCode);
  });
});
