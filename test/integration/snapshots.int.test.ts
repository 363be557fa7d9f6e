import { status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContextualCommand } from '../../runtime/protocol/gen/evented/evented.js';
import { command, decodeState, deposit, eventsOf, newRoot, open } from '../helpers/account.js';
import {
  coverOf,
  eventBook,
  nextSequenceOf,
  numbered,
  payload,
  range,
  storedEvents,
} from '../helpers/books.js';
import {
  startForwardingBusinessLogic,
  startSampleBusinessLogic,
  startScriptedBusinessLogic,
} from '../helpers/business-logic.js';
import { failure } from '../helpers/clients.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * Snapshots: business logic receives the latest snapshot and only the events at or after its sequence, and the
 * state stays right across many commands and across a restart (when the aggregate is loaded from the store).
 */

const SNAPSHOT_EVERY = 3;

let observed: { address: string; calls: ContextualCommand[] };

beforeAll(async () => {
  const sample = await startSampleBusinessLogic({ snapshotEvery: SNAPSHOT_EVERY });
  observed = await startForwardingBusinessLogic(sample.address);
});

/** What the business logic was given for the last command: the snapshot's sequence, balance and the pages. */
const lastContext = (): { snapshot: number | undefined; balance: number | undefined; pages: number[] } => {
  const events = observed.calls[observed.calls.length - 1]!.events!;
  return {
    snapshot: events.snapshot?.sequence,
    balance: events.snapshot?.state && decodeState(events.snapshot.state).balance,
    pages: events.pages.map((page) => page.num!),
  };
};

/** Deposits 1, 2, 3, … one command at a time, checking the balance each one reports. */
const depositMany = async (runtime: TestRuntime, root: Uint8Array, count: number, balance: number) => {
  for (const amount of range(1, count)) {
    const response = await runtime.commands.handle(command(root, deposit(amount)));
    balance += amount;
    const [event] = eventsOf(response.books);
    expect(event).toMatchObject({ type: 'MoneyDeposited', amount, balance });
    // Exactly the events from the snapshot up to this one: none folded twice, none missing.
    const from = lastContext().snapshot ?? 0;
    expect(lastContext().pages).toEqual(range(from, event!.sequence - from));
  }
  return balance;
};

describe(`business logic that snapshots every ${SNAPSHOT_EVERY} events`, () => {
  it('gets the latest snapshot and only the events after it; the balance stays right, also after a restart', async () => {
    const domains = { account: { businessLogic: observed.address } };
    const first = await startTestRuntime({ domains });
    const root = newRoot();

    // Given an account with 7 events (sequences 0..6): snapshots were taken at 3 and at 6.
    await first.commands.handle(command(root, open()));
    let balance = await depositMany(first, root, 6, 0);
    expect(balance).toBe(21);

    // When another command comes, business logic gets the snapshot at 6 (balance after 0..5) and event 6 only.
    balance = await depositMany(first, root, 1, balance);
    expect(lastContext()).toEqual({ snapshot: 6, balance: 15, pages: [6] });

    // Nine more (sequences 8..16, deposits 1..9): snapshots at 9, 12 and 15; the state stays right.
    balance = await depositMany(first, root, 9, balance);
    expect(lastContext()).toEqual({ snapshot: 15, balance: 50, pages: [15] });

    // After a restart the cache is empty: the aggregate is loaded from the store, snapshot first.
    await first.runtime.close();
    const second = await startTestRuntime({ domains }, { projectDir: first.projectDir });
    balance = await depositMany(second, root, 1, balance);
    expect(lastContext()).toEqual({ snapshot: 15, balance: 50, pages: [15, 16] });
    expect(balance).toBe(68);

    const history = await storedEvents(second.queries, 'account', root);
    expect(history.map(([sequence]) => sequence)).toEqual(range(0, 18));
  });
});

describe('business logic returning a snapshot beyond its events', () => {
  it('is refused as a business logic failure, and nothing is written', async () => {
    const logic = await startScriptedBusinessLogic((context) => {
      const next = nextSequenceOf(context);
      return {
        ...eventBook(context.command?.cover, [numbered(next)]),
        snapshot: { sequence: next + 2, state: payload() },
      };
    });
    const { commands, queries } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
    });
    const root = newRoot();
    await commands.record(eventBook(coverOf('account', root), [numbered(0)]));

    await expect(commands.handle(command(root, deposit(1)))).rejects.toMatchObject(
      failure(
        status.INTERNAL,
        /returned snapshot\.sequence = 3, but the aggregate has only 2 events with the returned ones/,
      ),
    );
    expect(await storedEvents(queries, 'account', root)).toEqual([[0, 'test/Opaque']]);
  });
});
