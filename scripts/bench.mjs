#!/usr/bin/env node
// `npm run bench -- NAME [args…]`: runs bench/NAME.ts with `node --import tsx`, after building dist/ (the
// benchmarks start `evented serve` from it; BENCH_SKIP_BUILD=1 skips the build). Without a NAME, or with an
// unknown one, lists the benchmarks and exits 2. Benchmarks are never part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, `${name}.ts`), ...args], {
  cwd: root,
  stdio: 'inherit',
});
// Ctrl-C reaches the whole process group: the benchmark stops its own processes. A signal sent to this runner
// alone is passed on; either way, the runner exits with the benchmark.
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
