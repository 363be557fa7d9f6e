import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RuntimeFile } from '../../cli/local/runtime-file.js';
import { findProgram } from '../../runtime/infra/rabbitmq/node-files.js';
import { acceptsConnections } from '../../runtime/support/net.js';
import {
  assertBuilt,
  evented,
  newProject,
  readRuntimeFile,
  runEvented,
  type UserProcess,
} from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/ports.js';
import { aliveInProc, binFolder, groupAlive, processesMentioning } from '../helpers/processes.js';
import { describeWith, describeWithToolchain } from '../helpers/services.js';

/**
 * `evented down` after `evented up` was killed with SIGKILL (it could stop nothing): everything it had started —
 * a private RabbitMQ node, a Consul agent, the user's processes — is ended from what it recorded in
 * .evented/runtime.json, whenever the kill came; and a recorded pid that another process has now (its start
 * time differs) is never signalled.
 */

const READY = /(\S+) is ready: commands on ([^\s,]+), queries on ([^\s,]+), admin on ([^\s,]+?)[.,] /;

beforeAll(() => assertBuilt());

const projects: string[] = [];
const strangers: number[] = [];
afterAll(() => {
  // Whatever a failed run left: every process that mentions one of this file's projects, and the stand-ins.
  for (const dir of projects) for (const { pid } of processesMentioning(dir)) signal(pid, 'SIGKILL');
  for (const pid of strangers) signal(-pid, 'SIGKILL');
});

const signal = (pid: number, name: NodeJS.Signals): void => {
  try {
    process.kill(pid, name);
  } catch {
    // gone
  }
};

/** A tiny user process: listens on `port`; SIGTERM ends it. */
const listener = (port: number): UserProcess => ({
  command: `node -e "require('net').createServer().listen(${port}, '127.0.0.1')"`,
  readyOn: `127.0.0.1:${port}`,
});

/** A process of this test in a process group of its own, as a user process is: a pid a record might name. */
const stranger = (): number => {
  const child = execa('sleep', ['600'], { detached: true, reject: false, stdio: 'ignore' });
  strangers.push(child.pid!);
  return child.pid!;
};

/** `evented up --bus rabbitmq --config consul` where no broker or agent answers: it starts its own of each. */
const upWithItsOwnInfrastructure = async (dir: string, consul: string) => {
  chmodSync(dir, 0o755); // the broker runs as the user "rabbitmq", which must reach .evented/rabbitmq
  return evented(['up', dir, '--bus', 'rabbitmq', '--config', 'consul'], {
    env: {
      // consul and node from a folder of links; rabbitmq-server's wrapper needs the system's folders
      PATH: `${binFolder(dir, { consul, node: process.execPath })}:/usr/sbin:/usr/bin:/sbin:/bin`,
      EVENTED_AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
      CONSUL_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
    },
  });
};

describeWith('consul', 'evented down after evented up was killed', (consul) => {
  describeWithToolchain(
    'rabbitmq',
    'with a private RabbitMQ node and a Consul agent',
    () => (findProgram('rabbitmq-server').path ? undefined : 'rabbitmq-server is not installed'),
    () => {
      it('ends every process up had started, and signals no recorded pid whose start time differs', async () => {
        // Given `evented up` with its own broker node, its own Consul agent and a user process, all ready,
        const userPort = await freePort();
        const { dir } = await newProject({ processes: { worker: listener(userPort) } });
        projects.push(dir);
        const up = await upWithItsOwnInfrastructure(dir, consul);
        await up.waitFor(READY, 120_000);
        const file = readRuntimeFile(dir);
        const node = file.components.find((c) => c.name === 'rabbitmq')!;
        const agent = file.components.find((c) => c.name === 'consul')!;
        const worker = file.components.find((c) => c.name === 'worker')!;
        const vm = Number(readFileSync(join(dir, '.evented', 'rabbitmq', 'rabbitmq.pid'), 'utf8'));
        const started = processesMentioning(dir).filter(({ pid }) => pid !== up.pid);
        expect(started.length).toBeGreaterThanOrEqual(3);
        expect(started.map(({ pid }) => pid)).toEqual(expect.arrayContaining([vm, agent.pid, worker.pid]));

        // when it is killed where it stands (it can stop nothing),
        await up.stop('SIGKILL');
        expect(started.every(({ pid }) => aliveInProc(pid))).toBe(true);

        // and its record also names two processes of ours whose pids it "had" before they were reused: the up
        // process itself and a user process, with start times that are not theirs,
        const reusedUp = stranger();
        const reusedWorker = stranger();
        const edited: RuntimeFile = {
          ...file,
          pid: reusedUp,
          components: [
            ...file.components,
            {
              name: 'reused',
              kind: 'process',
              pid: reusedWorker,
              stop: { how: 'signal', pid: reusedWorker, startTime: '1', group: true },
            },
          ],
        };
        writeFileSync(join(dir, '.evented', 'runtime.json'), JSON.stringify(edited));

        const down = await runEvented(['down', dir]);

        // then `down` ends all of what up had started: by pid, by what /proc shows, by the ports,
        expect(down).toMatchObject({ exitCode: 0, stderr: '' });
        expect(down.stdout).toMatch(
          /^evented up \(pid \d+\) was no longer running; ended what it had left running: /,
        );
        for (const { pid, command } of started)
          expect({ pid, command, alive: aliveInProc(pid) }).toMatchObject({ alive: false });
        expect(groupAlive(worker.pid!)).toBe(false);
        expect(processesMentioning(dir)).toEqual([]);
        for (const address of [node.address!, agent.address!, `127.0.0.1:${userPort}`]) {
          expect(await acceptsConnections(address, 500)).toBe(false);
        }
        // and never signals a pid whose start time is not the recorded one.
        expect(aliveInProc(reusedUp)).toBe(true);
        expect(aliveInProc(reusedWorker)).toBe(true);
        expect(() => readRuntimeFile(dir)).toThrow(/ENOENT/);
      });

      it('a kill while the broker node is still starting leaves a record from which down ends it', async () => {
        const { dir } = await newProject();
        projects.push(dir);
        const up = await upWithItsOwnInfrastructure(dir, consul);

        // The node is in the record as soon as it is started, long before it is ready: kill up right then.
        await eventually(
          () =>
            expect(readRuntimeFile(dir).components.find((c) => c.name === 'rabbitmq')?.stop).toBeDefined(),
          60_000,
          10,
        );
        await up.stop('SIGKILL');
        expect(up.output()).not.toMatch(READY);
        expect(processesMentioning(dir).length).toBeGreaterThan(0);

        const down = await runEvented(['down', dir]);

        expect(down).toMatchObject({ exitCode: 0, stderr: '' });
        expect(down.stdout).toContain('ended what it had left running: ');
        expect(processesMentioning(dir)).toEqual([]);
      });
    },
  );
});
