import { appendFileSync } from 'node:fs';
import { format } from 'node:util';

/**
 * Runs `work` with the console written to `file` instead of the terminal, for a library that prints its own
 * warnings and stack traces (mongodb-memory-server). What it printed stays readable in that log.
 */
export const consoleInto = async <T>(file: string, work: () => Promise<T>): Promise<T> => {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((method) => console[method]);
  for (const method of methods) {
    console[method] = (...args: unknown[]) => appendFileSync(file, `${format(...args)}\n`);
  }
  try {
    return await work();
  } finally {
    methods.forEach((method, index) => (console[method] = saved[index]!));
  }
};
