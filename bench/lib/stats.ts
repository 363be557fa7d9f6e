/** Latency statistics and number formatting for benchmark output. */

/** The p-th percentile (0–100) by nearest rank of an ascending array; NaN when empty. */
export const percentile = (sorted: Float64Array, p: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
};

/** The median (nearest rank) of values in any order; NaN when empty. */
export const median = (values: readonly number[]): number => percentile(Float64Array.from(values).sort(), 50);

/** Figures over several runs: one as it is, several as "min / median / max", each formatted by `fmt`. */
export const spread = (values: readonly number[], fmt: (value: number) => string): string => {
  if (values.length === 1) return fmt(values[0]!);
  const sorted = Float64Array.from(values).sort();
  return `${fmt(sorted[0]!)} / ${fmt(median(values))} / ${fmt(sorted[sorted.length - 1]!)}`;
};

export const fmtMs = (ms: number): string =>
  Number.isNaN(ms) ? '—' : ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`;

export const fmtRate = (perSecond: number): string => `${Math.round(perSecond).toLocaleString('en-US')}/s`;

export const fmtMiB = (kib: number | undefined): string =>
  kib === undefined ? '—' : `${(kib / 1024).toFixed(0)} MiB`;

export const pad = (text: string, width: number): string => text.padEnd(width);
export const padLeft = (text: string, width: number): string => text.padStart(width);
