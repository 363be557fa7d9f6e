import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { MongoClient, MongoServerError } from 'mongodb';
import { DryMongoBinary, MongoInstance, errors } from 'mongodb-memory-server-core';
import { MongoBinaryDownload } from 'mongodb-memory-server-core/lib/util/MongoBinaryDownload.js';
import { MongoInstanceEvents } from 'mongodb-memory-server-core/lib/util/MongoInstance.js';
import { UnavailableError, messageOf } from '../../errors/index.js';
import { canListen, freePort } from '../../support/net.js';
import { identify, isProcessAlive } from '../../support/signals.js';
import type { StartedInfra, StartingInfra } from '../resolve.js';
import type { SignalRecord } from '../stop-record.js';
import { consoleInto } from './console-into.js';

/**
 * `evented up --store mongo`: this project's own MongoDB, through mongodb-memory-server. It is a replica set of
 * one member on 127.0.0.1 (the store needs transactions, which need a replica set), with its data in
 * .evented/mongo/data and its port in .evented/mongo/port, so that the next `up` finds the same database again
 * (a replica set remembers its member's host:port).
 *
 * The mongod binary is downloaded on first use, with a progress line, into a cache every project shares
 * ($MONGOMS_DOWNLOAD_DIR, else $XDG_CACHE_HOME/evented/mongodb, else ~/.cache/evented/mongodb), and taken from
 * there after. $MONGOMS_SYSTEM_BINARY uses a mongod already installed; $MONGOMS_VERSION picks the version;
 * the library's other MONGOMS_* variables (download mirror, proxy) apply as it documents them.
 *
 * The library writes warnings and progress to the console, where `up`'s live view owns the terminal: while it
 * works here the console goes to .evented/logs/mongod.log, and a failure reaches the user as one error.
 */

/** The version mongodb-memory-server 10 downloads by default. */
export const MONGO_VERSION = '7.0.24';
const REPLICA_SET = 'evented';

export interface EmbeddedMongoContext {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  progress(message: string): void;
  /** Ctrl-C: a download stops at once (the library cannot cancel it, so it is left behind and its folder removed). */
  signal?: AbortSignal | undefined;
  /** Called as soon as mongod is launched (before it is ready), with how to stop it from another process. */
  starting?: ((infra: StartingInfra) => void) | undefined;
}

export interface EmbeddedMongo extends StartedInfra {
  /** mongodb://127.0.0.1:PORT/?replicaSet=evented */
  readonly url: string;
}

export const startEmbeddedMongo = async (context: EmbeddedMongoContext): Promise<EmbeddedMongo> => {
  const folder = join(context.projectDir, '.evented', 'mongo');
  const log = join(context.projectDir, '.evented', 'logs', 'mongod.log');
  await mkdir(join(folder, 'data'), { recursive: true });
  await mkdir(join(context.projectDir, '.evented', 'logs'), { recursive: true });

  const binary = await consoleInto(log, () => mongodBinary(context));
  const port = await projectPort(folder);
  context.progress(`starting MongoDB (replica set "${REPLICA_SET}") on 127.0.0.1:${port}`);
  const mongod = new MongoInstance({
    instance: {
      ip: '127.0.0.1',
      port,
      dbPath: join(folder, 'data'),
      replSet: REPLICA_SET,
      storageEngine: 'wiredTiger',
      launchTimeout: 60_000,
    },
    binary: { systemBinary: binary },
  });
  const append = (line: string): void => void appendFile(log, `${line}\n`).catch(() => undefined);
  mongod.on(MongoInstanceEvents.instanceSTDOUT, append);
  mongod.on(MongoInstanceEvents.instanceSTDERR, append);
  let record: SignalRecord | undefined;
  mongod.once(MongoInstanceEvents.instanceLaunched, () => {
    const pid = mongod.mongodProcess?.pid ?? -1;
    record = { how: 'signal', pid, startTime: identify(pid)?.startTime ?? '', group: false };
    context.starting?.({ name: 'mongod', kind: 'mongodb-memory-server', record });
  });
  const url = `mongodb://127.0.0.1:${port}/?replicaSet=${REPLICA_SET}`;
  try {
    await consoleInto(log, async () => {
      await mongod.start();
      await initiateReplicaSet(port);
    });
  } catch (err) {
    // A failed start is being stopped by the library already; wait for it, so nothing is left behind.
    await consoleInto(log, () => mongod.stop()).catch(() => undefined);
    throw new UnavailableError(
      `MongoDB did not start from ${binary}: ${oneLine(messageOf(err))}; its log: ${log}`,
      {
        hint: 'run that mongod by hand to see why, or give a server with --store mongodb://…',
        cause: err,
      },
    );
  }
  return {
    name: 'mongod',
    kind: 'mongodb-memory-server',
    url,
    address: `127.0.0.1:${port}`,
    pid: mongod.mongodProcess?.pid,
    log,
    record: record ?? { how: 'signal', pid: -1, startTime: '', group: false },
    stop: () => consoleInto(log, () => mongod.stop()).then(() => undefined),
  };
};

/**
 * Makes the fresh mongod the one member of replica set "evented" (replSetInitiate), or finds it already is (its
 * data says so from an earlier run), then waits until it accepts writes as the primary.
 */
const initiateReplicaSet = async (port: number): Promise<void> => {
  const client = await MongoClient.connect(`mongodb://127.0.0.1:${port}/?directConnection=true`, {
    serverSelectionTimeoutMS: 10_000,
  });
  try {
    const admin = client.db('admin');
    try {
      await admin.command({
        replSetInitiate: { _id: REPLICA_SET, members: [{ _id: 0, host: `127.0.0.1:${port}` }] },
      });
    } catch (err) {
      if (!(err instanceof MongoServerError && err.codeName === 'AlreadyInitialized')) throw err;
    }
    const deadline = Date.now() + 30_000;
    while (!(await admin.command({ hello: 1 })).isWritablePrimary) {
      if (Date.now() > deadline) throw new UnavailableError('it did not become the primary within 30 s');
      await pause(100);
    }
  } finally {
    await client.close();
  }
};

/** Where mongod binaries are kept between runs, for every project of this user. */
export const mongoCacheDir = (env: NodeJS.ProcessEnv): string =>
  env.MONGOMS_DOWNLOAD_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'evented', 'mongodb');

/** The mongod to run: $MONGOMS_SYSTEM_BINARY, the cached one, or one downloaded now into the cache. */
const mongodBinary = async ({ env, progress, signal }: EmbeddedMongoContext): Promise<string> => {
  const system = env.MONGOMS_SYSTEM_BINARY;
  if (system) {
    if (!existsSync(system)) {
      throw new UnavailableError(`no mongod at ${system} ($MONGOMS_SYSTEM_BINARY)`, {
        hint: 'point MONGOMS_SYSTEM_BINARY at an installed mongod, or unset it to download one',
      });
    }
    return system;
  }
  const version = env.MONGOMS_VERSION ?? MONGO_VERSION;
  const cache = mongoCacheDir(env);
  // The library's own options carry the OS it detected, which picks the archive to download.
  const options = { ...(await DryMongoBinary.generateOptions({ version })), version };
  const cached = await new ReportingDownload({ ...options, downloadDir: cache }, progress).binaryPath();
  if (existsSync(cached)) return cached;

  // Downloaded and unpacked beside the cache, then renamed in: an interrupted download leaves no half binary.
  // The folder is named after this process, so that one left by a process that is gone can be removed.
  await mkdir(cache, { recursive: true });
  await removeAbandonedDownloads(cache);
  const staging = join(cache, `${STAGING}${process.pid}`);
  await mkdir(staging, { recursive: true });
  const download = new ReportingDownload({ ...options, downloadDir: staging }, progress);
  try {
    progress(`downloading MongoDB ${version} into ${cache} (once; later runs take it from there)`);
    await rename(await untilAborted(download.getMongodPath(), signal), cached);
    return cached;
  } catch (err) {
    if (signal?.aborted) throw new UnavailableError(`interrupted while downloading MongoDB ${version}`);
    throw new UnavailableError(
      `could not download MongoDB ${version} for --store mongo from ${download.url ?? 'its download site'}: ${downloadFailure(err)}`,
      {
        hint: 'check the network (HTTPS_PROXY, MONGOMS_DOWNLOAD_MIRROR), set MONGOMS_SYSTEM_BINARY to an installed mongod, or give a server with --store mongodb://…',
        cause: err,
      },
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
};

const STAGING = '.download-';

/** Removes download folders of processes that are gone (a download interrupted by Ctrl-C or a crash). */
const removeAbandonedDownloads = async (cache: string): Promise<void> => {
  for (const name of await readdir(cache)) {
    const pid = Number(name.slice(STAGING.length));
    if (name.startsWith(STAGING) && !isProcessAlive(pid)) {
      await rm(join(cache, name), { recursive: true, force: true });
    }
  }
};

/** `work`, or a rejection as soon as `signal` aborts (the work itself goes on, unobserved). */
const untilAborted = <T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> => {
  if (signal === undefined) return work;
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(new Error('aborted'));
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
};

/** The library's downloader, with its progress turned into `progress` lines instead of writes to stdout. */
class ReportingDownload extends MongoBinaryDownload {
  constructor(
    options: ConstructorParameters<typeof MongoBinaryDownload>[0],
    private readonly report: (message: string) => void,
  ) {
    super(options);
  }

  get url(): string | undefined {
    return this._downloadingUrl;
  }

  binaryPath(): Promise<string> {
    return this.getPath();
  }

  private shown = '';

  /** Called by the library for each chunk received (and once at the end): a line every 2 s at most. */
  override printDownloadProgress(chunk: { length: number }, atEnd = false): void {
    const progress = this.dlProgress;
    progress.current += chunk.length;
    const now = Date.now();
    if (this._downloadingUrl?.endsWith('.md5') || (now - progress.lastPrintedAt < 2000 && !atEnd)) return;
    progress.lastPrintedAt = now;
    const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);
    const percent = progress.length > 0 ? `${Math.floor((100 * progress.current) / progress.length)}% ` : '';
    const line = `downloading MongoDB ${this.binaryOpts.version}: ${percent}(${mb(progress.current)} of ${mb(progress.length)} MB)`;
    if (line !== this.shown) this.report(line);
    this.shown = line;
  }
}

/**
 * The port this project's MongoDB listens on: chosen once, then kept in .evented/mongo/port, because the replica
 * set's configuration (in its data) names it.
 */
const projectPort = async (folder: string): Promise<number> => {
  const file = join(folder, 'port');
  const recorded = existsSync(file) ? Number((await readFile(file, 'utf8')).trim()) : undefined;
  if (recorded === undefined || !Number.isInteger(recorded) || recorded <= 0) {
    const port = await freePort();
    await writeFile(file, `${port}\n`);
    return port;
  }
  if (!(await canListen('127.0.0.1', recorded))) {
    throw new UnavailableError(
      `port ${recorded} of this project's MongoDB (recorded in ${file}) is already in use`,
      {
        hint: 'stop what listens there (evented down, if it is an earlier evented up); the replica set in .evented/mongo/data names that port',
      },
    );
  }
  return recorded;
};

/** The library's DownloadError says "Download failed for url …, Details:\n<why>"; the url is already shown. */
const downloadFailure = (err: unknown): string =>
  oneLine(err instanceof errors.DownloadError ? err.msg : messageOf(err));

const oneLine = (message: string): string => message.replace(/\s*\n\s*/g, ' ').trim();
