/**
 * TF MOT's PolynomialDecay pruning schedule: sparsity rises from `initialSparsity` at
 * `beginStep` to `finalSparsity` at `endStep` along (1 - p)^power, and masks are recomputed
 * every `frequency` steps inside that range.
 */
export interface PolynomialDecay {
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  frequency: number;
  power: number;
}

export function polynomialSparsity(s: PolynomialDecay, step: number): number {
  const p = Math.min(1, Math.max(0, (step - s.beginStep) / (s.endStep - s.beginStep)));
  return (s.initialSparsity - s.finalSparsity) * (1 - p) ** s.power + s.finalSparsity;
}

export function shouldPrune(s: PolynomialDecay, step: number): boolean {
  const inRange = step >= s.beginStep && (s.endStep < 0 || step <= s.endStep);
  return inRange && (step - s.beginStep) % s.frequency === 0;
}

export type LearningRateSchedule =
  | { kind: 'constant' }
  | { kind: 'cosine'; alpha: number }
  | { kind: 'exponential'; decayRate: number; decaySteps: number; staircase: boolean };

/** The rate at `step` of `totalSteps`, with Keras' CosineDecay and ExponentialDecay formulas. */
export function learningRateAt(
  base: number,
  schedule: LearningRateSchedule,
  step: number,
  totalSteps: number,
): number {
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'cosine': {
      const p = Math.min(step, totalSteps) / Math.max(1, totalSteps);
      const cos = 0.5 * (1 + Math.cos(Math.PI * p));
      return base * ((1 - schedule.alpha) * cos + schedule.alpha);
    }
    case 'exponential': {
      const e = step / schedule.decaySteps;
      return base * schedule.decayRate ** (schedule.staircase ? Math.floor(e) : e);
    }
  }
}
