import { setTimeout as pause } from 'node:timers/promises';
import type { ResolvedConfig } from '../config/schema.js';
import { ROLES } from '../config/roles.js';
import { ConfigError, UnavailableError } from '../errors/index.js';
import { lastRunLines, spawnUserProcess, type UserProcess } from './processes.js';

/**
 * `evented up --instances N`: N runtime processes, each a real `evented serve` child of `up`, supervised like the
 * user's processes (own process group, log in .evented/logs/instance-K.log, recorded for `evented down`).
 *
 * Every instance holds every role (command, query, relay, projectors, sagas, admin): any one can be killed and the
 * others still take commands, answer queries and `evented status`, and publish and deliver events. That is also
 * what lets the instances share one SQLite file on one machine (a process holding every role may: see roles.ts).
 * Instance k listens on every configured port plus 10·(k−1) (1313, 1323, 1333 … for commands; a port of 0 stays
 * "any free port", then read from what the instance prints once it serves).
 */

/** How far apart the instances' ports are: instance k's are the configured ones plus STEP·(k−1). */
export const INSTANCE_PORT_STEP = 10;

export const instanceName = (index: number): string => `instance-${index}`;
export const portOffsetOf = (index: number): number => INSTANCE_PORT_STEP * (index - 1);

/** How `up` runs `evented serve`: this CLI's node and script. */
export interface ServeCommand {
  execPath: string;
  script: string;
}

/** Where an instance reads its configuration: the file `up` read, or the Consul agent and project. */
export type InstanceConfigSource =
  { kind: 'file'; path: string } | { kind: 'consul'; url: string; name: string };

/** The store and the bus an instance is given when they are not those of the configuration it reads. */
export interface InstanceShared {
  store?: string | undefined;
  bus?: string | undefined;
}

/** The in-process bus reaches only its own process: N > 1 is refused before anything starts. */
export const refuseInstancesOn = (
  instances: number,
  bus: string | undefined,
  config: ResolvedConfig,
): void => {
  if (instances <= 1) return;
  const memory = bus === undefined ? config.bus.kind === 'memory' : bus === 'memory';
  if (!memory) return;
  throw new ConfigError(
    `--instances ${instances}: the in-process bus reaches only its own process, so the instances would not see each other's events: add --bus rabbitmq (or --bus amqp://…); the store may stay SQLite on this machine, or --store postgres://…`,
  );
};

const quoted = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

const commandLine = (serve: ServeCommand, projectDir: string, source: InstanceConfigSource): string => {
  const from =
    source.kind === 'file' ? ['--config', source.path] : ['--consul', source.url, '--name', source.name];
  const args = [serve.execPath, serve.script, 'serve', projectDir, '--role', ROLES.join(','), ...from];
  // exec: the shell becomes the instance, so the recorded pid is the runtime's own.
  return `exec ${args.map(quoted).join(' ')}`;
};

/** The instance's environment: the store, bus and ports it is given, and nothing `serve` would read otherwise. */
const instanceEnv = (env: NodeJS.ProcessEnv, index: number, shared: InstanceShared): NodeJS.ProcessEnv => {
  const result: NodeJS.ProcessEnv = { ...env, EVENTED_PORT_OFFSET: String(portOffsetOf(index)) };
  for (const name of ['EVENTED_ROLE', 'EVENTED_SERVE_STORE', 'EVENTED_SERVE_BUS']) delete result[name];
  if (shared.store !== undefined) result.EVENTED_SERVE_STORE = shared.store;
  if (shared.bus !== undefined) result.EVENTED_SERVE_BUS = shared.bus;
  return result;
};

export interface Instance {
  readonly index: number;
  readonly name: string;
  readonly process: UserProcess;
}

export const spawnInstance = (
  index: number,
  options: {
    serve: ServeCommand;
    projectDir: string;
    source: InstanceConfigSource;
    shared: InstanceShared;
    env: NodeJS.ProcessEnv;
  },
): Instance => {
  const name = instanceName(index);
  const command = commandLine(options.serve, options.projectDir, options.source);
  const process = spawnUserProcess(
    name,
    { command, cwd: options.projectDir, env: {}, readyOn: undefined },
    options.projectDir,
    instanceEnv(options.env, index, options.shared),
  );
  return { index, name, process };
};

/** What `evented serve` prints once every server listens: `evented serving NAME[ as ROLES]: commands on A, …`. */
const SERVING = /^evented serving \S+?(?: as \S+)?: (.*)$/;
/** The serving line's second line: `  admin on 127.0.0.1:1316; bus …`. */
const CONTINUATION = /^\s+\w+ on \S/;
const SERVER_LABELS = ['commands', 'queries', 'projectors', 'sagas', 'admin', 'health', 'metrics', 'console'];

/** The servers an instance's serving lines name: { commands: "127.0.0.1:1323", queries: …, admin: … }. */
export const serversFromLines = (lines: readonly string[]): Record<string, string> | undefined => {
  const at = lines.findIndex((line) => SERVING.test(line));
  if (at === -1) return undefined;
  // Its second line (indented: admin, bus) may come after a log line the runtime wrote meanwhile (same output).
  const second = lines.slice(at + 1).find((line) => CONTINUATION.test(line)) ?? '';
  const text = [lines[at]!.replace(SERVING, '$1'), second].join('; ');
  const servers: Record<string, string> = {};
  for (const [, label, address] of text.matchAll(/(\w+) on ([^\s,;]+)/g)) {
    if (SERVER_LABELS.includes(label!) && servers[label!] === undefined) servers[label!] = address!;
  }
  return servers;
};

/**
 * Waits until the instance prints that it serves (its servers listen), and returns its servers. Throws, naming its
 * log, when it ends first or does not serve within `timeoutMs`.
 */
export const waitUntilServing = async (
  instance: Instance,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Record<string, string>> => {
  const { process } = instance;
  let ended: string | undefined;
  void process.ended.then((how) => (ended = how));
  const deadline = Date.now() + timeoutMs;
  const failure = (what: string): UnavailableError =>
    new UnavailableError(`${instance.name} (evented serve) ${what}; its log: ${process.log}`, {
      hint: 'the log says why; evented serve in the project folder runs one by hand',
    });
  for (;;) {
    // The second line (admin, bus) follows the first at once: wait for both, or for the end of the log.
    const lines = lastRunLines(process.log);
    const servers = serversFromLines(lines);
    if (servers !== undefined && (servers.admin !== undefined || ended !== undefined)) return servers;
    if (ended !== undefined) throw failure(`${ended} before serving`);
    if (signal?.aborted) throw new UnavailableError(`interrupted while ${instance.name} was starting`);
    if (Date.now() > deadline) throw failure(`did not serve within ${timeoutMs} ms`);
    await pause(50);
  }
};
