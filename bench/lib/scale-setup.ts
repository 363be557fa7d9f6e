import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchProject } from './project-file.js';
import { DEFAULT_CLAIM_TTL_MS } from '../../runtime/config/schema.js';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';
import { subscriberQueue } from '../../runtime/bus/amqp/topology.js';
import { DEFAULT_PARTITIONS } from '../../runtime/bus/partition.js';
import { numberEnv } from './settings.js';
import { startProcess, type BenchProcess } from './processes.js';

/**
 * What the parts of `npm run bench -- scale` share: the settings, a schema per part (dropped at the end), the
 * project folders, the `evented serve` processes (watched: one that dies unasked stops the run), and cleanup.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A part of the benchmark: runs, prints as it goes, returns its lines for the summary at the end. */
export type ScalePart = () => Promise<string[]>;

export const scaleSettings = {
  postgresUrl:
    process.env.BENCH_POSTGRES_URL ??
    process.env.EVENTED_TEST_POSTGRES_URL ??
    'postgres://postgres@127.0.0.1:5432/test',
  amqpUrl:
    process.env.BENCH_AMQP_URL ?? process.env.EVENTED_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  /** command: commands in flight, aggregates, warm-up, measured seconds (split into rounds), rounds. */
  concurrency: Math.max(1, Math.round(numberEnv('BENCH_CONCURRENCY', 64))),
  accounts: Math.max(1, Math.round(numberEnv('BENCH_ACCOUNTS', 1000))),
  warmupS: numberEnv('BENCH_WARMUP_S', 3),
  durationS: numberEnv('BENCH_DURATION_S', 12),
  rounds: Math.max(1, Math.round(numberEnv('BENCH_ROUNDS', 3))),
  /** failover: commands per second, and seconds before, and after each kill. */
  rate: numberEnv('BENCH_RATE', 500),
  failoverProcesses: Math.max(2, Math.round(numberEnv('BENCH_FAILOVER_PROCESSES', 3))),
  steadyS: numberEnv('BENCH_STEADY_S', 5),
  /** failover: a run per claim lifetime (delivery.claimTtlMs); by default one, at the default. */
  claimTtlsMs: (process.env.BENCH_CLAIM_TTLS_MS ?? String(DEFAULT_CLAIM_TTL_MS))
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n >= 300),
  /** spread: events stored before the coordinators start, over how many aggregates, ms per projector call. */
  events: Math.max(1, Math.round(numberEnv('BENCH_EVENTS', 200_000))),
  aggregates: Math.max(1, Math.round(numberEnv('BENCH_AGGREGATES', 20_000))),
  callMs: numberEnv('BENCH_CALL_MS', 5),
  coordinators: (process.env.BENCH_COORDINATORS ?? '1,2,4')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0),
  /**
   * How long each spread setting is measured, from when its processes hold the partitions in balance (the whole
   * drain takes minutes at 5 ms a call): events/s over it.
   */
  windowS: numberEnv('BENCH_SPREAD_WINDOW_S', 20),
  keep: process.env.BENCH_KEEP === '1',
  describe(): string {
    const shown = (url: string): string => url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
    return (
      `store ${shown(this.postgresUrl)}, broker ${shown(this.amqpUrl)}\n` +
      `settings: BENCH_CONCURRENCY=${this.concurrency} BENCH_ACCOUNTS=${this.accounts} BENCH_WARMUP_S=${this.warmupS} ` +
      `BENCH_DURATION_S=${this.durationS} BENCH_ROUNDS=${this.rounds} BENCH_RATE=${this.rate} ` +
      `BENCH_FAILOVER_PROCESSES=${this.failoverProcesses} BENCH_STEADY_S=${this.steadyS} BENCH_CLAIM_TTLS_MS=${this.claimTtlsMs.join(',')} BENCH_EVENTS=${this.events} ` +
      `BENCH_AGGREGATES=${this.aggregates} BENCH_CALL_MS=${this.callMs} BENCH_COORDINATORS=${this.coordinators.join(',')} ` +
      `BENCH_SPREAD_WINDOW_S=${this.windowS}`
    );
  },
};

const processes: BenchProcess[] = [];
const folders: string[] = [];
const schemas: string[] = [];
const exchanges: string[] = [];
/** Subscribers whose queues (on each exchange of `exchanges`) are deleted at cleanup. */
export const subscribersToDelete: string[] = [];
/** Aborted when the benchmark stops (at the end, on an error, on Ctrl-C). */
export const stopping = new AbortController();
/** Processes the benchmark kills on purpose: their end is not a crash. */
const expectedEnds = new Set<BenchProcess>();
let crashed: string | undefined;

/** Registers a process: stopped at cleanup; its unasked end stops the run (see checkRunning). */
export const watch = (child: BenchProcess): BenchProcess => {
  processes.push(child);
  void child.exited.then(({ code, signal }) => {
    if (stopping.signal.aborted || expectedEnds.has(child)) return;
    crashed = `${child.name} exited (${signal ?? `code ${code}`}) during the run; its last output:\n${child.output().slice(-2000)}`;
    stopping.abort();
  });
  return child;
};

/** SIGKILL, on purpose (a failover): resolves once it is gone. */
export const killHard = async (child: BenchProcess): Promise<void> => {
  expectedEnds.add(child);
  process.kill(child.pid, 'SIGKILL');
  await child.exited;
};

/** Stops processes of a finished measurement (SIGTERM, then SIGKILL). */
export const stopAll = async (children: readonly BenchProcess[]): Promise<void> => {
  for (const child of children) expectedEnds.add(child);
  await Promise.all(children.map((child) => child.stop()));
};

/** Throws when the run is being stopped, so that nothing more is measured. */
export const checkRunning = (): void => {
  if (crashed !== undefined) throw new Error(crashed);
  if (stopping.signal.aborted) throw new Error('the benchmark was stopped');
};

/** A PostgreSQL schema of the part's own, dropped at cleanup. */
export const newSchema = (part: string): string => {
  const schema = `bench_scale_${part}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  schemas.push(schema);
  return schema;
};

/** A RabbitMQ exchange of the part's own (its queues are named after it), deleted with them at cleanup. */
export const newExchange = (part: string): string => {
  const exchange = `bench_scale_${part}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  exchanges.push(exchange);
  return exchange;
};

/**
 * A project folder whose evented.yaml holds `lines` after the store, the bus (on `exchange`) and every server on a
 * free port.
 */
export const newProject = (schema: string, lines: string[], exchange = 'evented'): string => {
  const dir = mkdtempSync(join(tmpdir(), 'evented-bench-scale-'));
  folders.push(dir);
  writeBenchProject(dir, [
    `store: { kind: postgres, url: "${scaleSettings.postgresUrl}", schema: ${schema}, poolSize: 10 }`,
    `bus: { kind: amqp, url: "${scaleSettings.amqpUrl}", exchange: ${exchange} }`,
    // The relay-only processes' health server, on a free port too.
    'health: { port: 0 }',
    ...lines,
  ]);
  return dir;
};

/** The sample business logic (templates/typescript), its own process; resolves with its address. */
export const startBusinessLogic = async (): Promise<{ process: BenchProcess; address: string }> => {
  const logic = watch(
    startProcess(
      'business logic',
      process.execPath,
      ['--import', 'tsx', 'src/business-logic.ts', '--port', '0'],
      { cwd: join(repoRoot, 'templates/typescript'), env: { SNAPSHOT_EVERY: '10' } },
    ),
  );
  const [, address] = await logic.waitFor(/listening on (\S+)/);
  return { process: logic, address: address! };
};

export interface Served {
  process: BenchProcess;
  /** Its servers by what its serving line calls them: commands, queries, admin, projectors, health, … */
  servers: Record<string, string>;
}

/** `evented serve DIR --role ROLES` (every role when undefined), resolved once it serves. */
export const startServe = async (name: string, dir: string, roles?: string): Promise<Served> => {
  const args = [join(repoRoot, 'bin/evented.js'), 'serve', dir, ...(roles ? ['--role', roles] : [])];
  const child = watch(startProcess(name, process.execPath, args, { cwd: dir }));
  const [line] = await child.waitFor(/evented serving .*/, 60_000);
  const servers = Object.fromEntries(
    [...line.matchAll(/(\w+) on ([^\s,;]+)/g)].map(([, label, address]) => [label!, address!]),
  );
  // A process holding every role names its admin service on the next line.
  if (roles === undefined) servers.admin = (await child.waitFor(/admin on ([^\s,;]+)/))[1]!;
  return { process: child, servers };
};

/** A connected client of the part's store, ended by the caller. */
export const connectStore = async (): Promise<pg.Client> => {
  const client = new pg.Client({ connectionString: scaleSettings.postgresUrl });
  await client.connect();
  return client;
};

const deleteExchanges = async (): Promise<void> => {
  if (exchanges.length === 0) return;
  const connection = await amqp.connect(scaleSettings.amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const exchange of exchanges.splice(0)) {
      for (const subscriber of subscribersToDelete) {
        for (let partition = 0; partition < DEFAULT_PARTITIONS; partition += 1) {
          await channel.deleteQueue(subscriberQueue(exchange, subscriber, partition));
        }
      }
      await channel.deleteExchange(exchange);
    }
  } finally {
    await connection.close();
  }
};

export const cleanupScale = async (): Promise<void> => {
  stopping.abort();
  await Promise.all(processes.splice(0).map((child) => child.stop()));
  if (scaleSettings.keep) {
    console.log(`kept ${folders.join(', ')} and schemas ${schemas.join(', ')}`);
    return;
  }
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
  await deleteExchanges();
  if (schemas.length === 0) return;
  const client = await connectStore();
  try {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
};
