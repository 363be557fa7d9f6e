/**
 * At most `size` tasks at once; the others wait their turn, first come first served. How a process keeps to a
 * subscriber's `concurrency` across the partitions it delivers.
 */
export interface Slots {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export const createSlots = (size: number): Slots => {
  let free = Math.max(1, size);
  const waiting: (() => void)[] = [];
  const acquire = (): Promise<void> => {
    if (free > 0) {
      free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else free += 1;
  };
  return {
    async run(task) {
      await acquire();
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
};
