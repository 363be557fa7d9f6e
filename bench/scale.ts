// `npm run bench -- scale [command] [failover] [spread]`: evented in several processes on one PostgreSQL and one
// RabbitMQ (the URLs of EVENTED_TEST_POSTGRES_URL and EVENTED_TEST_AMQP_URL, or BENCH_POSTGRES_URL and
// BENCH_AMQP_URL), each part beside its baseline in the same run, each on a schema of its own (dropped after):
// - command: 1 vs 2 `evented serve --role command` processes at 64 commands in flight over 1,000 aggregates,
//   in alternating rounds (so that both see the same machine): commands/s and p50/p99 of each, the ratio, and a
//   check of the store (every acknowledged command stored, no gaps);
// - failover: see bench/lib/scale-failover.ts; spread: see bench/lib/scale-spread.ts.
// Without a part named, all of them. Settings come from environment variables (printed at the start).
import { loadAverage } from './lib/settings.js';
import { runBenchmark } from './lib/processes.js';
import { cleanupScale, scaleSettings, type ScalePart } from './lib/scale-setup.js';
import { commandHandlers } from './lib/scale-command.js';
import { failover } from './lib/scale-failover.js';
import { spread } from './lib/scale-spread.js';

const PARTS: Record<string, ScalePart> = { command: commandHandlers, failover, spread };

const main = async (): Promise<void> => {
  const named = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const unknown = named.filter((name) => PARTS[name] === undefined);
  if (unknown.length > 0) {
    throw new Error(`unknown part ${unknown.join(', ')}: the parts are ${Object.keys(PARTS).join(', ')}`);
  }
  const parts = named.length > 0 ? named : Object.keys(PARTS);
  console.log('scale benchmark: several evented processes on one PostgreSQL and one RabbitMQ');
  console.log(scaleSettings.describe());
  const summary: string[] = [];
  for (const name of parts) {
    console.log(`\n=== ${name} (load average ${loadAverage()})`);
    summary.push(...(await PARTS[name]!()));
    console.log(`load average after ${name}: ${loadAverage()}`);
  }
  console.log(`\n=== summary\n${summary.join('\n')}`);
};

await runBenchmark(main, cleanupScale);
