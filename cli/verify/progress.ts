import type { Writable } from 'node:stream';
import { progressReporter } from '../output/replay-progress.js';

/**
 * `evented verify`'s progress on stderr, drawn as a replay's is (cli/output/replay-progress.ts), in commands:
 * on a terminal only, redrawn at most every REDRAW_MS — a run may go over millions of commands.
 */

const REDRAW_MS = 100;

export interface VerifyProgressBar {
  update(progress: { checked: number; perSecond: number }): void;
  finish(checked: number): void;
  clear(): void;
}

export const verifyProgress = (
  out: Writable & { isTTY?: boolean; columns?: number },
  total: number,
  enabled: boolean,
): VerifyProgressBar => {
  if (!enabled || out.isTTY !== true)
    return { update: () => undefined, finish: () => undefined, clear: () => undefined };
  const reporter = progressReporter(out, { unit: 'commands', position: false });
  const started = Date.now();
  let drawn = 0;
  const shown = (checked: number, perSecond: number, done: boolean) => ({
    ...{ events: checked, total, aggregates: 0, position: 0, eventsPerSecond: perSecond, done },
    ...{
      etaMs: perSecond > 0 ? ((total - checked) / perSecond) * 1000 : 0,
      dryRun: false,
      rateMeasured: false,
    },
  });
  return {
    update({ checked, perSecond }) {
      if (Date.now() - drawn < REDRAW_MS) return;
      drawn = Date.now();
      reporter.update(shown(checked, perSecond, false));
    },
    finish(checked) {
      reporter.finish(shown(checked, checked / Math.max((Date.now() - started) / 1000, 0.001), true));
    },
    clear: () => reporter.clear(),
  };
};
