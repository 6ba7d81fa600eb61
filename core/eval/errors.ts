import { QuantbenchError } from '../errors';

/** The model and the dataset cannot be scored against each other. */
export class EvaluationError extends QuantbenchError {
  constructor(message: string, hint: string) {
    super('EVAL_MISMATCH', message, { hint });
  }
}
