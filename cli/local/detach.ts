import { execa } from 'execa';
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';

/**
 * `evented up --detach`: runs `evented up --json` again as a background process of its own (its own session, so
 * closing the terminal does not end it), with its output appended to .evented/logs/up.log, and waits for that
 * log to say ready (then prints the addresses and returns) or to report an error (then prints it, as one line,
 * and fails). `evented down` stops it.
 */

interface DetachOptions {
  store?: string;
  bus?: string;
  config?: string;
  json?: boolean;
  readyTimeout: string;
  instances: string;
}

interface ReadyLine {
  type: 'ready';
  name: string;
  commandHandler: string;
  queryHandler: string;
  admin: string;
  runtimeFile: string;
  instances: { name: string; servers: Record<string, string> }[];
}

/** Reads what was appended to a file since `offset`; returns the new complete lines and the next offset. */
const readNewLines = (path: string, offset: number): { lines: string[]; offset: number } => {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return { lines: [], offset };
    const buffer = Buffer.alloc(size - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    const text = buffer.toString('utf8');
    const end = text.lastIndexOf('\n') + 1;
    return {
      lines: text.slice(0, end).split('\n').slice(0, -1),
      offset: offset + Buffer.byteLength(text.slice(0, end)),
    };
  } finally {
    closeSync(fd);
  }
};

export const runDetached = async (
  projectDir: string,
  options: DetachOptions,
  context: CliContext,
): Promise<void> => {
  const self = context.self;
  if (self?.script === undefined) throw new CliError('--detach: cannot tell how this evented was started');
  const logs = join(projectDir, '.evented', 'logs');
  mkdirSync(logs, { recursive: true });
  const logPath = join(logs, 'up.log');
  const fd = openSync(logPath, 'a');
  let offset = fstatSync(fd).size;
  const flags = (['store', 'bus', 'config'] as const).flatMap((key) =>
    options[key] === undefined ? [] : [`--${key}`, options[key]],
  );
  const args = [
    self.script,
    'up',
    projectDir,
    '--json',
    '--ready-timeout',
    options.readyTimeout,
    '--instances',
    options.instances,
    ...flags,
  ];
  // A file descriptor of our own: execa's types take one only as a literal number.
  const output = fd as 3;
  const child = execa(self.execPath, args, {
    cwd: context.cwd,
    env: { ...context.env, EVENTED_DETACH: undefined, EVENTED_JSON: undefined, EVENTED_INSTANCES: undefined },
    extendEnv: false,
    stdin: 'ignore',
    stdout: output,
    stderr: output,
    detached: true,
    reject: false,
  });
  closeSync(fd);
  let exitCode: number | undefined;
  let exited = false;
  void child.then((result) => {
    exitCode = result.exitCode;
    exited = true;
  });
  const shortLog = relative(context.cwd, logPath).startsWith('..') ? logPath : relative(context.cwd, logPath);

  const errorLines: string[] = [];
  for (;;) {
    const read = readNewLines(logPath, offset);
    offset = read.offset;
    for (const line of read.lines) {
      if (line.startsWith('{')) {
        const event = JSON.parse(line) as { type?: string; error?: { message: string; hint?: string } };
        if (event.type === 'ready') {
          child.unref();
          return announce(event as ReadyLine, child.pid ?? 0, shortLog, options.json === true, context);
        }
        // Its error, as `up --json` prints one (cli/errors.ts formatJsonError).
        if (event.error)
          errorLines.push(`error: ${event.error.message}`, `  hint: ${event.error.hint ?? ''}`);
      } else if (line.startsWith('error: ') || (errorLines.length > 0 && line.startsWith('  hint: '))) {
        errorLines.push(line);
      }
    }
    if (exited || context.signal.aborted) break;
    await pause(50);
  }
  if (context.signal.aborted && !exited) child.kill('SIGTERM');
  await child;
  const [first, hint] = errorLines;
  if (first !== undefined) {
    throw new CliError(first.slice('error: '.length), hint?.slice('  hint: '.length) || undefined);
  }
  throw new CliError(`evented up exited (code ${String(exitCode)}) before it was ready; see ${shortLog}`);
};

const announce = (ready: ReadyLine, pid: number, log: string, json: boolean, context: CliContext): void => {
  context.stdout.write(
    json
      ? `${JSON.stringify({ ...ready, pid, log })}\n`
      : [
          `${ready.name} is running in the background (pid ${pid}):`,
          `  commands  ${ready.commandHandler}`,
          `  queries   ${ready.queryHandler}`,
          `  admin     ${ready.admin}`,
          ...ready.instances.map(
            (instance) =>
              `  ${instance.name}  commands ${instance.servers.commands ?? '-'}, queries ${instance.servers.queries ?? '-'}, admin ${instance.servers.admin ?? '-'}`,
          ),
          `log: ${log}; \`evented down\` stops it`,
          '',
        ].join('\n'),
  );
};
