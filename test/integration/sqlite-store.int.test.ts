import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { StoreError } from '../../runtime/errors/index.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { SCHEMA_VERSION } from '../../runtime/store/sqlite/schema.js';
import { identify } from '../../runtime/support/signals.js';
import { newRef, num, rejectionOf } from '../contract/store-fixtures.js';
import {
  describeStoreAdapter,
  expectKeptAcrossReopen,
  expectOriginsAddedToOldStore,
} from '../helpers/store-adapter.js';
import { tempDir } from '../helpers/tmp.js';

/** The SQLite adapter: the whole event store contract on real files, plus what is particular to a file. */

const { open } = describeStoreAdapter({
  name: 'sqlite',
  create: createSqliteEventStore,
  exportName: 'createSqliteEventStore',
  fresh: () => {
    const dir = tempDir('evented-sqlite-');
    return {
      options: { path: join(dir, 'nested', 'events.db') },
      remove: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

describe('sqlite event store file', () => {
  it('takes over at once a lease whose holder was a process of this machine that is gone, and only then', async () => {
    // Given a lease held for ten minutes, recorded as held by another process of this machine …
    const path = join(tempDir(), 'events.db');
    const [store, other] = [await open({ path }), await open({ path })];
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    onTestFinished(() => void holder.kill('SIGKILL'));
    const recorded = identify(holder.pid!)!;
    expect((await store.acquireLease('relay', 'the-other-process', 600_000)).held).toBe(true);
    const db = new Database(path);
    db.prepare('UPDATE leases SET pid = ?, started = ? WHERE name = ?').run(
      recorded.pid,
      recorded.startTime,
      'relay',
    );
    db.close();

    // … it is not taken while that process runs,
    expect((await other.acquireLease('relay', 'b', 600_000)).held).toBe(false);

    // and it is, at once, once that process is gone (kill -9), with a greater fencing number.
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    const taken = await other.acquireLease('relay', 'b', 600_000);
    expect(taken).toMatchObject({ held: true, lease: { holder: 'b', fencing: 2 } });
  });

  it('creates the file and its folders on first use, in WAL mode', async () => {
    const path = join(tempDir(), 'a', 'b', '.evented', 'events.db');
    expect(existsSync(path)).toBe(false);

    const store = createSqliteEventStore({ path });
    await store.append({ ...newRef(), events: [num(0)] });

    expect(existsSync(path)).toBe(true);
    expect(store.kind).toBe('sqlite');
    expect(store.location).toBe(path);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await store.close();
  });

  it('keeps everything across a reopen', async () => {
    const path = join(tempDir(), 'events.db');
    await expectKeptAcrossReopen(await open({ path }), () => open({ path }));
  });

  it('fails with a StoreError naming the path when the folder cannot be created', () => {
    const dir = tempDir();
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, 'a file where a folder should be');
    const path = join(blocker, 'events.db');

    let error: unknown;
    try {
      createSqliteEventStore({ path });
    } catch (thrown) {
      error = thrown;
    }

    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(path);
    expect((error as StoreError).message).toMatch(/cannot open the SQLite event store/);
    expect((error as StoreError).hint).toMatch(/writable/);
  });

  it('fails with a StoreError when the file is not a database', async () => {
    const path = join(tempDir(), 'events.db');
    writeFileSync(path, 'this is not a SQLite database, but it is long enough to have a header of sorts');
    const error = await rejectionOf((async () => createSqliteEventStore({ path }))());
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(path);
  });

  it('refuses a file of another schema version, saying which versions', async () => {
    const path = join(tempDir(), 'events.db');
    await createSqliteEventStore({ path }).close();
    const db = new Database(path);
    db.prepare('UPDATE evented_schema SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();

    const error = await rejectionOf((async () => createSqliteEventStore({ path }))());

    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toBe(
      `${path} has schema version ${SCHEMA_VERSION + 1}; this evented reads version ${SCHEMA_VERSION}`,
    );
  });

  it('opens a file of this version written before dead letters existed, and keeps its letters from then on', async () => {
    // Given a version-2 file as an evented without dead letters left it (the table is not there) …
    const path = join(tempDir(), 'events.db');
    const ref = newRef();
    const before = createSqliteEventStore({ path });
    await before.append({ ...ref, events: [num(0)] });
    await before.close();
    const db = new Database(path);
    db.exec('DROP TABLE dead_letters');
    db.close();

    // … this evented opens it, reads its events and sets an event aside, and the version stays what it was.
    const store = await open({ path });
    expect(await store.nextSequence(ref)).toBe(1);
    const letter = await store.putDeadLetter({
      subscriber: 'projector:p',
      ...ref,
      sequence: 0,
      position: 1,
      attempts: 5,
      lastError: 'INTERNAL: no',
      at: Date.now(),
    });
    expect(await store.getDeadLetter(letter.id)).toMatchObject({ state: 'open', sequence: 0 });
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT version FROM evented_schema').pluck().get()).toBe(SCHEMA_VERSION);
    check.close();
  });

  it('opens a file written before events had origins: the columns are added, old events read without one', async () => {
    const path = join(tempDir(), 'events.db');
    await expectOriginsAddedToOldStore(
      async (first) => {
        await first.close();
        const db = new Database(path);
        db.exec(
          'DROP INDEX events_by_correlation; ALTER TABLE events DROP COLUMN correlation_id; ALTER TABLE events DROP COLUMN origin',
        );
        db.close();
      },
      () => open({ path }),
    );
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT version FROM evented_schema').pluck().get()).toBe(SCHEMA_VERSION);
    check.close();
  });
});
