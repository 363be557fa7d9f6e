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
 * account, 500 appends at a time, so group commit packs them); returns the store's head.
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
