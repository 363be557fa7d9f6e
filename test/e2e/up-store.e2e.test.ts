import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import {
  assertBuilt,
  errorLines,
  evented,
  expectStoppedByDown,
  newProject,
  runEvented,
  sampleBusinessLogicProcess,
  shownUrl,
} from '../helpers/cli.js';
import { commandClient } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';
import { describeWith } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `evented up --store …` as a user runs it: the built CLI in its own process.
 *
 * PostgreSQL is the real server of this machine. MongoDB cannot be had here (no mongod, and its download site is
 * out of reach), so `--store mongo` is shown up to where a real mongod would take over: the download from a local
 * mirror (with its progress line, MD5 check and cache), and a stand-in mongod — a shell script that fails the way
 * mongod reports a failed start — to show that a MongoDB that cannot start is one clear line and leaves nothing.
 */

const READY = /(\S+) is ready: commands on ([^\s,]+), queries on ([^\s,]+), admin on ([^\s,]+?)[.,] /;
const STACK_FRAME = /^\s+at /m;
const VERSION = '7.0.24';

beforeAll(() => assertBuilt());

/** The command lines of running processes that contain `text`. */
const processesMatching = (text: string): string[] => {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' }).trim().split('\n');
  } catch (error) {
    if ((error as { status?: number }).status === 1) return []; // pgrep exits 1 when nothing matches
    throw error;
  }
};

describeWith('postgres', 'evented up --store postgres://…', (url) => {
  it('stores the events in PostgreSQL, and `evented status` names the store', async () => {
    const logicPort = await freePort();
    const { dir: projectDir } = await newProject({
      domains: { account: { businessLogic: `127.0.0.1:${logicPort}` } },
      processes: { 'business-logic': sampleBusinessLogicProcess(logicPort) },
    });

    const up = evented(['up', projectDir, '--store', url]);
    const [, , commandsAt] = await up.waitFor(READY, 60_000);
    expect(up.output()).toContain(`store: postgres at ${shownUrl(url)} (--store gives its URL;`);

    const account = newRoot();
    await commandClient(commandsAt!).handle(command(account, open('ada'), deposit(100)));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ sequence: number }>(
        'SELECT sequence FROM evented.events WHERE domain = $1 AND root = $2 ORDER BY sequence',
        ['account', Buffer.from(account)],
      );
      expect(rows.map((r) => Number(r.sequence))).toEqual([0, 1]);
    } finally {
      await client.end();
    }

    const status = await runEvented(['status', '--dir', projectDir, '--json']);
    const components = (JSON.parse(status.stdout) as { components: { name: string; kind: string }[] })
      .components;
    expect(components.find((c) => c.name === 'store')).toMatchObject({ kind: 'postgres' });

    await expectStoppedByDown(projectDir, up);
  });
});

describeWith('postgres', 'evented up --store with a database that does not exist', (url) => {
  it('fails at once with "createdb NAME", before starting any of the user\'s processes', async () => {
    const missing = new URL(url);
    missing.pathname = `/evented_missing_${Date.now()}`;
    const workerPort = await freePort();
    const { dir: projectDir } = await newProject({
      processes: {
        worker: {
          command: `node -e "require('net').createServer().listen(${workerPort}, '127.0.0.1')"`,
          readyOn: `127.0.0.1:${workerPort}`,
        },
      },
    });

    const up = evented(['up', projectDir, '--store', missing.toString()]);
    const { exitCode } = await up.exited();

    expect(exitCode).toBe(1);
    const name = missing.pathname.slice(1);
    expect(errorLines(up.output())).toEqual([
      `error: cannot open the PostgreSQL event store at ${shownUrl(missing.toString())} (schema evented): database "${name}" does not exist`,
    ]);
    expect(up.output()).toMatch(
      new RegExp(`^  hint: create it: createdb -h ${missing.hostname} -p ${missing.port} .*${name}$`, 'm'),
    );
    expect(up.output()).not.toMatch(STACK_FRAME);
    // Nothing of the user's was started (and stopped again): the store was opened first.
    expect(existsSync(join(projectDir, '.evented', 'logs', 'worker.log'))).toBe(false);
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
  });
});

describe('evented up --store mongo', () => {
  /** A download site of our own: serves one archive and its .md5, and counts what it served. */
  let mirror: { server: Server; url: string; served: string[] };

  beforeAll(async () => {
    const build = tempDir();
    const folder = `mongodb-linux-x86_64-debian12-${VERSION}`;
    mkdirSync(join(build, folder, 'bin'), { recursive: true });
    const standIn = join(build, folder, 'bin', 'mongod');
    writeFileSync(
      standIn,
      [
        '#!/bin/sh',
        `if [ "$1" = "--version" ]; then echo "db version v${VERSION}"; exit 0; fi`,
        'echo "exception in initAndListen: IllegalOperation: a stand-in for mongod, which cannot run on this machine, terminating"',
        'exit 100',
        '',
      ].join('\n'),
    );
    chmodSync(standIn, 0o755);
    execFileSync('tar', ['-czf', join(build, 'archive.tgz'), '-C', build, folder]);
    const archive = readFileSync(join(build, 'archive.tgz'));
    const md5 = `${createHash('md5').update(archive).digest('hex')}  ${folder}.tgz\n`;

    const served: string[] = [];
    const server = createServer((request, response) => {
      served.push(request.url ?? '');
      if (request.url?.startsWith('/stalled/')) {
        // A download that stops halfway and never ends (a network gone quiet).
        response.writeHead(200, { 'content-length': 50_000_000 });
        response.write(Buffer.alloc(1_000_000));
        return;
      }
      const body = request.url?.endsWith('.md5') ? Buffer.from(md5) : archive;
      response.writeHead(200, { 'content-length': body.length });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    mirror = { server, url: `http://127.0.0.1:${port}/${folder}.tgz`, served };
  });

  afterAll(
    () =>
      new Promise<void>((resolve) => {
        mirror.server.closeAllConnections();
        mirror.server.close(() => resolve());
      }),
  );

  const project = async (): Promise<string> => (await newProject()).dir;

  it('downloads mongod once with a progress line and caches it; a mongod that cannot start is one line', async () => {
    const projectDir = await project();
    const cache = tempDir();
    const env = {
      MONGOMS_DOWNLOAD_DIR: cache,
      MONGOMS_DOWNLOAD_URL: mirror.url,
      MONGOMS_USE_HTTP: 'true',
    };

    const first = evented(['up', projectDir, '--store', 'mongo'], { env });
    expect((await first.exited()).exitCode).toBe(1);

    expect(first.output()).toMatch(
      /^store: this project's own MongoDB, data in \.evented\/mongo \(--store mongo; or --store sqlite/m,
    );
    expect(first.output()).toContain(`downloading MongoDB ${VERSION} into ${cache} (once;`);
    expect(first.output()).toMatch(
      new RegExp(`^downloading MongoDB ${VERSION}: 100% \\(\\d+\\.\\d of \\d+\\.\\d MB\\)$`, 'm'),
    );
    const binaries = readdirSync(cache);
    expect(binaries).toHaveLength(1);
    expect(binaries[0]).toMatch(new RegExp(`^mongod-.*-${VERSION}$`));
    const binary = join(cache, binaries[0]!);
    const log = join(projectDir, '.evented', 'logs', 'mongod.log');
    expect(errorLines(first.output())).toEqual([
      `error: MongoDB did not start from ${binary}: Instance Failed to start with "IllegalOperation". Original Error: a stand-in for mongod, which cannot run on this machine, terminating; its log: ${log}`,
    ]);
    expect(first.output()).toMatch(/^\s+hint: run that mongod by hand to see why/m);
    expect(first.output()).not.toMatch(STACK_FRAME);
    expect(readFileSync(log, 'utf8')).toContain('a stand-in for mongod');
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
    expect(mirror.served).toEqual([new URL(mirror.url).pathname, `${new URL(mirror.url).pathname}.md5`]);

    // Nothing is left running: neither the stand-in nor the library's watchdog (mongo_killer) beside it.
    expect(processesMatching(cache)).toEqual([]);
    expect(processesMatching('mongo_killer')).toEqual([]);

    // The second run takes the binary from the cache: nothing is downloaded again.
    const second = evented(['up', projectDir, '--store', 'mongo'], { env });
    expect((await second.exited()).exitCode).toBe(1);
    expect(second.output()).not.toContain('downloading');
    expect(errorLines(second.output())[0]).toContain(`error: MongoDB did not start from ${binary}:`);
    expect(mirror.served).toHaveLength(2);
  });

  it('Ctrl-C during the download stops `up` at once (exit 130) and leaves nothing in the cache', async () => {
    const projectDir = await project();
    const cache = tempDir();
    const stalled = mirror.url.replace(/\/([^/]+)$/, '/stalled/$1');
    const up = evented(['up', projectDir, '--store', 'mongo'], {
      env: { MONGOMS_DOWNLOAD_DIR: cache, MONGOMS_DOWNLOAD_URL: stalled, MONGOMS_USE_HTTP: 'true' },
    });
    await up.waitFor(/^downloading MongoDB [\d.]+: \d+% /m, 30_000);
    expect(readdirSync(cache).filter((name) => name.startsWith('.download-'))).toHaveLength(1);

    const interrupted = performance.now();
    expect(await up.stop('SIGINT')).toEqual({ exitCode: 130, signal: undefined });
    expect(performance.now() - interrupted).toBeLessThan(5000);
    expect(up.output()).not.toMatch(STACK_FRAME);
    expect(readdirSync(cache)).toEqual([]);
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
  });

  it('a download that fails is one line naming the address and why, and leaves nothing in the cache', async () => {
    const projectDir = await project();
    const cache = tempDir();
    const closed = await freePort();
    const address = `http://127.0.0.1:${closed}/mongodb-linux-x86_64-debian12-${VERSION}.tgz`;

    const up = evented(['up', projectDir, '--store', 'mongo'], {
      env: {
        MONGOMS_DOWNLOAD_DIR: cache,
        MONGOMS_DOWNLOAD_URL: address,
        MONGOMS_USE_HTTP: 'true',
        MONGOMS_MAX_RETRIES: '1',
      },
    });
    expect((await up.exited()).exitCode).toBe(1);

    expect(errorLines(up.output())).toEqual([
      `error: could not download MongoDB ${VERSION} for --store mongo from ${address}: connect ECONNREFUSED 127.0.0.1:${closed}`,
    ]);
    expect(up.output()).toMatch(/^\s+hint: check the network \(HTTPS_PROXY, MONGOMS_DOWNLOAD_MIRROR\)/m);
    expect(up.output()).not.toMatch(STACK_FRAME);
    expect(readdirSync(cache)).toEqual([]);
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
  });

  it('an unknown --store or --bus is a usage mistake: what it accepts, exit 2, nothing started', async () => {
    const projectDir = await project();
    const store = await runEvented(['up', projectDir, '--store', 'mongodb']);
    expect(store.exitCode).toBe(2);
    expect(errorLines(store.stderr)).toEqual([
      'error: --store mongodb: expected sqlite, mongo (an embedded MongoDB), a postgres:// URL or a mongodb:// URL',
    ]);
    const bus = await runEvented(['up', projectDir, '--bus', 'kafka']);
    expect(bus.exitCode).toBe(2);
    expect(errorLines(bus.stderr)).toEqual([
      'error: --bus kafka: expected memory, rabbitmq or an amqp:// URL',
    ]);
    expect(existsSync(join(projectDir, '.evented'))).toBe(false);
  });
});
