import { connect } from 'amqplib';
import { partitionOf } from '../../runtime/bus/partition.js';
import { EventBatch } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidFromBytes, uuidToBytes } from '../../runtime/protocol/uuid.js';
import type { EventStore, PartitionClaim } from '../../runtime/store/port.js';
import type { RecordingProjector } from './delivery.js';

/**
 * What the tests of several `evented serve` processes on one store and one exchange look at: who holds the relay
 * lease and the partitions (from the store), what the relay published (a queue of the test's own on the
 * exchange), and which process delivered which partition when (recording projectors, one endpoint per process).
 */

/** Whether a process id names the process `pid` (`host:pid:random`; `host/pid` as earlier versions wrote it). */
export const isOf = (id: string, pid: number): boolean => new RegExp(`[/:]${pid}(:[0-9a-f]+)?$`).test(id);

/** The process holding the store's relay lease, by pid, with its fencing number. */
export const relayHolder = async (
  store: EventStore,
): Promise<{ pid: number; fencing: number } | undefined> => {
  const lease = (await store.listLeases()).find((each) => each.name === 'relay');
  return lease && { pid: Number(lease.holder.split(':').at(-2)), fencing: lease.fencing };
};

/** Live claims by owner: the partitions each process holds now. */
export const holders = (claims: readonly PartitionClaim[], now = Date.now()): Map<string, number[]> => {
  const result = new Map<string, number[]>();
  for (const claim of claims) {
    if (claim.expiresAt <= now) continue;
    result.set(claim.owner, [...(result.get(claim.owner) ?? []), claim.partition]);
  }
  return result;
};

/** One batch as a queue of the test's own on the exchange received it. */
export interface Arrival {
  at: number;
  /** From its routing key, `<domain>.<partition>`. */
  partition: number;
  first: number;
  last: number;
  /** `root/sequence` of each event in the batch. */
  events: { key: string; root: string; sequence: number }[];
}

/**
 * A queue of the test's own on the exchange, recording every batch of `domain` (of any partition: the routing
 * key is `<domain>.<partition>`, bus/amqp/topology.ts) as it arrives.
 */
export const recordBus = async (url: string, exchange: string, domain: string) => {
  const connection = await connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, `${domain}.*`);
  const arrivals: Arrival[] = [];
  await channel.consume(
    queue,
    (message) => {
      if (message === null) return;
      const batch = EventBatch.decode(new Uint8Array(message.content));
      arrivals.push({
        at: Date.now(),
        partition: Number(message.fields.routingKey.split('.').at(-1)),
        first: batch.firstPosition,
        last: batch.lastPosition,
        events: batch.books.flatMap((book) => {
          const root = uuidFromBytes(book.cover!.root!.value);
          return book.pages.map((page) => ({ key: `${root}/${page.num}`, root, sequence: page.num! }));
        }),
      });
    },
    { noAck: true },
  );
  return { arrivals, close: () => connection.close() };
};

/**
 * Whether the i-th batch goes back: its first position is not past every position of its partition that arrived
 * before it. (A relay's round is cut into one batch per partition, so positions go forward per partition only.)
 */
export const isStepBack = (arrivals: readonly Arrival[], i: number): boolean => {
  const earlier = arrivals.slice(0, i).filter((a) => a.partition === arrivals[i]!.partition);
  return earlier.length > 0 && arrivals[i]!.first <= Math.max(...earlier.map((a) => a.last));
};

/** One call to a recording projector, for one partition of its events. */
export interface PartitionCall {
  /** The index of the endpoint (one per process) that got it. */
  process: number;
  partition: number;
  startedAt: number;
  answeredAt: number;
}

/** Every call each endpoint got (endpoint i is process i's), once per partition of its account events. */
export const callsOf = (projectors: readonly RecordingProjector[], partitions: number): PartitionCall[] =>
  projectors.flatMap((projector, process) =>
    projector.calls.flatMap((call) => {
      const touched = new Set(
        call.keys.map((key) => partitionOf('account', uuidToBytes(key.split('#')[0]!)!, partitions)),
      );
      return [...touched].map((partition) => ({
        process,
        partition,
        startedAt: call.startedAt,
        answeredAt: call.answeredAt ?? Number.POSITIVE_INFINITY,
      }));
    }),
  );

/** Calls of one partition made by different processes at overlapping times. */
export const overlaps = (calls: readonly PartitionCall[], partitions: number): string[] => {
  const found: string[] = [];
  for (let partition = 0; partition < partitions; partition += 1) {
    const mine = calls.filter((c) => c.partition === partition).sort((a, b) => a.startedAt - b.startedAt);
    let latest: PartitionCall | undefined;
    for (const call of mine) {
      if (latest && latest.process !== call.process && call.startedAt < latest.answeredAt) {
        found.push(
          `partition ${partition}: process ${latest.process} ${latest.startedAt}-${latest.answeredAt} and process ${call.process} from ${call.startedAt}`,
        );
      }
      if (!latest || call.answeredAt > latest.answeredAt) latest = call;
    }
  }
  return found;
};

/** Each account's sequences in the order they first arrived, over every endpoint (by arrival time). */
export const firstDeliveries = (projectors: readonly RecordingProjector[]): Record<string, number[]> => {
  const arrivals = projectors.flatMap((projector) =>
    projector.delivered.map((d, index) => ({
      account: d.account,
      sequence: d.sequence,
      at: projector.calls[d.call]!.startedAt,
      index,
    })),
  );
  arrivals.sort((a, b) => a.at - b.at || a.index - b.index);
  const seen = new Set<string>();
  const result: Record<string, number[]> = {};
  for (const { account, sequence } of arrivals) {
    const key = `${account}#${sequence}`;
    if (seen.has(key)) continue;
    seen.add(key);
    (result[account] ??= []).push(sequence);
  }
  return result;
};
