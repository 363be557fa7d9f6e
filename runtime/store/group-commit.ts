/**
 * Group commit: appends that arrive while the store is busy are written together in one transaction, so
 * 64 concurrent commands cost one commit (and one fsync) instead of 64. Each item still succeeds or fails
 * on its own: the adapters plan every item in order (batch-plan.ts), and one that breaks a rule adds nothing.
 */

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface GroupCommit<T, R> {
  submit(item: T): Promise<R>;
  /** Resolves when everything submitted so far has been written. */
  drain(): Promise<void>;
}

export const createGroupCommit = <T, R>(
  writeBatch: (items: T[]) => Promise<Outcome<R>[]> | Outcome<R>[],
  maxBatch = 512,
): GroupCommit<T, R> => {
  type Pending = { item: T; resolve: (value: R) => void; reject: (error: unknown) => void };
  let queue: Pending[] = [];
  let running: Promise<void> | undefined;

  const settle = (batch: Pending[], outcomes: Outcome<R>[]): void => {
    batch.forEach((pending, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  };

  const runBatches = async (): Promise<void> => {
    // Yield once so that everything arriving in this turn of the event loop joins the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        settle(batch, await writeBatch(batch.map((pending) => pending.item)));
      } catch (error) {
        batch.forEach((pending) => pending.reject(error));
      }
    }
    running = undefined;
  };

  return {
    submit: (item) =>
      new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        running ??= runBatches();
      }),
    drain: async () => {
      while (running) await running;
    },
  };
};
