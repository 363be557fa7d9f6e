import { describe, expect, it } from 'vitest';
import {
  buildTraceTree,
  eventRef,
  progressKey,
  type TraceInput,
  type TracedSubscriber,
} from '../../runtime/admin/trace.js';
import type { Origin } from '../../runtime/protocol/gen/evented/evented.js';
import { timestampFromDate } from '../../runtime/protocol/timestamp.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import type { DeadLetter, Delivery, StoredEvent } from '../../runtime/store/port.js';

/**
 * The trace's tree (runtime/admin/trace.ts, buildTraceTree): commands by command id, their events, each
 * subscriber's state for each event (applied with its timing, handled, pending, dead-lettered), and a saga's
 * commands under the saga's delivery of the event that caused them.
 */

const T0 = Date.parse('2026-12-03T09:00:00Z');
const ALICE = uuidToBytes('00000000-0000-4000-8000-00000000000a')!;
const BOB = uuidToBytes('00000000-0000-4000-8000-00000000000b')!;
const TRANSFER = uuidToBytes('00000000-0000-4000-8000-0000000000f1')!;

const SUBSCRIBERS: TracedSubscriber[] = [
  { kind: 'projector', name: 'balances', domains: ['account'] },
  { kind: 'saga', name: 'transfers', domains: ['account'] },
  { kind: 'projector', name: 'audit', domains: ['transfer'] },
];

const event = (
  position: number,
  domain: string,
  root: Uint8Array,
  sequence: number,
  origin: Partial<Origin>,
): StoredEvent => ({
  position,
  domain,
  root,
  sequence,
  createdAt: timestampFromDate(new Date(T0 + position * 10)),
  event: { typeUrl: `type.googleapis.com/${domain}.Event${position}`, value: new Uint8Array() },
  synchronous: false,
  origin: {
    correlationId: 'c-1',
    commandId: '',
    commandType: '',
    causationId: '',
    saga: '',
    traceparent: '',
    ...origin,
  },
});

/** A client's command on alice (two events), the saga's command on bob caused by alice's first event. */
const EVENTS: StoredEvent[] = [
  event(1, 'account', ALICE, 0, { commandId: 'cmd-1', commandType: 'type.googleapis.com/account.Withdraw' }),
  event(2, 'account', ALICE, 1, { commandId: 'cmd-1', commandType: 'type.googleapis.com/account.Withdraw' }),
  event(3, 'account', BOB, 4, {
    commandId: 'cmd-2',
    commandType: 'type.googleapis.com/account.Deposit',
    causationId: eventRef('account', ALICE, 0),
    saga: 'transfers',
  }),
  event(4, 'transfer', TRANSFER, 0, { commandId: 'cmd-3', commandType: 'type.googleapis.com/transfer.Open' }),
];

const applied = (subscriber: string, root: Uint8Array, from: number, to: number, at: number): Delivery => ({
  subscriber,
  domain: 'account',
  root,
  from,
  to,
  at,
  tookMs: 3,
});

const letter = (fields: Partial<DeadLetter>): DeadLetter => ({
  id: 7,
  subscriber: 'projector:balances',
  domain: 'account',
  root: BOB,
  sequence: 4,
  position: 3,
  attempts: 5,
  lastError: 'INTERNAL: no such account',
  state: 'open',
  createdAt: T0 + 100,
  updatedAt: T0 + 100,
  decidedAt: undefined,
  decidedBy: undefined,
  ...fields,
});

const input = (fields: Partial<TraceInput> = {}): TraceInput => ({
  correlationId: 'c-1',
  events: EVENTS,
  truncated: false,
  subscribers: SUBSCRIBERS,
  deliveries: [],
  letters: [],
  progress: new Map(),
  ...fields,
});

describe('buildTraceTree', () => {
  it('groups events by command, in commit order, and puts a saga command under the saga that issued it', () => {
    const tree = buildTraceTree(input());

    expect(tree.correlationId).toBe('c-1');
    expect(tree.events).toBe(4);
    expect(tree.truncated).toBe(false);
    expect(tree.commands.map((c) => c.commandId)).toEqual(['cmd-1', 'cmd-3']);
    const [withdraw] = tree.commands;
    expect(withdraw!.commandType).toBe('type.googleapis.com/account.Withdraw');
    expect(withdraw!.cover).toEqual({ domain: 'account', root: { value: ALICE } });
    expect(withdraw!.at).toEqual(EVENTS[0]!.createdAt);
    expect(withdraw!.events.map((e) => [e.position, e.sequence])).toEqual([
      [1, 0],
      [2, 1],
    ]);
    const [first, second] = withdraw!.events;
    expect(first!.deliveries.map((d) => `${d.kind}:${d.subscriber}`)).toEqual([
      'projector:balances',
      'saga:transfers',
    ]);
    const saga = first!.deliveries[1]!;
    expect(saga.commands.map((c) => [c.commandId, c.saga, c.causationId])).toEqual([
      ['cmd-2', 'transfers', `account/00000000-0000-4000-8000-00000000000a/0`],
    ]);
    expect(saga.commands[0]!.events.map((e) => e.position)).toEqual([3]);
    expect(second!.deliveries.every((d) => d.commands.length === 0)).toBe(true);
    // The transfer domain is the audit projector's only.
    expect(tree.commands[1]!.events[0]!.deliveries.map((d) => d.subscriber)).toEqual(['audit']);
  });

  it('says when each subscriber applied each event, how long after its commit, from the first call that did', () => {
    const tree = buildTraceTree(
      input({
        deliveries: [
          applied('projector:balances', ALICE, 0, 2, T0 + 42),
          applied('projector:balances', ALICE, 0, 2, T0 + 9000), // a replay, later
          applied('saga:transfers', ALICE, 0, 1, T0 + 30),
          applied('saga:transfers', BOB, 0, 4, T0 + 5), // another range of bob: not this event
        ],
      }),
    );
    const [first, second] = tree.commands[0]!.events;
    expect(first!.deliveries[0]).toMatchObject({
      state: 'applied',
      appliedAt: timestampFromDate(new Date(T0 + 42)),
      msAfterCommit: 32,
      tookMs: 3,
    });
    expect(second!.deliveries[0]).toMatchObject({ state: 'applied', msAfterCommit: 22 });
    expect(first!.deliveries[1]).toMatchObject({ state: 'applied', msAfterCommit: 20 });
    // Alice's second event: the saga has no call logged for it, and its progress is not past it.
    expect(second!.deliveries[1]).toMatchObject({ state: 'pending', appliedAt: undefined });
    const bob = first!.deliveries[1]!.commands[0]!.events[0]!;
    expect(bob.deliveries.map((d) => d.state)).toEqual(['pending', 'pending']);
  });

  it('marks an open dead letter, a retried one with its call, and an event handled without a logged call', () => {
    const tree = buildTraceTree(
      input({
        letters: [letter({}), letter({ id: 8, subscriber: 'saga:transfers', state: 'retried' })],
        deliveries: [applied('saga:transfers', BOB, 4, 5, T0 + 500)],
        progress: new Map([[progressKey('projector:balances', { domain: 'account', root: ALICE }), 2]]),
      }),
    );
    const bob = tree.commands[0]!.events[0]!.deliveries[1]!.commands[0]!.events[0]!;
    expect(bob.deliveries[0]).toMatchObject({
      state: 'dead-lettered',
      deadLetterId: 7,
      error: 'INTERNAL: no such account',
    });
    expect(bob.deliveries[1]).toMatchObject({ state: 'retried', deadLetterId: 8, msAfterCommit: 470 });
    expect(tree.commands[0]!.events.map((e) => e.deliveries[0]!.state)).toEqual(['handled', 'handled']);
  });

  it('keeps a saga command whose cause is not in the tree at the top, and says the tree was cut', () => {
    const tree = buildTraceTree(input({ events: EVENTS.slice(2), truncated: true }));
    expect(tree.truncated).toBe(true);
    expect(tree.commands.map((c) => c.commandId)).toEqual(['cmd-2', 'cmd-3']);
  });
});
