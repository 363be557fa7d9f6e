import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserConfig } from '../../runtime/config/schema.js';
import type { ContextualCommand } from '../../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes, uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { createPostgresEventStore } from '../../runtime/store/postgres/index.js';
import type { EventStore } from '../../runtime/store/port.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { commandBook, coverOf, eventBook, forced, payload, range } from '../helpers/books.js';
import { startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, newProject, runEvented, startServe } from '../helpers/cli.js';
import { commandClient } from '../helpers/clients.js';
import { deleteAmqpTopology } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { isStepBack, recordBus, relayHolder } from '../helpers/processes-on-one-store.js';
import { describeWith } from '../helpers/services.js';
import { dropScratchSchemas, scratchNames } from '../helpers/store-adapter.js';
import { tempDir } from '../helpers/tmp.js';
import { wholeLog } from '../contract/store-fixtures.js';

/**
 * One active relay per store, across real `evented serve` processes on one store and one RabbitMQ exchange: a
 * consumer of its own on the exchange records every batch as it arrives while commands flow at a steady rate.
 * Only the process holding the store's relay lease publishes: until the holder is killed (kill -9) nothing reaches
 * the bus twice and the log's positions only go forward; then another process takes the lease within a few
 * seconds and publishes from the saved checkpoint — one step back at most, and the only repeats are what the new
 * holder publishes again of what the old one had published. Afterwards every stored event has reached the bus, each aggregate's in order on first arrival,
 * and every acknowledged command is stored.
 */

const DOMAIN = 'ledger';
const AGGREGATES = 12;
/** Pause between the commands of each of the senders. */
const SEND_EVERY_MS = 15;
const SENDERS = 4;

const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** Commands from SENDERS senders, each one at a time every SEND_EVERY_MS, to the runtimes still alive. */
const startCommands = (roots: Uint8Array[], addresses: () => string[]) => {
  const acknowledged: string[] = [];
  let running = true;
  let sent = 0;
  const senders = range(0, SENDERS).map(async (s) => {
    const clients = new Map<string, ReturnType<typeof commandClient>>();
    for (let i = 0; running; i += 1) {
      const live = addresses();
      const address = live[(s + i) % live.length]!;
      if (!clients.has(address)) clients.set(address, commandClient(address));
      const command = `c-${s}-${i}`;
      const root = roots[(s * 7 + i) % roots.length]!;
      sent += 1;
      try {
        await clients
          .get(address)!
          .handle(commandBook(coverOf(DOMAIN, root), payload('test/C', command)), 5_000);
        acknowledged.push(command);
      } catch {
        // Sent to the process killed meanwhile, or refused in a race: not acknowledged, so not owed.
      }
      await new Promise((resolve) => setTimeout(resolve, SEND_EVERY_MS));
    }
    for (const client of clients.values()) client.close();
  });
  return {
    acknowledged,
    sent: () => sent,
    async stop() {
      running = false;
      await Promise.all(senders);
    },
  };
};

/**
 * `evented status` of each runtime says whether its relay publishes or stands by, and for which process (as
 * PID@HOST), and exits 0 either way.
 */
const expectStatusLines = async (
  runtimes: { process: { pid: number }; admin: string }[],
  holderPid: number,
): Promise<void> => {
  for (const runtime of runtimes) {
    const shown = await runEvented(['status', '--address', runtime.admin]);
    expect(shown.exitCode, shown.stdout + shown.stderr).toBe(0);
    if (runtime.process.pid === holderPid) expect(shown.stdout).toContain('\nrelay: active (this process)\n');
    else
      expect(shown.stdout).toMatch(
        new RegExp(
          `\\nrelay: standby \\(held by ${holderPid}@${hostname()}, since \\d{4}-\\d\\d-\\d\\dT[^)]+\\)\\n`,
        ),
      );
  }
};

/**
 * `count` runtimes on the store `store` configures; kill -9 the relay lease's holder while commands flow; check
 * the bus's record against the store (read through `open()`).
 */
const failOver = async (
  count: number,
  store: NonNullable<UserConfig['store']>,
  amqpUrl: string,
  open: () => Promise<EventStore>,
): Promise<void> => {
  const exchange = `evented-test-failover-${randomUUID()}`;
  const bus = await recordBus(amqpUrl, exchange, DOMAIN);
  const logic = await startScriptedBusinessLogic((context: ContextualCommand) =>
    eventBook(context.command?.cover, [
      forced(payload('test/Done', text(context.command?.pages[0]?.command?.value))),
    ]),
  );
  const reader = await open();
  const runtimes = await Promise.all(
    range(0, count).map(async () => {
      const project = await newProject({
        log: { level: 'warn' },
        store,
        bus: { kind: 'amqp', url: amqpUrl, exchange },
        domains: { [DOMAIN]: { businessLogic: logic.address } },
      });
      return { ...(await startServe(project.dir)), admin: `127.0.0.1:${project.ports.admin}`, killed: false };
    }),
  );
  try {
    const roots = range(0, AGGREGATES).map(() => randomUuidBytes());
    const first = await eventually(async () => {
      const holder = await relayHolder(reader);
      expect(runtimes.map((r) => r.process.pid)).toContain(holder?.pid);
      return holder!;
    });
    await expectStatusLines(runtimes, first.pid);
    const load = startCommands(roots, () => runtimes.filter((r) => !r.killed).map((r) => r.commands));
    await eventually(() => expect(bus.arrivals.length).toBeGreaterThan(20), 30_000);

    // When the holder is killed …
    const victim = runtimes.find((r) => r.process.pid === first.pid)!;
    victim.killed = true;
    const killedAt = Date.now();
    await victim.process.stop('SIGKILL');

    // … another process takes the lease, with a greater fencing number, and publishes again.
    const second = await eventually(
      async () => {
        const holder = await relayHolder(reader);
        expect(holder?.pid).not.toBe(first.pid);
        expect(runtimes.filter((r) => !r.killed).map((r) => r.process.pid)).toContain(holder?.pid);
        return holder!;
      },
      30_000,
      25,
    );
    const leaseTakenAt = Date.now();
    expect(second.fencing).toBeGreaterThan(first.fencing);
    // (a process standing by sees the new holder at its next look, a third of the ttl later at most)
    await eventually(() =>
      expectStatusLines(
        runtimes.filter((r) => !r.killed),
        second.pid,
      ),
    );
    // The new holder's first batch: the step back to its checkpoint, or (when the old holder had saved all it
    // published) the first batch to arrive once the lease was seen taken. Batches the old holder had sent just
    // before it died may still arrive after the kill, going forward.
    const resumed = await eventually(
      () => {
        const arrival = bus.arrivals.find(
          (a, i) => a.at >= leaseTakenAt || (a.at > killedAt && isStepBack(bus.arrivals, i)),
        );
        expect(arrival).toBeDefined();
        return arrival!;
      },
      30_000,
      10,
    );
    console.log(
      `relay failover (${store.kind}, ${count} processes): lease taken ${leaseTakenAt - killedAt} ms after kill -9, ` +
        `the new holder's first batch on the bus ${resumed.at - killedAt} ms after it`,
    );

    await new Promise((resolve) => setTimeout(resolve, 2000));
    await load.stop();

    // Every stored event reaches the bus.
    const stored = await wholeLog(reader);
    const storedKeys = stored.map((e) => `${uuidFromBytes(e.root)}/${e.sequence}`);
    await eventually(() => {
      const seen = new Set(bus.arrivals.flatMap((a) => a.events.map((e) => e.key)));
      expect(storedKeys.filter((key) => !seen.has(key))).toEqual([]);
    }, 30_000);

    // Every acknowledged command is stored (once).
    const commands = stored.map((e) => text(e.event?.value));
    expect(load.acknowledged.length).toBeGreaterThan(50);
    expect(commands.filter((c) => load.acknowledged.includes(c)).sort()).toEqual(
      [...load.acknowledged].sort(),
    );
    expect(new Set(commands).size).toBe(commands.length);

    // One publisher at a time: in each partition (a round is cut into one batch per partition) positions only go
    // forward, but for one step back after the kill (the new holder publishing from the checkpoint); whatever
    // arrives twice was first published by the old holder, before its partition's step, and arrives again from it on.
    const arrivals = [...bus.arrivals];
    const stepsBack = range(0, arrivals.length).filter((i) => isStepBack(arrivals, i));
    const handover = new Map<number, number>();
    for (const i of stepsBack) {
      const { partition, at } = arrivals[i]!;
      expect(handover.has(partition), `a second step back in partition ${partition}`).toBe(false);
      expect(at, `the step back in partition ${partition} came before the kill`).toBeGreaterThan(killedAt);
      handover.set(partition, i);
    }
    const firstSeen = new Map<string, number>();
    const repeats: { key: string; partition: number; first: number; again: number }[] = [];
    arrivals.forEach(({ events, partition }, index) => {
      for (const event of events) {
        const earlier = firstSeen.get(event.key);
        if (earlier === undefined) firstSeen.set(event.key, index);
        else repeats.push({ key: event.key, partition, first: earlier, again: index });
      }
    });
    expect(
      repeats.filter((r) => {
        const step = handover.get(r.partition) ?? arrivals.length;
        return r.first >= step || r.again < step;
      }),
      'repeats other than the new holder publishing again what the old one had',
    ).toEqual([]);

    // Each aggregate's events arrived in order, none missing, on first arrival.
    const firstArrivals = new Map<string, number[]>();
    const counted = new Set<string>();
    for (const event of arrivals.flatMap((a) => a.events)) {
      if (counted.has(event.key)) continue;
      counted.add(event.key);
      firstArrivals.set(event.root, [...(firstArrivals.get(event.root) ?? []), event.sequence]);
    }
    for (const root of roots.map(uuidFromBytes)) {
      const sequences = firstArrivals.get(root) ?? [];
      expect(sequences, root).toEqual(range(0, stored.filter((e) => uuidFromBytes(e.root) === root).length));
    }
    console.log(
      `relay failover (${store.kind}): ${stored.length} events stored, ${arrivals.flatMap((a) => a.events).length} ` +
        `delivered (${repeats.length} repeats), ${load.acknowledged.length} of ${load.sent()} commands acknowledged`,
    );
  } finally {
    await Promise.all(runtimes.filter((r) => !r.killed).map((r) => r.process.stop()));
    await reader.close();
    logic.stop();
    await bus.close();
    await deleteAmqpTopology(amqpUrl, exchange, []);
  }
};

beforeAll(() => assertBuilt());

describeWith('rabbitmq', 'one active relay per store', (amqpUrl) => {
  describeWith('postgres', 'on PostgreSQL', (url) => {
    const schemas = scratchNames();
    afterAll(() => dropScratchSchemas(url, schemas.run));

    it('three processes: one publishes; kill -9 of the holder hands over within seconds, nothing lost', async () => {
      const schema = schemas.next();
      await failOver(3, { kind: 'postgres', url, schema, poolSize: 4 }, amqpUrl, () =>
        createPostgresEventStore({ url, schema, poolSize: 2 }),
      );
    }, 180_000);
  });

  describe('on SQLite', () => {
    it('two processes on one file: kill -9 of the holder hands over (a dead holder is seen at once), nothing lost', async () => {
      const path = join(tempDir(), 'shared.db');
      await failOver(2, { kind: 'sqlite', path }, amqpUrl, async () => createSqliteEventStore({ path }));
    }, 180_000);
  });
});
