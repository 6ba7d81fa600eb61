/**
 * The comparison figures STM32Cube.AI's validation reports between two sets of outputs
 * (device against desktop, or against one-hot ground truth): RMSE, MAE, L2 relative error
 * ‖a − b‖₂ / ‖b‖₂ and cosine similarity, over every output value of every sample.
 */
export interface OutputComparison {
  rmse: number;
  mae: number;
  /** L2 relative error against the reference (second argument). */
  l2r: number;
  cos: number;
}

export class OutputComparer {
  private n = 0;
  private sumSq = 0;
  private sumAbs = 0;
  private dot = 0;
  private normA = 0;
  private normB = 0;

  /** `reference` is the side the L2 relative error divides by. */
  add(values: ArrayLike<number>, reference: ArrayLike<number>): void {
    if (values.length !== reference.length) {
      throw new RangeError(`cannot compare ${values.length} values with ${reference.length}`);
    }
    for (let i = 0; i < values.length; i++) {
      const a = values[i]!;
      const b = reference[i]!;
      const d = a - b;
      this.sumSq += d * d;
      this.sumAbs += Math.abs(d);
      this.dot += a * b;
      this.normA += a * a;
      this.normB += b * b;
    }
    this.n += values.length;
  }

  result(): OutputComparison {
    const n = Math.max(1, this.n);
    const bothZero = this.normA === 0 && this.normB === 0;
    return {
      rmse: Math.sqrt(this.sumSq / n),
      mae: this.sumAbs / n,
      l2r: this.normB === 0 ? (this.sumSq === 0 ? 0 : Infinity) : Math.sqrt(this.sumSq) / Math.sqrt(this.normB),
      cos: bothZero ? 1 : this.normA === 0 || this.normB === 0 ? 0 : this.dot / Math.sqrt(this.normA * this.normB),
    };
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export function oneHot(index: number, length: number): Float32Array {
  const v = new Float32Array(length);
  if (index >= 0 && index < length) v[index] = 1;
  return v;
}

/** Order statistics as the board computes them (docs/protocol.md, BENCHMARK). */
export function orderStats(values: number[]): { min: number; median: number; p95: number; max: number; mean: number } {
  if (values.length === 0) return { min: 0, median: 0, p95: 0, max: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return {
    min: sorted[0]!,
    median: sorted[Math.floor(n / 2)]!,
    p95: sorted[Math.min(n - 1, Math.max(0, Math.ceil(0.95 * n) - 1))]!,
    max: sorted[n - 1]!,
    mean: values.reduce((a, b) => a + b, 0) / n,
  };
}
