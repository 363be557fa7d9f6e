import { UsageError } from '../errors.js';

/** A global position given on the command line (1 is the first event). */
export const parsePosition = (flag: string, text: string): number => {
  const position = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(position)) {
    throw new UsageError(`${flag} ${text}: expected a global position, a whole number such as 1200`);
  }
  return position;
};
