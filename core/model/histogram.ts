/**
 * Weight histograms for the UI: evenly spaced bins symmetric around zero with zero on a bin
 * centre, so the spike pruning leaves at zero stays one bar.
 */
export interface Histogram {
  edges: number[];
  counts: number[];
  zeros: number;
  total: number;
}

function symmetricEdges(halfWidth: number, bins: number): number[] {
  const half = Math.max(halfWidth, 1e-12);
  return Array.from({ length: bins + 1 }, (_, i) => -half + (i * 2 * half) / bins);
}

function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

function count(values: Float32Array, edges: number[]): number[] {
  const bins = edges.length - 1;
  const lo = edges[0]!;
  const width = (edges[bins]! - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]!++;
  return counts;
}

const zerosOf = (values: Float32Array) => values.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);

export function weightHistogram(values: Float32Array, bins = 61): Histogram {
  const edges = symmetricEdges(maxAbs(values), bins);
  return { edges, counts: count(values, edges), zeros: zerosOf(values), total: values.length };
}

/** Before and after a compression step on the same bins, so the two can be drawn together. */
export function pairedHistogram(before: Float32Array, after: Float32Array, bins = 61): { edges: number[]; before: number[]; after: number[] } {
  const edges = symmetricEdges(Math.max(maxAbs(before), maxAbs(after)), bins);
  return { edges, before: count(before, edges), after: count(after, edges) };
}
