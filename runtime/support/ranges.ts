/** Whole numbers as ranges, in order: [3, 1, 2, 7, 9, 10] → "1-3,7,9-10" (partitions in status lines). */
export const formatRanges = (numbers: readonly number[]): string => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j += 1;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
};
