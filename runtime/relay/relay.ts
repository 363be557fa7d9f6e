import type { Logger } from 'pino';
import { messageOf } from '../errors/index.js';
import type { EventBus } from '../bus/port.js';
import type { EventStore, Lease, StoredEvent } from '../store/port.js';
import { backoff, createWakeup } from '../support/timing.js';
import { toBatches } from '../bus/batches.js';
import { inRelayPublish } from '../tracing/events.js';
import { createLeaseKeeper, type LeaseTerm } from './lease-keeper.js';

/**
 * The outbox relay: publishes the store's global log to the bus, from a saved checkpoint, in order, and moves
 * the checkpoint only after the broker has confirmed. A crash at any point loses nothing: after a restart the
 * relay publishes again from its checkpoint (what was published but not checkpointed goes out twice, and
 * consumers skip it by sequence).
 *
 * With `lease`, one relay per store publishes: the one holding the store's lease named like the checkpoint. The
 * others stand by and take over when it is released, lapses, or (PostgreSQL) its holder dies; a new holder reads
 * the checkpoint and publishes from there. A relay that loses the lease stops publishing at once: it abandons the
 * rounds in flight and saves no checkpoint (what it had confirmed is saved with the lease's fencing number, so a
 * save that comes after a takeover changes nothing; and checkpoints only ever move forward).
 */

export interface RelayOptions {
  store: EventStore;
  bus: EventBus;
  /** The checkpoint's name in the store. */
  name?: string;
  /** Events read and published per round. */
  batchSize?: number;
  /**
   * A round's messages stay below this many bytes each (see toBatches), and a round reads fewer than `batchSize`
   * events when they are large (about four messages' worth). Default: no bound.
   */
  maxMessageBytes?: number;
  /** How often to look for events written by other processes when nothing woke the relay. */
  idlePollMs?: number;
  /** Each batch goes to its partition (bus/partition.ts): one batch per domain and partition. Default 1. */
  partitions?: number;
  /** Rounds published before the broker has confirmed the first of them. Default 4. */
  publishAhead?: number;
  /** While rounds keep coming, the checkpoint is saved at most this often. Default 250 ms. */
  checkpointEveryMs?: number;
  /**
   * Publish only while holding the store's lease (named like the checkpoint) for `owner`, this process's id,
   * renewed every third of `ttlMs` off the publishing path. Without it, the relay publishes whatever else runs.
   */
  lease?: { owner: string; ttlMs: number; payload?: string } | undefined;
  logger: Logger;
}

export interface RelayStatus {
  /** `standby`: another process holds the lease (see RelayOptions.lease). */
  state: 'starting' | 'standby' | 'running' | 'retrying' | 'stopped';
  /**
   * With a lease: whether this relay holds it (`active`), and the lease as last seen (who holds it, since when).
   * Undefined without one.
   */
  lease: { active: boolean; lease: Lease | undefined } | undefined;
  /** The last position confirmed by the broker. */
  checkpoint: number;
  /** Events published since start. */
  published: number;
  lastError: string | undefined;
}

export interface Relay {
  /** Wakes the relay at once (the store calls this after a commit). */
  notify(): void;
  status(): RelayStatus;
  /** Finishes the round in progress, then stops. */
  stop(): Promise<void>;
}

/** A round holds about this many messages' worth of events at most (see createRoundSize). */
const ROUND_MESSAGES = 4;
/** Events of the first round, before their size is known. */
const FIRST_ROUND_EVENTS = 64;

const payloadBytes = (event: StoredEvent): number =>
  (event.event?.typeUrl.length ?? 0) + (event.event?.value.length ?? 0) + 64;

/**
 * How many events to read for the next round: `batchSize`, or fewer when events are large, so that a round (and
 * the `publishAhead` rounds in flight) stays near `maxRoundBytes` in memory: a thousand 1 MiB events would be a
 * gigabyte. The first round reads a few events to learn their size; each round sizes the next.
 */
const createRoundSize = (
  batchSize: number,
  maxRoundBytes: number,
): { next(): number; saw(events: readonly StoredEvent[]): void } => {
  let limit = Number.isFinite(maxRoundBytes) ? Math.min(batchSize, FIRST_ROUND_EVENTS) : batchSize;
  return {
    next: () => limit,
    saw(events) {
      if (!Number.isFinite(maxRoundBytes)) return;
      const average = events.reduce((sum, event) => sum + payloadBytes(event), 0) / events.length;
      limit = Math.max(1, Math.min(batchSize, Math.floor(maxRoundBytes / average)));
    },
  };
};

export const startRelay = (options: RelayOptions): Relay => {
  const { store, bus, logger } = options;
  const name = options.name ?? 'relay';
  const batchSize = options.batchSize ?? 1000;
  const idlePollMs = options.idlePollMs ?? 200;
  const publishAhead = Math.max(1, options.publishAhead ?? 4);
  const checkpointEveryMs = options.checkpointEveryMs ?? 250;
  const maxRoundBytes =
    options.maxMessageBytes === undefined
      ? Number.POSITIVE_INFINITY
      : options.maxMessageBytes * ROUND_MESSAGES;
  const wakeup = createWakeup();
  /** Only stop() interrupts a backoff: new events must not turn a broker outage into a retry storm. */
  const stopped = createWakeup();
  const status: Omit<RelayStatus, 'lease'> = {
    state: 'starting',
    checkpoint: 0,
    published: 0,
    lastError: undefined,
  };
  const keeper =
    options.lease &&
    createLeaseKeeper({
      store,
      name,
      owner: options.lease.owner,
      ttlMs: options.lease.ttlMs,
      payload: options.lease.payload ?? '',
      logger,
    });
  /** Without a lease, one term that ends only when the relay stops. */
  const always: LeaseTerm = { fencing: 0, ended: false, whenEnded: new Promise<void>(() => undefined) };
  let stopping = false;
  /** Set while the relay waits for a confirm and could publish more: a commit wakes it. */
  let arrived: (() => void) | undefined;

  /**
   * Up to `publishAhead` rounds are published at once (the bus keeps their order): a round does not wait for
   * the broker to confirm the one before it. Confirms are taken in order; the checkpoint follows the last
   * confirmed round, and is saved at most every `checkpointEveryMs` (each save is a synchronous, durable write;
   * an unsaved checkpoint only means that a restart publishes a few rounds again, which consumers skip).
   * Publishes while `term` lasts (a term of the lease, or `always`): whatever waits (a confirm, new events, a
   * backoff) is cut short when the term ends.
   */
  const publishDuring = async (term: LeaseTerm): Promise<void> => {
    const fence = keeper && { lease: name, fencing: term.fencing };
    const active = (): boolean => !stopping && !term.ended;
    void term.whenEnded.then(() => {
      wakeup.notify();
      arrived?.();
    });
    const roundSize = createRoundSize(batchSize, maxRoundBytes);
    let failures = 0;
    status.checkpoint = await store.getCheckpoint(name);
    status.state = 'running';
    let saved = status.checkpoint;
    let savedAt = Date.now();
    const inFlight: { last: number; count: number; confirmed: Promise<void>; settled: boolean }[] = [];
    let readFrom = status.checkpoint;
    const save = async (): Promise<void> => {
      if (status.checkpoint === saved) return;
      const position = status.checkpoint;
      await store.saveCheckpoint(name, position, fence);
      saved = position;
      savedAt = Date.now();
    };
    while (active()) {
      try {
        while (inFlight.length < publishAhead && active()) {
          const limit = roundSize.next();
          const events = await store.readLog(readFrom, limit);
          if (events.length === 0 || !active()) break;
          roundSize.saw(events);
          const last = events[events.length - 1]!.position;
          const round = {
            last,
            count: events.length,
            confirmed: inRelayPublish(events, bus.kind, () =>
              bus.publish(toBatches(events, options.maxMessageBytes, options.partitions)),
            ),
            settled: false,
          };
          const settle = (): void => void (round.settled = true);
          round.confirmed.then(settle, settle); // awaited in order below
          inFlight.push(round);
          readFrom = last;
          if (events.length < limit) break;
        }
        const round = inFlight[0];
        if (round === undefined) {
          // Idle: the checkpoint is saved once it is `checkpointEveryMs` old (a commit may come first).
          const saveIn = checkpointEveryMs - (Date.now() - savedAt);
          if (status.checkpoint !== saved && saveIn <= 0) await save();
          await wakeup.wait(
            status.checkpoint === saved ? idlePollMs : Math.min(idlePollMs, Math.max(1, saveIn)),
          );
          continue;
        }
        if (!round.settled && inFlight.length < publishAhead) {
          // Whichever comes first: the confirm, or new events to publish behind the rounds in flight.
          await new Promise<void>((resolve) => {
            arrived = resolve;
            round.confirmed.then(resolve, resolve);
          });
          arrived = undefined;
          if (!round.settled) continue;
        }
        await Promise.race([round.confirmed, term.whenEnded]);
        if (!active()) break;
        inFlight.shift();
        status.checkpoint = round.last;
        status.published += round.count;
        if (Date.now() - savedAt >= checkpointEveryMs && active()) await save();
        if (failures > 0) logger.info({ checkpoint: round.last }, 'relay publishing again');
        failures = 0;
        status.state = 'running';
        status.lastError = undefined;
      } catch (err) {
        // Whatever was in flight is published again from the last confirmed position.
        await Promise.race([
          Promise.allSettled(inFlight.splice(0).map((round) => round.confirmed)),
          term.whenEnded,
        ]);
        readFrom = status.checkpoint;
        failures += 1;
        status.state = 'retrying';
        status.lastError = messageOf(err);
        const delay = backoff(failures - 1, 100, 5000);
        logger.warn({ reason: status.lastError, retryInMs: delay }, 'relay could not publish; retrying');
        await Promise.race([stopped.wait(delay), term.whenEnded]);
      }
    }
    if (term.ended) {
      // The lease is lost: nothing more is published or saved; the new holder publishes from the checkpoint.
      inFlight.splice(0);
      return;
    }
    // Stopping: what was published is confirmed (or not) before the last checkpoint is saved.
    for (const round of inFlight.splice(0)) {
      try {
        await round.confirmed;
      } catch {
        break;
      }
      status.checkpoint = round.last;
      status.published += round.count;
    }
    await save().catch((err: unknown) =>
      logger.warn({ reason: messageOf(err) }, 'relay could not save its checkpoint while stopping'),
    );
  };

  /** Stands by until the lease is held (at once without one), publishes while it is, and again. */
  const run = async (): Promise<void> => {
    let term: LeaseTerm | undefined;
    while (!stopping) {
      if (term === undefined || term.ended) {
        if (keeper) status.state = 'standby';
        term = keeper ? await keeper.nextTerm() : always;
        if (term === undefined) break;
        status.state = 'starting';
      }
      try {
        await publishDuring(term);
      } catch (err) {
        // Reading the checkpoint failed: tried again while the term lasts.
        status.state = 'retrying';
        status.lastError = messageOf(err);
        logger.warn({ reason: status.lastError }, 'relay could not read its checkpoint; retrying');
        await Promise.race([stopped.wait(1000), term.whenEnded]);
      }
    }
    await keeper?.release();
  };

  const running = run().catch((err: unknown) => {
    logger.error({ err }, 'relay stopped unexpectedly');
  });

  return {
    notify: () => {
      wakeup.notify();
      arrived?.();
    },
    status: () => ({ ...status, lease: keeper?.view() }),
    async stop() {
      stopping = true;
      keeper?.cancel();
      wakeup.notify();
      arrived?.();
      stopped.notify();
      await running;
      status.state = 'stopped';
    },
  };
};
