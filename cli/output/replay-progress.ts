import type { ReplayProgress } from '../../runtime/index.js';
import type { Writable } from 'node:stream';

/**
 * A replay's progress: on a terminal, one line redrawn in place (a bar, events, rate, ETA); elsewhere, a plain
 * line every few seconds, so that logs stay readable. `clear()` removes the bar before an error is printed, so
 * that nothing hides behind it.
 */

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export const formatDuration = (ms: number): string => {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
};

export const formatProgress = (progress: ReplayProgress, barWidth = 24): string => {
  const total = Math.max(progress.total, progress.events);
  const share = total === 0 ? 1 : progress.events / total;
  const filled = Math.round(share * barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  const rate = `${count(progress.eventsPerSecond)} events/s`;
  const eta = progress.done ? 'done' : `ETA ${formatDuration(progress.etaMs)}`;
  return `${bar} ${count(progress.events)}/${count(total)} events  ${rate}  ${eta}  (position ${progress.position})`;
};

export interface ProgressReporter {
  update(progress: ReplayProgress): void;
  clear(): void;
  finish(progress: ReplayProgress): void;
}

export const progressReporter = (
  out: Writable & { isTTY?: boolean },
  options: { plainEveryMs?: number } = {},
): ProgressReporter => {
  const tty = out.isTTY === true;
  const every = options.plainEveryMs ?? 2000;
  let drawn = false;
  // Off a terminal, the first line comes after `every` too: a short replay prints only its result.
  let lastPlain = Date.now();
  return {
    update(progress) {
      if (tty) {
        out.write(`\r\x1b[2K${formatProgress(progress)}`);
        drawn = true;
      } else if (Date.now() - lastPlain >= every) {
        out.write(`${formatProgress(progress)}\n`);
        lastPlain = Date.now();
      }
    },
    clear() {
      if (drawn) out.write('\r\x1b[2K');
      drawn = false;
    },
    finish(progress) {
      if (tty) out.write(`\r\x1b[2K${formatProgress(progress)}\n`);
      else out.write(`${formatProgress(progress)}\n`);
      drawn = false;
    },
  };
};
