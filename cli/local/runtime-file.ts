import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `.evented/runtime.json`: what a running `evented up` writes so that the other commands (status, tail, send,
 * replay, rebuild, down) find it without being told. They talk to it only through the addresses here (gRPC),
 * never through its files, so `--address` can point them at a remote runtime instead.
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
}

export interface RuntimeFile {
  version: 1;
  /** The project's name (evented.yaml `name`). */
  name: string;
  /** The `evented up` process: `evented down` signals it. */
  pid: number;
  startedAt: string;
  admin: string;
  commandHandler: string;
  queryHandler: string;
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
