import type { ReplayProgress } from '../../runtime/index.js';
import type { Writable } from 'node:stream';

/**
 * A replay's progress: on a terminal, one line redrawn in place (a bar, events, rate, ETA); elsewhere, a plain
 * line every few seconds, so that logs stay readable. `clear()` removes the bar before an error is printed, so
 * that nothing hides behind it. Other long runs over a known number of items (`evented verify`: commands) show
 * theirs the same way, in their own unit and without a position.
 */

/** What is counted ("events", "commands"), and whether the line ends with the global position reached. */
export interface ProgressUnit {
  unit?: string;
  position?: boolean;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export const formatDuration = (ms: number): string => {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
};

/**
 * One line: a bar, events, rate, time left and position. With `columns` (a terminal's width) it fits in one
 * column less than that (writing the last column makes some terminals wrap), so that redrawing it in place
 * never leaves a line behind: the bar narrows first (down to 10 cells), then the position, the rate and the
 * bar are left out, in that order.
 */
export const formatProgress = (
  progress: ReplayProgress,
  options: { barWidth?: number; columns?: number } & ProgressUnit = {},
): string => {
  const unit = options.unit ?? 'events';
  const total = Math.max(progress.total, progress.events);
  const share = total === 0 ? 1 : progress.events / total;
  const bar = (cells: number): string => {
    const filled = Math.round(share * cells);
    return `[${'#'.repeat(filled)}${'-'.repeat(cells - filled)}] `;
  };
  const counts = `${count(progress.events)}/${count(total)} ${unit}`;
  const rate = `${count(progress.eventsPerSecond)} ${unit}/s`;
  const eta = progress.done ? 'done' : `ETA ${formatDuration(progress.etaMs)}`;
  const position = `(position ${progress.position})`;
  const widest = options.barWidth ?? 24;
  const room = options.columns === undefined ? Infinity : options.columns - 1;
  const layouts: { bar: boolean; parts: string[] }[] = [
    ...(options.position === false ? [] : [{ bar: true, parts: [counts, rate, eta, position] }]),
    { bar: true, parts: [counts, rate, eta] },
    { bar: true, parts: [counts, eta] },
    { bar: false, parts: [counts, eta] },
    { bar: false, parts: [counts] },
  ];
  for (const layout of layouts) {
    const text = layout.parts.join('  ');
    if (!layout.bar) {
      if (text.length <= room) return text;
      continue;
    }
    const cells = Math.min(widest, room - text.length - 3);
    if (cells >= Math.min(10, widest)) return `${bar(cells)}${text}`;
  }
  return counts.slice(0, Math.max(room, 0));
};

export interface ProgressReporter {
  update(progress: ReplayProgress): void;
  clear(): void;
  finish(progress: ReplayProgress): void;
}

export const progressReporter = (
  out: Writable & { isTTY?: boolean; columns?: number },
  options: { plainEveryMs?: number } & ProgressUnit = {},
): ProgressReporter => {
  const shape: ProgressUnit = { unit: options.unit, position: options.position };
  const tty = out.isTTY === true;
  const every = options.plainEveryMs ?? 2000;
  let drawn = false;
  // Off a terminal, the first line comes after `every` too: a short replay prints only its result.
  let lastPlain = Date.now();
  return {
    update(progress) {
      if (tty) {
        out.write(`\r\x1b[2K${formatProgress(progress, { ...shape, columns: out.columns || 80 })}`);
        drawn = true;
      } else if (Date.now() - lastPlain >= every) {
        out.write(`${formatProgress(progress, shape)}\n`);
        lastPlain = Date.now();
      }
    },
    clear() {
      if (drawn) out.write('\r\x1b[2K');
      drawn = false;
    },
    finish(progress) {
      if (tty) out.write(`\r\x1b[2K${formatProgress(progress, { ...shape, columns: out.columns || 80 })}\n`);
      else out.write(`${formatProgress(progress, shape)}\n`);
      drawn = false;
    },
  };
};
