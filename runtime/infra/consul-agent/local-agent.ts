import { execa, type ResultPromise } from 'execa';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { UnavailableError } from '../../errors/index.js';
import { freePort } from '../../support/net.js';
import { identify } from '../../support/signals.js';
import type { SignalRecord } from '../stop-record.js';

/**
 * A private Consul dev agent (`consul agent -dev`) on its own ports, on 127.0.0.1 only, for `evented up
 * --config consul` when no agent is reachable and no container engine works. A dev agent keeps its KV in
 * memory: what `evented up` writes there lasts as long as the agent.
 */

export interface LocalConsulAgent {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number;
  readonly log: string;
  stop(): Promise<void>;
}

/** Whether a Consul agent answers at `url` (it has a leader: KV reads and writes work). */
export const consulAnswers = async (url: string, timeoutMs = 1000): Promise<boolean> => {
  try {
    const response = await fetch(new URL('/v1/status/leader', url), {
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok && (await response.text()).replaceAll('"', '').trim() !== '';
  } catch {
    return false;
  }
};

export const startLocalConsulAgent = async (options: {
  binary: string;
  dataDir: string;
  log: string;
  env: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  /** Called as soon as the agent's process is started (before it answers), with how to stop it from elsewhere. */
  onSpawned?: (record: SignalRecord) => void;
}): Promise<LocalConsulAgent> => {
  mkdirSync(options.dataDir, { recursive: true });
  const [http, serfLan, serfWan, server] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const args = [
    'agent',
    '-dev',
    '-bind=127.0.0.1',
    '-client=127.0.0.1',
    `-http-port=${http}`,
    '-dns-port=-1',
    '-grpc-port=-1',
    `-serf-lan-port=${serfLan}`,
    `-serf-wan-port=${serfWan}`,
    `-server-port=${server}`,
    `-data-dir=${join(options.dataDir, 'data')}`,
  ];
  mkdirSync(dirname(options.log), { recursive: true });
  const fd = openSync(options.log, 'a');
  // A file descriptor of our own (the agent writes its log itself): execa's types take one only as a literal.
  const output = fd as 3;
  const child: ResultPromise = execa(options.binary, args, {
    env: options.env,
    stdin: 'ignore',
    stdout: output,
    stderr: output,
    reject: false,
    cleanup: true,
  });
  closeSync(fd);
  // An empty start time (it could not be read) never matches: such a record is never signalled.
  const pid = child.pid ?? -1;
  options.onSpawned?.({ how: 'signal', pid, startTime: identify(pid)?.startTime ?? '', group: false });
  let ended: string | undefined;
  const exited = child.then(
    (r) => (ended = r.signal ? `killed by ${r.signal}` : `exited with code ${String(r.exitCode)}`),
  );
  const url = `http://127.0.0.1:${http}`;
  const stop = async (): Promise<void> => {
    if (ended !== undefined) return;
    child.kill('SIGTERM');
    await Promise.race([exited, pause(10_000)]);
    if (ended === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await consulAnswers(url, 500))) {
    if (ended !== undefined || Date.now() > deadline) {
      await stop();
      throw new UnavailableError(
        `the local Consul agent (${options.binary} agent -dev, HTTP on ${http}) ${ended ?? 'did not answer in time'}; its log: ${options.log}`,
        { hint: 'give a reachable agent with --config http://HOST:8500, or set CONSUL_HTTP_ADDR' },
      );
    }
    await pause(100);
  }
  return { url, pid: child.pid ?? -1, log: options.log, stop };
};
