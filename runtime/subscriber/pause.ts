import type { Logger } from 'pino';
import { StateError } from '../errors/index.js';
import type { EventStore, SubscriberPause } from '../store/port.js';
import { pause as sleep } from '../support/timing.js';
import type { PauseTimings } from './pause-gate.js';
import type { ReplayProgress } from './replay.js';

/**
 * The replayer's side of a subscriber's pause (the deliverers' side is pause-gate.ts): a replay or a rebuild
 * pauses the subscriber's live delivery in every process before it delivers anything, and ends the pause when it
 * is done. Taking the pause is refused while another holder's is in force (one replay of a subscriber at a time,
 * across processes). The holder renews it while it works; a holder that dies stops renewing, and the others
 * resume once it expires. The replay starts only once every live deliverer of the subscriber (its report younger
 * than `staleMs`) says it is paused for this holder: its deliveries in flight are done and its progress saved.
 */

export interface HeldPause {
  /** Aborts when the pause was lost (not renewed in time, taken over): the replay must stop. */
  readonly lost: AbortSignal;
  /** Resolves once every live deliverer is paused for this holder; stops waiting when `signal` aborts. */
  quiet(signal?: AbortSignal): Promise<void>;
  /** Stops renewing and ends the pause. */
  end(): Promise<void>;
}

const POLL_MS = 100;
/** A report this many times staleMs old is a process gone for good. */
const GONE_AFTER_STALE = 10;

const iso = (ms: number): string => new Date(ms).toISOString();

/** One line: who replays the subscriber since when, and when it would be free were that process gone. */
export const pausedBy = (pause: SubscriberPause): StateError =>
  new StateError(
    `${pause.subscriber} is being ${pause.reason === 'rebuild' ? 'rebuilt' : 'replayed'} by ${pause.holder} since ${iso(pause.since)}: wait for it to end (should that process have died, its pause expires at ${iso(pause.expiresAt)} unless renewed), then try again`,
  );

export const takePause = async (options: {
  store: EventStore;
  subscriber: string;
  holder: string;
  reason: 'replay' | 'rebuild';
  timings: PauseTimings;
  logger: Logger;
}): Promise<HeldPause> => {
  const { store, subscriber, holder, timings, logger } = options;
  const since = Date.now();
  const inForce = await store.takePause({
    subscriber,
    holder,
    reason: options.reason,
    since,
    expiresAt: since + timings.expiryMs,
  });
  if (inForce.holder !== holder) throw pausedBy(inForce);

  const lost = new AbortController();
  const renewing = setInterval(() => {
    store
      .renewPause(subscriber, holder, Date.now() + timings.expiryMs)
      .then((renewed) => {
        if (renewed) return;
        logger.error({ subscriber, holder }, 'the replay lost its pause of live delivery; it stops');
        lost.abort();
      })
      .catch((err: unknown) => logger.warn({ err, subscriber }, 'could not renew the pause; trying again'));
  }, timings.expiryMs / 5);
  renewing.unref();

  return {
    lost: lost.signal,
    async quiet(signal) {
      for (let waited = 0; ; waited += POLL_MS) {
        if (signal?.aborted || lost.signal.aborted) return;
        const now = Date.now();
        const reports = await store.listDeliverers(subscriber);
        // Reports of processes long gone (killed: a process that stops removes its own) are removed here; one
        // that was only stalled writes its report again at its next poll.
        for (const report of reports.filter(
          (report) => now - report.at > GONE_AFTER_STALE * timings.staleMs,
        )) {
          await store.forgetDeliverer(subscriber, report.deliverer);
        }
        const delivering = reports.filter(
          (report) => now - report.at <= timings.staleMs && report.pausedFor !== holder,
        );
        if (delivering.length === 0) return;
        if (waited % 5000 === 0 && waited > 0) {
          logger.info(
            { subscriber, delivering: delivering.map((report) => report.deliverer) },
            'waiting for live delivery to pause in every process',
          );
        }
        await sleep(POLL_MS, signal);
      }
    },
    async end() {
      clearInterval(renewing);
      await store.endPause(subscriber, holder);
    },
  };
};

const lostPause = (subscriber: string, position?: number): StateError =>
  new StateError(
    `${subscriber}: the replay lost its pause of live delivery (the store did not renew it in time)${position === undefined ? '' : ` and stopped after position ${position}`}; live delivery resumed: replay again`,
  );

/**
 * A replay or rebuild of `subscriber` as every process sharing the store expects it: takes the pause, wakes this
 * process's own gates (`poke`) so that they pause at once, waits until every live deliverer is quiet, runs
 * `replay` once (its signal aborts when the pause is lost or the caller cancels), and ends the pause however it
 * went, so that every process resumes.
 */
export const replayUnderPause = async (options: {
  store: EventStore;
  subscriber: string;
  holder: string;
  rebuild: boolean;
  timings: PauseTimings;
  logger: Logger;
  signal?: AbortSignal | undefined;
  poke: () => void;
  replay: (signal: AbortSignal) => Promise<ReplayProgress>;
}): Promise<ReplayProgress> => {
  const { subscriber, signal } = options;
  let held: HeldPause | undefined;
  try {
    held = await takePause({ ...options, reason: options.rebuild ? 'rebuild' : 'replay' });
    options.poke();
    await held.quiet(signal);
    const lost = held.lost;
    if (lost.aborted) throw lostPause(subscriber);
    if (signal?.aborted) throw new StateError(`${subscriber}: the replay was cancelled before it began`);
    const progress = await options.replay(signal ? AbortSignal.any([signal, lost]) : lost);
    if (lost.aborted) throw lostPause(subscriber, progress.position);
    return progress;
  } finally {
    await held?.end().catch((err: unknown) => {
      options.logger.warn({ err, subscriber }, 'could not end the pause; it expires on its own');
    });
    options.poke();
  }
};
