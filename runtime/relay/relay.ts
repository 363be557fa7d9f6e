import type { Logger } from 'pino';
import { messageOf } from '../errors/index.js';
import type { EventBus } from '../bus/port.js';
import type { EventStore } from '../store/port.js';
import { backoff, createWakeup } from '../support/timing.js';
import { toBatches } from '../bus/batches.js';

/**
 * The outbox relay: publishes the store's global log to the bus, from a saved checkpoint, in order, and moves
 * the checkpoint only after the broker has confirmed. A crash at any point loses nothing: after a restart the
 * relay publishes again from its checkpoint (what was published but not checkpointed goes out twice, and
 * consumers skip it by sequence). Several relays on one store are safe in the same way: consumers see
 * duplicates, never losses or reordering within an aggregate.
 */

export interface RelayOptions {
  store: EventStore;
  bus: EventBus;
  /** The checkpoint's name in the store. */
  name?: string;
  /** Events read and published per round. */
  batchSize?: number;
  /** How often to look for events written by other processes when nothing woke the relay. */
  idlePollMs?: number;
  logger: Logger;
}

export interface RelayStatus {
  state: 'starting' | 'running' | 'retrying' | 'stopped';
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

export const startRelay = (options: RelayOptions): Relay => {
  const { store, bus, logger } = options;
  const name = options.name ?? 'relay';
  const batchSize = options.batchSize ?? 1000;
  const idlePollMs = options.idlePollMs ?? 200;
  const wakeup = createWakeup();
  /** Only stop() interrupts a backoff: new events must not turn a broker outage into a retry storm. */
  const stopped = createWakeup();
  const status: RelayStatus = { state: 'starting', checkpoint: 0, published: 0, lastError: undefined };
  let stopping = false;

  const run = async (): Promise<void> => {
    let failures = 0;
    status.checkpoint = await store.getCheckpoint(name);
    status.state = 'running';
    while (!stopping) {
      try {
        const events = await store.readLog(status.checkpoint, batchSize);
        if (events.length === 0) {
          await wakeup.wait(idlePollMs);
          continue;
        }
        await bus.publish(toBatches(events));
        const last = events[events.length - 1]!.position;
        await store.saveCheckpoint(name, last);
        status.checkpoint = last;
        status.published += events.length;
        if (failures > 0) logger.info({ checkpoint: last }, 'relay publishing again');
        failures = 0;
        status.state = 'running';
        status.lastError = undefined;
      } catch (err) {
        failures += 1;
        status.state = 'retrying';
        status.lastError = messageOf(err);
        const delay = backoff(failures - 1, 100, 5000);
        logger.warn({ reason: status.lastError, retryInMs: delay }, 'relay could not publish; retrying');
        await stopped.wait(delay);
      }
    }
  };

  const running = run().catch((err: unknown) => {
    logger.error({ err }, 'relay stopped unexpectedly');
  });

  return {
    notify: () => wakeup.notify(),
    status: () => ({ ...status }),
    async stop() {
      stopping = true;
      wakeup.notify();
      stopped.notify();
      await running;
      status.state = 'stopped';
    },
  };
};
