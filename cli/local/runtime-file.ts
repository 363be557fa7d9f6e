import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StopRecord } from '../../runtime/index.js';

/**
 * `.evented/runtime.json`: what a running `evented up` writes so that the other commands (status, tail, send,
 * replay, rebuild, down) find it without being told. They talk to it only through the addresses here (gRPC),
 * never through its files, so `--address` can point them at a remote runtime instead.
 *
 * It is also the record of everything `up` started, each with how to stop it from another process (`stop`),
 * rewritten as soon as anything is started: a `kill -9` of `up` at any moment leaves a file from which
 * `evented down` (or the next `up`) ends all of it.
 */

export interface RuntimeComponent {
  /** "store", "bus", "config", "command handler", … or the name of a user process from evented.yaml. */
  name: string;
  /** "sqlite", "memory", "amqp", "rabbitmq-server", "container", "process", … */
  kind: string;
  address?: string | undefined;
  pid?: number | undefined;
  /** The component's log file, when it has one of its own. */
  log?: string | undefined;
  /** How to stop it from another process (a process by pid and start time, a node by name, a container by id). */
  stop?: StopRecord | undefined;
  /** An instance of `up --instances N`: its roles, and its servers by what they serve (commands, queries, admin…). */
  roles?: string[] | undefined;
  servers?: Record<string, string> | undefined;
}

export interface RuntimeFile {
  version: 1;
  /** The project's name (evented.yaml `name`); empty until the configuration has been read. */
  name: string;
  /** The project folder. */
  project?: string;
  /** The `evented up` process: `evented down` signals it, only while its start time still matches. */
  pid: number;
  /** When that process started (support/signals.ts startTimeOf): a pid reused since does not match. */
  pidStartTime?: string;
  startedAt: string;
  /** The runtime's addresses: set once everything is ready (absent while `up` is starting). */
  admin?: string;
  commandHandler?: string;
  queryHandler?: string;
  components: RuntimeComponent[];
}

export const runtimeFilePath = (projectDir: string): string => join(projectDir, '.evented', 'runtime.json');

/** Written atomically: a reader sees the old file or the new one, never half of one. */
export const writeRuntimeFile = (projectDir: string, file: RuntimeFile): void => {
  const path = runtimeFilePath(projectDir);
  mkdirSync(join(projectDir, '.evented'), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
};

/** The running environment's file, or undefined when there is none (nothing is up, or it was not readable). */
export const readRuntimeFile = (projectDir: string): RuntimeFile | undefined => {
  try {
    const file = JSON.parse(readFileSync(runtimeFilePath(projectDir), 'utf8')) as RuntimeFile;
    return file.version === 1 ? file : undefined;
  } catch {
    return undefined;
  }
};

export const removeRuntimeFile = (projectDir: string): void => {
  rmSync(runtimeFilePath(projectDir), { force: true });
};

/** What `evented up` keeps in runtime.json as it starts and runs: rewritten on every change. */
export interface RuntimeRecord {
  /** A component was started or changed: recorded at once, with how to stop it. */
  component(component: RuntimeComponent): void;
  /** Everything is ready: the addresses, and the components that are not processes (store, bus) first. */
  ready(
    ready: Required<Pick<RuntimeFile, 'name' | 'admin' | 'commandHandler' | 'queryHandler'>>,
    first: RuntimeComponent[],
  ): void;
  remove(): void;
}

export const recordEnvironment = (
  projectDir: string,
  up: { pid: number; startTime: string },
): RuntimeRecord => {
  const components = new Map<string, RuntimeComponent>();
  let file: RuntimeFile = {
    version: 1,
    name: '',
    project: projectDir,
    pid: up.pid,
    pidStartTime: up.startTime,
    startedAt: new Date().toISOString(),
    components: [],
  };
  let first: RuntimeComponent[] = [];
  const write = (): void =>
    writeRuntimeFile(projectDir, { ...file, components: [...first, ...components.values()] });
  write();
  return {
    component({ name, kind, address, pid, log, stop, roles, servers }) {
      components.set(name, { name, kind, address, pid, log, stop, roles, servers });
      write();
    },
    ready(ready, leading) {
      file = { ...file, ...ready };
      first = leading;
      write();
    },
    remove: () => removeRuntimeFile(projectDir),
  };
};
