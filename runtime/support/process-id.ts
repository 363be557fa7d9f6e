import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process's id among the processes sharing a store: `host:pid:random`, the same for the whole life of the
 * process and never the same for two processes (a pid is reused; the random part is not). It names the holder of
 * a lease in `evented status` and in the store.
 */
let id: string | undefined;

export const processId = (): string => {
  id ??= partId();
  return id;
};

/**
 * An id of the same shape for one part of this process that others see in the store (a deliverer of a
 * subscriber, the holder of a pause), new at every call: two runtimes in one process (tests) are kept apart.
 */
export const partId = (): string => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** `pid@host` of a process id as processId() makes it, for messages ("held by 4242@web-1"); else the id itself. */
export const describeProcessId = (processId: string): string => {
  const match = /^(.*):(\d+):[0-9a-f]+$/.exec(processId);
  return match === null ? processId : `${match[2]}@${match[1]}`;
};
