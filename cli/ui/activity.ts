/**
 * What the live view of `evented up` shows of the work flowing through: commands/s and events/s from two
 * readings of the runtime's counters (Admin Status), and each projector's and saga's lag from the latest. Data
 * only: cli/output/up-activity.ts takes the readings and computes the rates.
 */

/** One reading of every runtime process, added up. */
export interface ActivityReading {
  /** When it was taken (ms since the epoch). */
  at: number;
  /** Since each process started: they only grow, unless a process restarted. */
  commandsHandled: number;
  eventsAppended: number;
  /** Each subscriber's lag: events the store has that it has not handled yet. */
  subscribers: { kind: string; name: string; lag: number }[];
}

export interface UpViewActivity {
  /** Undefined until two readings exist. */
  commandsPerSecond: number | undefined;
  eventsPerSecond: number | undefined;
  subscribers: { kind: string; name: string; lag: number }[];
}

/** "12.5", "0", "1,234": one decimal below 100, none above. */
export const formatRate = (perSecond: number | undefined): string => {
  if (perSecond === undefined) return '…';
  if (perSecond >= 100) return Math.round(perSecond).toLocaleString('en-US');
  return String(Math.round(perSecond * 10) / 10);
};
