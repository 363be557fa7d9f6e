import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A name for one part of this process that others see in the store (a deliverer of a subscriber, the holder
 * of a pause): the host and process id, which say where to look, and a few random bytes, which keep two parts
 * of one process (two runtimes in one test) and a process id reused after a restart apart.
 */
export const processName = (): string => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
