import { z } from 'zod';

const learningRateSchedule = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant') }),
  /** Keras CosineDecay over the whole run; alpha is the floor as a fraction of the rate. */
  z.strictObject({ kind: z.literal('cosine'), alpha: z.number().min(0).max(1).default(0) }),
  z.strictObject({
    kind: z.literal('exponential'),
    decayRate: z.number().gt(0).max(1),
    decaySteps: z.number().int().min(1),
    staircase: z.boolean().default(false),
  }),
]);

/** TF MOT PolynomialDecay, in optimizer steps of this fine-tune. */
const pruningSchedule = z
  .strictObject({
    initialSparsity: z.number().min(0).lt(1).default(0),
    finalSparsity: z.number().min(0).lt(1),
    beginStep: z.number().int().min(0).default(0),
    endStep: z.number().int().min(1),
    frequency: z.number().int().min(1).default(100),
    power: z.number().positive().default(3),
  })
  .refine((s) => s.endStep > s.beginStep, { message: 'endStep must come after beginStep' });

/**
 * The recipe's `fineTune` step. Masks, clusters and layer policies come from the prune,
 * cluster and quantize steps before it; this says how long and how to train while they hold.
 */
export const FineTuneSchema = z.strictObject({
  step: z.literal('fineTune'),
  epochs: z.number().int().min(1).default(2),
  batchSize: z.number().int().min(1).default(32),
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  learningRate: z.number().positive().default(1e-4),
  schedule: learningRateSchedule.default({ kind: 'constant' }),
  /** Dataset spec of the training data (e.g. "fashion-mnist:train"); default: the command's --data. */
  data: z.string().min(1).optional(),
  /** The last fraction of the training data held out to pick the best checkpoint, as Keras does. */
  validationSplit: z.number().min(0).lt(1).default(0.1),
  /** Fake quantization of int8 layers when the recipe quantizes. */
  quantizationAware: z.boolean().default(true),
  /** Moving-average decay of activation ranges (TF MOT uses 0.999). */
  emaDecay: z.number().gt(0).lt(1).default(0.999),
  /**
   * BatchNormalization layers normalise with their moving statistics while training (gamma
   * and beta still train), as the exported model will; batch statistics of small batches on
   * a pruned and clustered network otherwise differ from what the export computes.
   */
  freezeBatchNorm: z.boolean().default(false),
  /** Gradual pruning during the fine-tune; without it the prune step's masks stay fixed. */
  pruning: pruningSchedule.optional(),
  seed: z.number().int().default(0),
});

export type FineTuneConfig = z.infer<typeof FineTuneSchema>;
export type FineTuneInput = z.input<typeof FineTuneSchema>;
