import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify, type Document } from 'yaml';
import type { RuntimeFile } from '../../cli/local/runtime-file.js';
import type { UserConfig } from '../../runtime/config/schema.js';
import { repoRoot, eventedBin, typescriptTemplate } from './paths.js';
import { freePort } from './ports.js';
import { startProcess, type TestProcess } from './processes.js';
import { tempDir } from './tmp.js';

/** The built CLI (bin/evented.js → dist/), run as a user runs it: a separate node process. */

export const assertBuilt = (): void => {
  if (!existsSync(join(repoRoot, 'dist/cli/main.js'))) {
    throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does) before the e2e tests');
  }
};

export const evented = (
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): TestProcess =>
  startProcess(process.execPath, [eventedBin, ...args], { cwd: options.cwd ?? repoRoot, env: options.env });

/** The runtime's servers, each with the evented.yaml section that sets its port. */
const SERVERS = {
  commands: 'commandHandler',
  queries: 'queryHandler',
  admin: 'admin',
  projectors: 'projectorCoordinator',
  sagas: 'sagaCoordinator',
  health: 'health',
  console: 'console',
} as const;

/** A port for each server of the runtime. */
export type RuntimePorts = Record<keyof typeof SERVERS, number>;

/**
 * A free port for every server of the runtime — fixed in evented.yaml, so that a restarted runtime comes back where
 * it was — so that test files running at the same time never meet.
 */
export const freeRuntimePorts = async (): Promise<RuntimePorts> => ({
  commands: await freePort(),
  queries: await freePort(),
  admin: await freePort(),
  projectors: await freePort(),
  sagas: await freePort(),
  health: await freePort(),
  console: await freePort(),
});

/** What `evented serve` prints once every server listens. */
export const SERVING = /evented serving (\S+): commands on ([^\s,]+), queries on ([^\s,]+)/;

/** `evented serve` on a project, as its own process; resolves once it serves, with its addresses. */
export const startServe = async (
  projectDir: string,
  timeoutMs = 30_000,
): Promise<{ process: TestProcess; commands: string; queries: string }> => {
  const process = evented(['serve', projectDir]);
  const [, , commands, queries] = await process.waitFor(SERVING, timeoutMs);
  return { process, commands: commands!, queries: queries! };
};

/** What `evented serve --role …` prints once the servers of its roles listen: its roles, then `NAME on ADDRESS`. */
export const SERVING_AS = /evented serving (\S+) as (\S+): (.*)/;

/** A process of a role split: the servers it runs, by the name its READY line gives them (commands, admin, …). */
export interface RoleProcess {
  process: TestProcess;
  roles: string[];
  servers: Record<string, string>;
}

/** `evented serve --role ROLES` on a project, as its own process; resolves once it serves, with its servers. */
export const startServeAs = async (
  projectDir: string,
  roles: string,
  timeoutMs = 30_000,
  env?: Record<string, string>,
): Promise<RoleProcess> => {
  const process = evented(['serve', projectDir, '--role', roles], { env });
  const [, , held, servers] = await process.waitFor(SERVING_AS, timeoutMs);
  return {
    process,
    roles: held!.split(','),
    servers: Object.fromEntries(
      [...servers!.matchAll(/(\w+) on ([^\s,]+)/g)].map(([, name, at]) => [name, at]),
    ),
  };
};

/** Puts every server of a parsed evented.yaml (an `evented init` project's, say) on a free port; returns the ports. */
export const moveRuntimePorts = async (config: Document): Promise<RuntimePorts> => {
  const ports = await freeRuntimePorts();
  for (const [server, section] of Object.entries(SERVERS)) {
    config.setIn([section, 'port'], ports[server as keyof RuntimePorts]);
  }
  return ports;
};

/** A process of evented.yaml `processes`: what `evented up` starts, and waits for on `readyOn`. */
export type UserProcess = NonNullable<UserConfig['processes']>[string];

/**
 * evented.yaml as the tests write it: any of its keys, and `ports` for the servers that get a port of their own
 * (a server left out is on its default). The project is named bank unless `name` says otherwise.
 */
export type ProjectConfig = UserConfig & { ports?: Partial<RuntimePorts> };

/** The text of evented.yaml for `config`. */
export const configYaml = ({ ports = {}, ...config }: ProjectConfig): string => {
  const servers = Object.entries(ports).map(([server, port]) => {
    const section = SERVERS[server as keyof RuntimePorts];
    return [section, { ...config[section], port }];
  });
  const merged = Object.fromEntries(servers);
  // The servers' sections first, as ever; spread again after `config` so that they keep its other keys.
  return stringify({ name: 'bank', ...merged, ...config, ...merged }, { lineWidth: 0 });
};

/** Writes `yaml` as the project's evented.yaml; returns its path. */
export const writeConfig = (projectDir: string, yaml: string): string => {
  const path = join(projectDir, 'evented.yaml');
  writeFileSync(path, yaml);
  return path;
};

/**
 * A new project folder whose evented.yaml is `config` (see configYaml), every server of the runtime on a free port
 * of its own unless `config.ports` gives one. Returns the folder, the ports and the file.
 */
export const newProject = async (
  config: ProjectConfig = {},
): Promise<{ dir: string; ports: RuntimePorts; file: string }> => {
  const dir = tempDir();
  const ports = { ...(await freeRuntimePorts()), ...config.ports };
  return { dir, ports, file: writeConfig(dir, configYaml({ ...config, ports })) };
};

/** The sample business logic (templates/typescript) as a process of evented.yaml, listening on `port`. */
export const sampleBusinessLogicProcess = (port: number): UserProcess => ({
  command: `node --import tsx src/business-logic.ts --port ${port}`,
  cwd: typescriptTemplate,
  readyOn: `127.0.0.1:${port}`,
});

/** Whether a process with this id still exists. */
export { isProcessAlive as isRunning } from '../../runtime/support/signals.js';

/**
 * Runs the built CLI to its end with `input` on its stdin (a pipe, not a terminal), `env` added to this
 * process's environment; returns its exit code and its stdout and stderr apart.
 */
export const runEvented = async (
  args: string[],
  options: { cwd?: string; input?: string; env?: Record<string, string> } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> => {
  const result = await execa(process.execPath, [eventedBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: options.env,
    input: options.input ?? '',
    reject: false,
    stripFinalNewline: false,
    timeout: 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
};

/** The .evented/runtime.json that a running `evented up` keeps in the project. */
export const readRuntimeFile = (projectDir: string): RuntimeFile =>
  JSON.parse(readFileSync(join(projectDir, '.evented', 'runtime.json'), 'utf8')) as RuntimeFile;

/** A URL as the CLI shows it: its password, if any, as ***. */
export const shownUrl = (url: string): string => url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');

/** The `error: ` lines of what the CLI printed. */
export const errorLines = (output: string): string[] =>
  output.split('\n').filter((line) => line.startsWith('error: '));

/** `evented down` on the project exits 0, and so does the `evented up` it stops. */
export const expectStoppedByDown = async (projectDir: string, up: TestProcess): Promise<void> => {
  expect(await runEvented(['down', projectDir])).toMatchObject({ exitCode: 0 });
  expect(await up.exited()).toEqual({ exitCode: 0, signal: undefined });
};
