import { execa } from 'execa';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * A container engine (docker or podman) for the local infrastructure ladder: found on PATH and answering
 * (`<engine> info`), it runs a broker or an agent as a throw-away container published on 127.0.0.1 only.
 */

export interface ContainerEngine {
  name: 'docker' | 'podman';
  path: string;
}

/** How to stop a container from any process: `<engine> rm -f <id>`. */
export interface ContainerRecord {
  how: 'container';
  /** The engine's program (docker or podman). */
  engine: string;
  id: string;
}

/** Removes a recorded container if it is still there; returns whether it was. */
export const removeRecordedContainer = async (record: ContainerRecord): Promise<boolean> => {
  const result = await execa(record.engine, ['rm', '-f', record.id], {
    reject: false,
    timeout: 30_000,
    stdin: 'ignore',
  });
  return result.exitCode === 0;
};

export interface RunningContainer {
  readonly id: string;
  readonly engine: ContainerEngine;
  readonly record: ContainerRecord;
  /** `<engine> rm -f`: the container was started with --rm, so nothing is left. */
  stop(): Promise<void>;
}

/** Where `name` is on the PATH of `env`, or undefined. */
export const onPath = (name: string, env: NodeJS.ProcessEnv = process.env): string | undefined => {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
};

const firstLine = (text: string): string => text.trim().split('\n')[0]?.slice(0, 200) ?? '';

/**
 * The first container engine on PATH whose engine answers. `tried` gets one line per engine looked at, for the
 * error that names everything the ladder tried.
 */
export const findContainerEngine = async (
  env: NodeJS.ProcessEnv,
  tried: string[],
): Promise<ContainerEngine | undefined> => {
  for (const name of ['docker', 'podman'] as const) {
    const path = onPath(name, env);
    if (path === undefined) {
      tried.push(`${name}: not on PATH`);
      continue;
    }
    const info = await execa(
      path,
      ['info', '--format', name === 'docker' ? '{{.ServerVersion}}' : '{{.Version.Version}}'],
      {
        env,
        reject: false,
        timeout: 5000,
        stdin: 'ignore',
      },
    );
    if (info.exitCode === 0) return { name, path };
    tried.push(
      `${name} (${path}): its engine does not answer: ${firstLine(String(info.stderr || info.stdout)) || 'no output'}`,
    );
  }
  return undefined;
};

export const runContainer = async (
  engine: ContainerEngine,
  options: {
    name: string;
    image: string;
    publish: { host: number; container: number }[];
    args?: string[];
    env: NodeJS.ProcessEnv;
  },
): Promise<RunningContainer> => {
  const publish = options.publish.flatMap((p) => ['-p', `127.0.0.1:${p.host}:${p.container}`]);
  const result = await execa(
    engine.path,
    ['run', '-d', '--rm', '--name', options.name, ...publish, options.image, ...(options.args ?? [])],
    { env: options.env, reject: false, timeout: 300_000, stdin: 'ignore' },
  );
  if (result.exitCode !== 0) {
    throw new Error(`${engine.name} run ${options.image} failed: ${firstLine(String(result.stderr))}`);
  }
  const id = String(result.stdout).trim();
  return {
    id,
    engine,
    record: { how: 'container', engine: engine.path, id },
    async stop() {
      await execa(engine.path, ['rm', '-f', id], {
        env: options.env,
        reject: false,
        timeout: 30_000,
        stdin: 'ignore',
      });
    },
  };
};
