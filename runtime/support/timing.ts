/**
 * A wake-up call for loops that poll: `wait(ms)` resolves after `ms`, or as soon as `notify()` is called
 * (a notify that comes while nobody waits is kept for the next wait, so none is lost).
 */
export interface Wakeup {
  notify(): void;
  wait(ms: number): Promise<void>;
}

export const createWakeup = (): Wakeup => {
  let pending = false;
  let wake: (() => void) | undefined;
  return {
    notify() {
      if (wake) wake();
      else pending = true;
    },
    wait(ms) {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done(): void {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
  };
};

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects: callers check the signal afterwards. */
export const pause = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export const sleep = (ms: number): Promise<void> => pause(ms);

/** Exponential backoff: `initialMs`, doubling, capped at `maxMs`. `attempt` starts at 0. */
export const backoff = (attempt: number, initialMs: number, maxMs: number): number =>
  Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
