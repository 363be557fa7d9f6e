import type { Logger } from 'pino';
import type { EventStore, SubscriberPause } from '../store/port.js';
import { StateError } from '../errors/index.js';
import { createWakeup } from '../support/timing.js';

/**
 * What one process's live delivery of one subscriber consults before it hands events to the user's service:
 * the subscriber's pause in the store (subscriber/pause.ts), read every `pollMs`. Every delivery of live events
 * (a bus batch, the catch-up, a hole filled from the store) runs through `pass`, which waits while the
 * subscriber is paused; partitioned consumers call the same `pass`.
 *
 * On each poll the gate first says in the store what it is doing (its deliverer report: a heartbeat), then reads
 * the pause: so a replayer that takes the pause and then lists the deliverers either sees this process, and
 * waits for it, or this process sees the pause before it delivers anything (see start()). When it finds a pause
 * in force it lets no new delivery start, waits for those in flight (their calls finish; batches not begun wait,
 * never acknowledged unhandled), saves the progress (`quiesce`), and only then reports itself paused for the
 * pause's holder. When the pause ends (or expires: its holder died), it reloads the progress from the store
 * (`resume`: the replay moved it) before any delivery goes on, so nothing the replay delivered is delivered
 * again.
 *
 * A process that cannot read the store for `fenceMs` stops delivering too (it cannot know whether a replay
 * runs), and is treated as gone by replayers once its report is `staleMs` old: fenceMs < staleMs.
 */

export interface PauseTimings {
  /** How often the gate reports itself and reads the pause. */
  pollMs: number;
  /** A gate that could not poll for this long stops delivering until it can. */
  fenceMs: number;
  /** A deliverer's report older than this is a process gone: a replayer does not wait for it. */
  staleMs: number;
  /** A pause lasts this long unless its holder renews it (every expiryMs / 5). */
  expiryMs: number;
}

export const PAUSE_TIMINGS: PauseTimings = { pollMs: 500, fenceMs: 3000, staleMs: 6000, expiryMs: 10_000 };

export interface PauseGate {
  /** This deliverer's name in the store, and the holder of the pauses its replays take. */
  readonly id: string;
  /** Reports this deliverer and reads the pause once (before any delivery), then polls. */
  start(): Promise<void>;
  /** Stops polling and removes this deliverer's report. */
  stop(): Promise<void>;
  /** Runs a delivery of live events once the subscriber is not paused; waits while it is. */
  pass<T>(delivery: () => Promise<T>): Promise<T>;
  /** Polls now (after taking or ending a pause: the others poll on their own). */
  poke(): void;
  /** True while deliveries wait. */
  readonly closed: boolean;
  /** The pause in force as last read, if any. */
  readonly pause: SubscriberPause | undefined;
}

export const createPauseGate = (options: {
  store: EventStore;
  subscriber: string;
  id: string;
  logger: Logger;
  /** Makes what was delivered durable before this deliverer reports itself paused. */
  quiesce(): Promise<void>;
  /** Takes the progress from the store again before deliveries resume. */
  resume(): Promise<void>;
  timings?: PauseTimings | undefined;
}): PauseGate => {
  const { store, subscriber, id, logger } = options;
  const timings = options.timings ?? PAUSE_TIMINGS;
  let inForce: SubscriberPause | undefined;
  /** The holder this deliverer has reported itself paused for. */
  let pausedFor: string | undefined;
  /** Deliveries stopped for a pause or a fence: the progress must be reloaded before they resume. */
  let held = false;
  let lastPoll = Number.NEGATIVE_INFINITY;
  let inFlight = 0;
  let running = false;
  let loop: Promise<void> = Promise.resolve();
  const wakeup = createWakeup();
  const opened: (() => void)[] = [];
  const idle: (() => void)[] = [];

  const fenced = (): boolean => Date.now() - lastPoll > timings.fenceMs;
  const isClosed = (): boolean => held || inForce !== undefined || fenced();
  const release = (waiters: (() => void)[]): void => waiters.splice(0).forEach((wake) => wake());
  const whenIdle = (): Promise<void> =>
    inFlight === 0 ? Promise.resolve() : new Promise((resolve) => idle.push(resolve));

  const report = (): Promise<void> =>
    store.reportDeliverer({ subscriber, deliverer: id, pausedFor, at: Date.now() });

  /**
   * Waits for the deliveries in flight, saves, and reports this deliverer paused for `holder`. Runs beside the
   * polls, which go on reporting (the heartbeat a replayer needs to keep waiting for this process) meanwhile.
   */
  let quiescing: Promise<void> | undefined;
  const quiesceFor = (holder: string): void => {
    quiescing ??= (async () => {
      await whenIdle();
      await options.quiesce();
      pausedFor = holder;
      await report();
      logger.info({ subscriber, holder }, 'live delivery paused for a replay');
    })()
      .catch((err: unknown) => {
        logger.warn({ err, subscriber }, 'could not pause live delivery for a replay; trying again');
      })
      .finally(() => (quiescing = undefined));
  };

  /** One round: report, read, and act on what was read. */
  const poll = async (): Promise<void> => {
    await report();
    const stored = await store.readPause(subscriber);
    lastPoll = Date.now();
    inForce = stored !== undefined && stored.expiresAt >= lastPoll ? stored : undefined;
    if (inForce !== undefined) {
      held = true;
      if (pausedFor !== inForce.holder) quiesceFor(inForce.holder);
      return;
    }
    if (!held) return release(opened);
    // Deliveries resume once the pause has ended (or expired: its holder died, or after a fence), and the
    // progress, which the replay moved, is taken from the store again.
    if (quiescing) return;
    await options.resume();
    if (pausedFor !== undefined) logger.info({ subscriber }, 'live delivery resumed');
    pausedFor = undefined;
    held = false;
    await report();
    release(opened);
  };

  const polling = async (): Promise<void> => {
    while (running) {
      await wakeup.wait(timings.pollMs);
      if (!running) return;
      try {
        await poll();
      } catch (err) {
        logger.warn({ err, subscriber }, 'could not read whether live delivery is paused; trying again');
      }
      if (fenced()) held = true;
    }
  };

  return {
    id,
    async start() {
      if (running) return;
      await poll();
      running = true;
      loop = polling();
    },
    async stop() {
      running = false;
      wakeup.notify();
      await loop;
      release(opened);
      await store.forgetDeliverer(subscriber, id).catch((err: unknown) => {
        logger.warn({ err, subscriber }, 'could not remove this deliverer from the store; it goes stale');
      });
    },
    async pass(delivery) {
      while (running && isClosed()) {
        await new Promise<void>((resolve) => opened.push(resolve));
        if (!running) throw new StateError(`${subscriber}: delivery stopped while paused`);
      }
      inFlight += 1;
      try {
        return await delivery();
      } finally {
        inFlight -= 1;
        if (inFlight === 0) release(idle);
      }
    },
    poke: () => wakeup.notify(),
    get closed() {
      return isClosed();
    },
    get pause() {
      return inForce;
    },
  };
};
