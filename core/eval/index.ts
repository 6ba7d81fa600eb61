export {
  evaluateFloat,
  type ClassificationResult,
  type EvalProgress,
  type FloatEvalOptions,
  type FloatEvalResult,
  type RegressionResult,
} from './float-eval';
export { EvaluationError } from './errors';
export { argmaxRows, ClassificationTally, SquaredErrorTally } from './metrics';
