import { setTimeout as pause } from 'node:timers/promises';
import { recordedGroupAlive, isSameProcess, signalRecorded } from '../support/signals.js';
import { removeRecordedContainer, type ContainerRecord } from './container.js';
import { recordedNodeAlive, stopRecordedNode, type RabbitNodeRecord } from './rabbitmq/local-node.js';

/**
 * How to stop, from any process, something `evented up` started: a process (by pid AND start time, so that a
 * pid reused since is never signalled), a private RabbitMQ node (by its name, through rabbitmqctl), or a
 * container (by its id). `up` writes these records down as soon as each thing is started; `evented down`, and
 * the next `up`, end from them whatever an `up` that died (kill -9, a crash) left running.
 */

/** A process (with `group`, the process group it leads) known by its pid and start time. */
export interface SignalRecord {
  how: 'signal';
  pid: number;
  /** From /proc/PID/stat (see support/signals.ts): a different value means another process has the pid now. */
  startTime: string;
  group: boolean;
}

export type StopRecord = SignalRecord | RabbitNodeRecord | ContainerRecord;

const waitUntil = async (done: () => boolean, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await pause(50);
  }
  return true;
};

const signalAlive = (record: SignalRecord): boolean =>
  record.group ? recordedGroupAlive(record) : isSameProcess(record);

/** SIGTERM, then SIGKILL after `graceMs`: only while the process is still the recorded one. */
const endSignalled = async (record: SignalRecord, graceMs: number): Promise<boolean> => {
  if (!signalAlive(record)) return false;
  signalRecorded(record, 'SIGTERM', record.group);
  if (await waitUntil(() => !signalAlive(record), graceMs)) return true;
  signalRecorded(record, 'SIGKILL', record.group);
  await waitUntil(() => !signalAlive(record), 2000);
  return true;
};

/** Whether what the record names may still run (a container cannot be checked cheaply: it may). */
export const recordedAlive = (record: StopRecord): boolean => {
  switch (record.how) {
    case 'signal':
      return signalAlive(record);
    case 'rabbitmqctl':
      return recordedNodeAlive(record);
    case 'container':
      return true;
  }
};

/** Ends what the record names, if it still runs; returns whether there was something to end. */
export const endRecorded = async (
  record: StopRecord,
  options: { graceMs?: number } = {},
): Promise<boolean> => {
  switch (record.how) {
    case 'signal':
      return endSignalled(record, options.graceMs ?? 5000);
    case 'rabbitmqctl':
      return stopRecordedNode(record);
    case 'container':
      return removeRecordedContainer(record);
  }
};

/**
 * Ends everything recorded that still runs, and returns the names of what it ended: user processes (process
 * groups) first, since they may still talk to the broker or agent, then the rest; each wave in parallel.
 */
export const endAllRecorded = async (
  components: readonly { name: string; stop?: StopRecord | undefined }[],
  options: { graceMs?: number } = {},
): Promise<string[]> => {
  const recorded = components.filter((c): c is { name: string; stop: StopRecord } => c.stop !== undefined);
  const first = recorded.filter((c) => c.stop.how === 'signal' && c.stop.group);
  const ended: string[] = [];
  for (const wave of [first, recorded.filter((c) => !first.includes(c))]) {
    const results = await Promise.all(wave.map((c) => endRecorded(c.stop, options).catch(() => false)));
    ended.push(...wave.filter((_, i) => results[i]).map((c) => c.name));
  }
  return ended;
};
