import { randomUUID } from 'node:crypto';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import type { EventStore } from '../../runtime/store/port.js';
import { encodeEvent } from '../../templates/typescript/src/codec.js';
import type { AccountEvent } from '../../templates/typescript/src/domain.js';

/** The sample domain's events for a backlog: an AccountOpened, then deposits of 100. */
const eventAt = (index: number): AccountEvent =>
  index === 0
    ? { type: 'AccountOpened', owner: 'bench-owner' }
    : { type: 'MoneyDeposited', amount: 100, balance: index * 100 };

/**
 * A backlog of `aggregates` accounts of `perAggregate` events each, appended through the store API (one book per
 * account, 500 appends at a time, so group commit packs them); returns the store's head. Each account's events
 * are one run in the log: see seedInterleaved for the log as commands write it.
 */
export const seedAccounts = async (
  store: EventStore,
  options: { aggregates: number; perAggregate: number },
): Promise<number> => {
  const payloads = Array.from({ length: options.perAggregate }, (_, i) => encodeEvent(eventAt(i)));
  const createdAt = { seconds: Math.floor(Date.now() / 1000), nanos: 0 };
  for (let first = 0; first < options.aggregates; first += 500) {
    const appends: Promise<unknown>[] = [];
    for (let a = first; a < Math.min(options.aggregates, first + 500); a += 1) {
      appends.push(
        store.append({
          domain: 'account',
          root: uuidToBytes(randomUUID())!,
          expectedNext: 0,
          events: payloads.map((event, num) => ({ num, createdAt, event, synchronous: false })),
        }),
      );
    }
    await Promise.all(appends);
  }
  return store.headPosition();
};

/**
 * The same backlog as commands write it: one event per book (each command decides one event), the aggregates
 * interleaved in the log — round `n` appends event `n` of every account, 500 appends at a time. Returns the
 * store's head.
 */
export const seedInterleaved = async (
  store: EventStore,
  options: { aggregates: number; perAggregate: number },
): Promise<number> => {
  const roots = Array.from({ length: options.aggregates }, () => uuidToBytes(randomUUID())!);
  const createdAt = { seconds: Math.floor(Date.now() / 1000), nanos: 0 };
  for (let num = 0; num < options.perAggregate; num += 1) {
    const event = encodeEvent(eventAt(num));
    for (let first = 0; first < roots.length; first += 500) {
      await Promise.all(
        roots.slice(first, first + 500).map((root) =>
          store.append({
            domain: 'account',
            root,
            expectedNext: num,
            events: [{ num, createdAt, event, synchronous: false }],
          }),
        ),
      );
    }
  }
  return store.headPosition();
};
