import { EvaluationError } from './errors';

/** Running top-1 counts and a confusion matrix (rows: true class, columns: predicted). */
export class ClassificationTally {
  readonly confusion: number[][];
  samples = 0;
  correct = 0;

  constructor(readonly classes: number) {
    this.confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  }

  /** A label outside the model's classes is a dataset/model mismatch, reported with the sample's position. */
  add(truth: number, predicted: number): void {
    for (const [what, value] of [['label', truth], ['prediction', predicted]] as const) {
      if (!Number.isInteger(value) || value < 0 || value >= this.classes) {
        throw new EvaluationError(
          `sample ${this.samples} has ${what} ${value} but the model has ${this.classes} classes (0-${this.classes - 1})`,
          'use a dataset whose labels match the model outputs',
        );
      }
    }
    this.confusion[truth]![predicted]! += 1;
    this.samples++;
    if (truth === predicted) this.correct++;
  }

  get accuracy(): number {
    return this.samples === 0 ? 0 : this.correct / this.samples;
  }

  /** null for classes with no samples: 0% would claim a failure that never happened. */
  perClassAccuracy(): (number | null)[] {
    return this.confusion.map((row, c) => {
      const total = row.reduce((a, b) => a + b, 0);
      return total === 0 ? null : row[c]! / total;
    });
  }
}

/** Index of the largest value in each row; the first wins ties, as tf.argMax does. */
export function argmaxRows(values: Float32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = values[r * cols]!;
    for (let c = 1; c < cols; c++) {
      const v = values[r * cols + c]!;
      if (v > bestValue) {
        best = c;
        bestValue = v;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Sum of squared errors kept in float64: a test set has millions of terms. */
export class SquaredErrorTally {
  sum = 0;
  values = 0;
  samples = 0;

  add(predicted: Float32Array, target: Float32Array | Int32Array, samples: number): void {
    for (let i = 0; i < predicted.length; i++) {
      const d = predicted[i]! - target[i]!;
      this.sum += d * d;
    }
    this.values += predicted.length;
    this.samples += samples;
  }

  get mse(): number {
    return this.values === 0 ? 0 : this.sum / this.values;
  }
}
