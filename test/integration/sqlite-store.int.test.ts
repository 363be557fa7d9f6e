import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../runtime/errors/index.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { SCHEMA_VERSION } from '../../runtime/store/sqlite/schema.js';
import { describeEventStoreContract, type StoreFactory } from '../contract/event-store.contract.js';
import { newRef, num, plain, rejectionOf, sequencesOf, snapshotAt } from '../contract/store-fixtures.js';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

/** The SQLite adapter: the whole event store contract on real files, plus what is particular to a file. */

const sqliteFactory: StoreFactory = {
  async create() {
    const dir = tempDir('evented-sqlite-');
    const path = join(dir, 'nested', 'events.db');
    return {
      open: async () => createSqliteEventStore({ path }),
      forChildProcess: () => ({
        module: `${repoRoot}runtime/store/sqlite/index.ts`,
        exportName: 'createSqliteEventStore',
        options: { path },
      }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

describeEventStoreContract('sqlite', sqliteFactory);

describe('sqlite event store file', () => {
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
    const ref = newRef();
    const first = createSqliteEventStore({ path });
    await first.append({ ...ref, events: [num(0), num(1), num(2)], snapshot: snapshotAt(2) });
    await first.saveCheckpoint('relay', 3);
    await first.close();

    const reopened = createSqliteEventStore({ path });
    const loaded = await reopened.load(ref);
    expect(plain(loaded.snapshot)).toEqual(snapshotAt(2));
    expect(sequencesOf(loaded.events)).toEqual([2]);
    expect(loaded.next).toBe(3);
    expect(await reopened.headPosition()).toBe(3);
    expect(await reopened.getCheckpoint('relay')).toBe(3);
    const appended = await reopened.append({ ...ref, expectedNext: 3, events: [num(3)] });
    expect(appended.events[0]!.position).toBe(4);
    await reopened.close();
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
});
