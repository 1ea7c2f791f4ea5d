/**
 * The cut of a multipart upload, as Sluice planned it: every part but the last is
 * `part_size` bytes. Pure arithmetic, shared by the uploader and its tests.
 */

export interface Cut {
  size: number;
  partSize: number;
  partCount: number;
}

/** Byte range `[start, end)` of part `n` (1-based). */
export function rangeOf(cut: Cut, n: number): [number, number] {
  const start = (n - 1) * cut.partSize;
  const end = n === cut.partCount ? cut.size : start + cut.partSize;
  return [start, end];
}

/** The planned length of part `n`. */
export function lengthOf(cut: Cut, n: number): number {
  const [start, end] = rangeOf(cut, n);
  return end - start;
}

/** Part numbers 1..count. */
export function partNumbers(cut: Cut): number[] {
  return Array.from({ length: cut.partCount }, (_, i) => i + 1);
}
