import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { StoreError } from '../../runtime/errors/index.js';
import { createPostgresEventStore } from '../../runtime/store/postgres/index.js';
import { SCHEMA_VERSION } from '../../runtime/store/postgres/schema.js';
import { newRef, num, positionsOf, range, rejectionOf, wholeLog } from '../contract/store-fixtures.js';
import { eventually } from '../helpers/eventually.js';
import { describeWith } from '../helpers/services.js';
import {
  describeStoreAdapter,
  expectKeptAcrossReopen,
  expectOriginsAddedToOldStore,
  scratchNames,
} from '../helpers/store-adapter.js';

/**
 * The PostgreSQL adapter: the whole event store contract against a real server (EVENTED_TEST_POSTGRES_URL),
 * each test in a schema of its own that is dropped afterwards, plus what is particular to a server.
 */

describeWith('postgres', 'postgres event store', (url) => {
  const schemas = scratchNames();
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const dropSchema = async (schema: string): Promise<void> => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  };
  afterAll(async () => {
    // Whatever a failed test left behind.
    const { rows } = await admin.query<{ name: string }>(
      'SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)',
      [schemas.run],
    );
    for (const { name } of rows) await dropSchema(name);
    await admin.end();
  });

  const stores = describeStoreAdapter({
    name: 'postgres',
    create: createPostgresEventStore,
    exportName: 'createPostgresEventStore',
    fresh: () => {
      const schema = schemas.next();
      return {
        options: { url, schema, poolSize: 4 },
        forChild: { url, schema, poolSize: 2 },
        remove: () => dropSchema(schema),
      };
    },
  });
  const open = (schema: string) => stores.open({ url, schema, poolSize: 4 });

  it('says what it is and where, without the password', async () => {
    // Trust authentication (the test server's) ignores a password; a URL that has its own keeps it.
    const withPassword = new URL(url);
    if (withPassword.password === '') withPassword.password = 'secret';
    const schema = schemas.next();
    const store = await stores.open({ url: withPassword.toString(), schema });
    expect(store.kind).toBe('postgres');
    expect(store.location).not.toContain(withPassword.password);
    expect(store.location).toContain(withPassword.host);
    expect(store.location).toContain(schema);
  });

  it('keeps everything across a reopen, and opens one schema from many instances at once', async () => {
    const schema = schemas.next();
    const [first] = await Promise.all([open(schema), open(schema), open(schema)]);
    await expectKeptAcrossReopen(first!, () => open(schema));
  });

  it('opens a schema made before events had origins: the columns are added, old events read without one', async () => {
    const schema = schemas.next();
    await expectOriginsAddedToOldStore(
      async (first) => {
        await first.close();
        await admin.query(
          `DROP INDEX "${schema}".events_by_correlation;
           ALTER TABLE "${schema}".events DROP COLUMN correlation_id, DROP COLUMN origin`,
        );
      },
      () => open(schema),
    );
  });

  it('refuses a schema of another version, saying which versions', async () => {
    const schema = schemas.next();
    await (await open(schema)).close();
    await admin.query(`UPDATE "${schema}".evented_schema SET version = $1`, [SCHEMA_VERSION + 1]);

    const error = await rejectionOf(createPostgresEventStore({ url, schema }));

    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(
      new RegExp(`schema version ${SCHEMA_VERSION + 1}; this evented reads version ${SCHEMA_VERSION}$`),
    );
  });

  it('fails with a StoreError and a hint when the server cannot be reached', async () => {
    const unreachable = new URL(url);
    unreachable.port = '1';
    const error = await rejectionOf(createPostgresEventStore({ url: unreachable.toString() }));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/cannot open the PostgreSQL event store at/);
    expect((error as StoreError).hint).toMatch(/server is running/);
  });

  it('frees a lease at once when its holder’s lock connection dies, and tells the holder it is lost', async () => {
    const schema = schemas.next();
    const [holder, other] = await Promise.all([open(schema), open(schema)]);
    const lost: string[] = [];
    holder.onLeaseLost((name) => lost.push(name));
    const first = await holder.acquireLease('relay', 'a', 600_000);
    expect((await other.acquireLease('relay', 'b', 600_000)).held).toBe(false);

    // The session holding the lease's advisory lock (as a kill -9 of the holder, or a lost network, ends it).
    const { rowCount } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks
       WHERE locktype = 'advisory' AND granted
         AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
      [`evented lease ${schema} relay`],
    );
    expect(rowCount).toBe(1);

    // Long before the ttl: the holder hears of it, and the lease goes to the next owner that asks.
    await eventually(() => expect(lost).toEqual(['relay']), 5_000);
    const taken = await other.acquireLease('relay', 'b', 600_000);
    expect(taken).toMatchObject({ held: true, lease: { holder: 'b' } });
    expect(taken.lease!.fencing).toBeGreaterThan(first.lease!.fencing);
    // The old holder asks again on a new lock connection, and is refused.
    expect(await holder.acquireLease('relay', 'a', 600_000)).toMatchObject({
      held: false,
      lease: { holder: 'b' },
    });
  });

  it('ends the session of a holder that keeps its lock but stopped renewing, and the next owner takes the lease', async () => {
    // Given a holder frozen with its lock connection open (a session holding the lock, a lease row lapsed) …
    const schema = schemas.next();
    const store = await open(schema);
    const frozen = new pg.Client({ connectionString: url });
    await frozen.connect();
    const ended = new Promise<void>((resolve) => frozen.on('error', () => resolve()));
    await frozen.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`evented lease ${schema} relay`]);
    await frozen.query(
      `INSERT INTO "${schema}".leases (name, holder, since, expires_at, fencing, payload)
       VALUES ('relay', 'frozen', now() - interval '1 minute', now() - interval '1 second', 7, '')`,
    );

    // … an owner asking is refused while the lock is held, the holder's session is ended, and the lease is taken.
    expect((await store.acquireLease('relay', 'b', 60_000)).held).toBe(false);
    await ended;
    const taken = await eventually(async () => {
      const grant = await store.acquireLease('relay', 'b', 60_000);
      expect(grant.held).toBe(true);
      return grant;
    }, 5_000);
    expect(taken.lease).toMatchObject({ holder: 'b', fencing: 8 });
  });

  it('leaves alone the session of a holder whose lease has not lapsed', async () => {
    const schema = schemas.next();
    const [holder, other] = await Promise.all([open(schema), open(schema)]);
    expect((await holder.acquireLease('relay', 'a', 60_000)).held).toBe(true);
    for (const _ of range(0, 3)) expect((await other.acquireLease('relay', 'b', 60_000)).held).toBe(false);
    expect(await holder.acquireLease('relay', 'a', 60_000)).toMatchObject({
      held: true,
      lease: { fencing: 1 },
    });
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    const error = await rejectionOf(createPostgresEventStore({ url, schema: 'x"; DROP TABLE y; --' }));
    expect((error as Error).message).toMatch(/not a plain identifier/);
  });

  it('never lets a reader pass an event that commits late: positions follow commit order', async () => {
    // Given an append held up inside its transaction after it has been numbered (a raw transaction holds
    // the same aggregate's first event key, so the append's insert waits on it) …
    const schema = schemas.next();
    const [slow, fast, reader] = await Promise.all([open(schema), open(schema), open(schema)]);
    const held = newRef();
    const blocker = await admin.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO "${schema}".events (domain, root, sequence, position, created_seconds, created_nanos, synchronous)
         VALUES ($1, $2, 0, 0, 0, 0, false)`,
        [held.domain, Buffer.from(held.root)],
      );
      const slowAppend = slow.append({ ...held, events: [num(0, 'late')] });
      const waiting = async (): Promise<number> =>
        Number(
          // Only this test's writers: their statements name its schema.
          (
            await admin.query<{ n: string }>(
              `SELECT count(*) AS n FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock' AND strpos(query, $1) > 0`,
              [`"${schema}".`],
            )
          ).rows[0]!.n,
        );
      for (let i = 0; i < 200 && (await waiting()) < 1; i += 1) await new Promise((r) => setTimeout(r, 25));

      // … when another writer appends to another aggregate meanwhile,
      let fastDone = false;
      const fastAppend = fast.append({ ...newRef(), events: [num(0, 'early')] }).then((appended) => {
        fastDone = true;
        return appended;
      });
      for (let i = 0; i < 200 && (await waiting()) < 2; i += 1) await new Promise((r) => setTimeout(r, 25));

      // then no reader sees anything yet: the later writer cannot commit ahead of the earlier number …
      expect(await reader.readLog(0, 10)).toEqual([]);
      expect(fastDone).toBe(false);

      // … and once the first commits, both are read in commit order, the late one first.
      await blocker.query('ROLLBACK');
      const [late, early] = await Promise.all([slowAppend, fastAppend]);
      expect(late.events[0]!.position).toBe(1);
      expect(early.events[0]!.position).toBe(2);
      expect(positionsOf(await wholeLog(reader))).toEqual([1, 2]);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
  });
});
