import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { messageOf, UnavailableError } from '../../errors/index.js';
import { freePort, isListening } from '../../support/net.js';
import {
  descendantsOf,
  identify,
  isSameProcess,
  signalProcess,
  type ProcessIdentity,
} from '../../support/signals.js';
import { findProgram, prepareNodeFiles, type NodeFiles } from './node-files.js';

/**
 * A private RabbitMQ node on this machine, from the installed `rabbitmq-server`: its own node name, ports and
 * data folder, so it never touches the machine's broker (which may be running on 5672). `evented up` starts one
 * when no broker is reachable; tests start one to stop and start it under a running bus.
 *
 * The node runs in the foreground as a child process (so it ends with us: execa's cleanup stops it if this
 * process exits). Ready means `rabbitmqctl -n NODE await_startup` succeeded; stop() asks it to stop with
 * `rabbitmqctl -n NODE stop`, and kills the Erlang VM (by its pid file) if that does not work.
 */

export interface LocalRabbitNodeOptions {
  /** Where the node keeps everything (config, Mnesia database, logs). Reusing it keeps durable queues. */
  dataDir: string;
  /** AMQP port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** Erlang distribution port (for rabbitmqctl). Default: a free port. */
  distPort?: number;
  /**
   * Default: evented-<random>@localhost. The database under dataDir is kept per node name: pass the same name
   * again to find an earlier run's queues and messages.
   */
  nodeName?: string;
  /** How long a start may take. Default 60 s (a start takes about 5 s). */
  startTimeoutMs?: number;
  /** The rabbitmq-server to run (rabbitmqctl is taken from beside it). Default: found on PATH or in sbin. */
  serverPath?: string;
  /**
   * Called as soon as the node's process is started (before it is ready), with how to stop it from another
   * process: `evented up` records it, so that a crash of `up` at any moment leaves the node stoppable.
   */
  onSpawned?: (record: RabbitNodeRecord) => void;
}

/** How to stop a private node from any process: by its name through rabbitmqctl, else by its processes. */
export interface RabbitNodeRecord {
  how: 'rabbitmqctl';
  node: string;
  rabbitmqctl: string;
  /** The node's RABBITMQ_* settings (its config, env file and pid file), for rabbitmqctl. */
  env: Record<string, string>;
  /** Where the node writes its Erlang VM's pid. */
  pidFile: string;
  /** The rabbitmq-server process that was started (a wrapper around the VM). */
  server: ProcessIdentity | undefined;
}

export interface LocalRabbitNode {
  /** amqp://guest:guest@127.0.0.1:PORT (guest may log in over loopback). */
  readonly url: string;
  readonly nodeName: string;
  readonly port: number;
  readonly distPort: number;
  /** The node's log. */
  readonly logFile: string;
  /** What rabbitmq-server printed: boot errors that happen before the log is open land here. */
  readonly outputFile: string;
  readonly running: boolean;
  /** Runs `rabbitmqctl -n NODE …args` against this node and returns what it printed. */
  rabbitmqctl(args: string[]): Promise<string>;
  /** Stops the node (its data stays). Does nothing when it is not running. */
  stop(): Promise<void>;
  /** Starts it again after stop(): same name, ports and data, so persistent messages in durable queues are back. */
  start(): Promise<void>;
  restart(): Promise<void>;
}

const STOP_TIMEOUT_MS = 30_000;

/**
 * The pid of the node's Erlang VM, from its pid file, only while that pid is this node's VM (its environment
 * names this pid file): a crashed node leaves its pid file behind, and the pid may be another process's by now.
 */
export const nodeVmPid = (pidFile: string): number | undefined => {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    return environ.includes(`RABBITMQ_PID_FILE=${pidFile}`) ? pid : undefined;
  } catch {
    return undefined; // no pid file, no such process, or no /proc to check it by: nothing we may kill
  }
};

/** Whether anything of a recorded node still runs: its server process or its VM. */
export const recordedNodeAlive = (record: RabbitNodeRecord): boolean =>
  isSameProcess(record.server) || nodeVmPid(record.pidFile) !== undefined;

const waitFor = async (done: () => boolean, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await pause(100);
  }
  return true;
};

/**
 * Stops a node from its record, from any process (`evented down` after `up` died): `rabbitmqctl -n NODE stop`,
 * and if anything of it is still there (it was still booting, or does not answer), its server process with
 * everything it started, and its VM, by SIGKILL. Returns whether anything was running.
 */
export const stopRecordedNode = async (record: RabbitNodeRecord): Promise<boolean> => {
  if (!recordedNodeAlive(record)) return false;
  const stopped = await runTree(record.rabbitmqctl, ['-n', record.node, 'stop'], {
    env: { ...process.env, ...record.env },
    // A running node stops in a few seconds; one still booting (its `up` died mid-start) may not answer at all.
    timeoutMs: 10_000,
  });
  if (stopped === 0 && (await waitFor(() => !recordedNodeAlive(record), STOP_TIMEOUT_MS))) return true;
  // The server is a chain of wrappers (sh, su, sh) around the VM: end the chain from its root down, at once.
  if (isSameProcess(record.server)) killTree(record.server.pid);
  const vm = nodeVmPid(record.pidFile);
  if (vm !== undefined) signalProcess(vm, 'SIGKILL');
  await waitFor(() => !recordedNodeAlive(record), 5000);
  return true;
};

const killTree = (pid: number): void => {
  for (const each of [...descendantsOf(pid), pid]) signalProcess(each, 'SIGKILL');
};

/**
 * Runs a RabbitMQ command line tool to its end and returns its exit code; after `timeoutMs`, ends it with
 * everything it started (as root, Debian's wrapper runs the tool through `su`, in a session of its own, so
 * ending the wrapper alone would leave the tool running). Its output is not wanted: no pipes to wait for.
 */
const runTree = async (
  program: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<number | undefined> => {
  const child = execa(program, args, { env: options.env, reject: false, stdio: 'ignore' });
  const timer = setTimeout(() => child.pid !== undefined && killTree(child.pid), options.timeoutMs);
  try {
    return (await child).exitCode;
  } finally {
    clearTimeout(timer);
  }
};

export const startLocalRabbitNode = async (options: LocalRabbitNodeOptions): Promise<LocalRabbitNode> => {
  const server = options.serverPath
    ? { path: options.serverPath, searched: [dirname(options.serverPath)] }
    : findProgram('rabbitmq-server');
  const ctl = options.serverPath
    ? { path: join(dirname(options.serverPath), 'rabbitmqctl'), searched: [dirname(options.serverPath)] }
    : findProgram('rabbitmqctl');
  if (server.path === undefined || ctl.path === undefined) {
    throw new UnavailableError(
      `rabbitmq-server is not installed: neither rabbitmq-server nor rabbitmqctl was found in ${server.searched.join(', ')}`,
      {
        hint: 'install RabbitMQ (apt-get install rabbitmq-server, brew install rabbitmq) or give an AMQP URL',
      },
    );
  }
  const serverPath = server.path;
  const ctlPath = ctl.path;
  const nodeName = options.nodeName ?? `evented-${randomBytes(4).toString('hex')}@localhost`;
  const port = options.port ?? (await freePort());
  const distPort = options.distPort ?? (await freePort());
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const files: NodeFiles = await prepareNodeFiles({ dataDir: options.dataDir, nodeName, port, distPort });
  const env = { ...process.env, ...files.env };
  let child: ResultPromise | undefined;
  /** Resolves with the exit code when the child has exited. */
  let exited: Promise<number | undefined> | undefined;

  const rabbitmqctl = (args: string[], timeoutMs: number) =>
    execa(ctlPath, ['-n', nodeName, ...args], { env, reject: false, timeout: timeoutMs, stdin: 'ignore' });

  const failure = (why: string, cause?: unknown): UnavailableError =>
    new UnavailableError(
      `the local RabbitMQ node ${nodeName} did not start (${serverPath} with RABBITMQ_NODE_PORT=${port}, ` +
        `RABBITMQ_DIST_PORT=${distPort}, data in ${options.dataDir}): ${why}`,
      { hint: `see ${files.logFile} and ${files.outputFile}`, cause },
    );

  /** The last line rabbitmq-server printed, for an error message. */
  const lastOutput = (): string => {
    try {
      const lines = readFileSync(files.outputFile, 'utf8').split('\n');
      const line =
        lines
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('Crash dump'))
          .pop() ?? '';
      return line.length > 300 ? `${line.slice(0, 300)}…` : line;
    } catch {
      return '';
    }
  };

  const waitReady = async (deadline: number): Promise<void> => {
    let done = false;
    const gone = exited!.then((code) => {
      if (!done)
        throw failure(
          `rabbitmq-server exited (code ${String(code)}): ${lastOutput() || 'it printed nothing'}`,
        );
    });
    const ready = (async () => {
      // The distribution port opens early in the boot; from then on await_startup blocks until the node is
      // up, so its own start-up time (a couple of seconds) overlaps the broker's.
      while (!(await isListening(distPort))) {
        if (done) return;
        if (Date.now() > deadline)
          throw failure(`it did not open port ${distPort} within ${startTimeoutMs} ms`);
        await pause(100);
      }
      for (;;) {
        const seconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
        const result = await rabbitmqctl(
          ['await_startup', '--timeout', String(seconds)],
          seconds * 1000 + 5000,
        );
        if (result.exitCode === 0 || done) return;
        if (Date.now() > deadline) {
          throw failure(`rabbitmqctl await_startup failed: ${String(result.stderr).trim().split('\n')[0]}`);
        }
        await pause(500);
      }
    })();
    try {
      await Promise.race([ready, gone]);
    } finally {
      done = true;
      gone.catch(() => undefined);
      ready.catch(() => undefined);
    }
  };

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    // The node writes to the file itself (a descriptor of its own, not a pipe through this process): its
    // output, and so the node, must not depend on this process, which may die first (`evented up` killed).
    const fd = openSync(files.outputFile, 'a');
    // execa's types take a file descriptor only as a literal number.
    const output = fd as 3;
    child = execa(serverPath, [], {
      env,
      stdin: 'ignore',
      stdout: output,
      stderr: output,
      reject: false,
      cleanup: true,
    });
    closeSync(fd);
    exited = child.then((result) => result.exitCode);
    options.onSpawned?.({
      how: 'rabbitmqctl',
      node: nodeName,
      rabbitmqctl: ctlPath,
      env: files.env,
      pidFile: files.pidFile,
      server: child.pid === undefined ? undefined : identify(child.pid),
    });
    const current = child;
    void exited.then(() => {
      if (child === current) child = undefined;
    });
    try {
      await waitReady(Date.now() + startTimeoutMs);
    } catch (err) {
      await stop().catch(() => undefined);
      throw err instanceof UnavailableError ? err : failure(messageOf(err), err);
    }
  };

  const stop = async (): Promise<void> => {
    const current = child;
    if (current === undefined) return;
    const ended = exited!;
    const within = async (ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      const result = await Promise.race([ended.then(() => true), late]);
      clearTimeout(timer);
      return result;
    };
    await rabbitmqctl(['stop'], STOP_TIMEOUT_MS);
    if (!(await within(STOP_TIMEOUT_MS))) {
      current.kill('SIGTERM');
      if (!(await within(5000))) {
        const vm = nodeVmPid(files.pidFile);
        if (vm !== undefined) process.kill(vm, 'SIGKILL');
        current.kill('SIGKILL');
        await within(5000);
      }
    }
    child = undefined;
  };

  await start();
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    nodeName,
    port,
    distPort,
    logFile: files.logFile,
    outputFile: files.outputFile,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async rabbitmqctl(args) {
      const result = await rabbitmqctl(args, STOP_TIMEOUT_MS);
      if (result.exitCode !== 0) {
        throw new UnavailableError(
          `rabbitmqctl -n ${nodeName} ${args.join(' ')} failed: ${String(result.stderr).trim()}`,
        );
      }
      return String(result.stdout);
    },
    async restart() {
      await stop();
      await start();
    },
  };
};
