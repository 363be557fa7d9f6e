/**
 * A value that comes and goes (the open connection, the open channel), and a way to wait for it to be there.
 * Waiters are notified on every change, so a waiter costs no listener on a shared signal.
 */
export interface Watch<T> {
  readonly value: T | undefined;
  set(value: T | undefined): void;
  /** No value will come any more: every waiter gets undefined. */
  end(): void;
  /** The value once it is there; undefined after `timeoutMs`, when `signal` aborts, or after end(). */
  wait(options: { timeoutMs?: number; signal?: AbortSignal }): Promise<T | undefined>;
}

export const createWatch = <T>(): Watch<T> => {
  let value: T | undefined;
  let ended = false;
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const check of [...waiters]) check();
  };
  return {
    get value() {
      return value;
    },
    set(next) {
      value = next;
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    wait({ timeoutMs, signal }) {
      return new Promise((resolve) => {
        let timedOut = false;
        const timer =
          timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), check()), timeoutMs);
        const check = (): void => {
          const gone = ended || timedOut || signal?.aborted === true;
          if (value === undefined && !gone) return;
          clearTimeout(timer);
          waiters.delete(check);
          signal?.removeEventListener('abort', check);
          resolve(ended || signal?.aborted === true ? undefined : value);
        };
        waiters.add(check);
        signal?.addEventListener('abort', check, { once: true });
        check();
      });
    },
  };
};
