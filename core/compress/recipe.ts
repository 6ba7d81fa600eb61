import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CompressError, recipeError } from './errors';
import { WEIGHTED_OPS, inputChannels, type LayerGraph } from './graph';
import {
  describeSelector,
  layerFilter,
  matchingNodes,
  namesExplicitly,
  normaliseSelector,
  selectorSchema,
  type Selector,
} from './select';

const selectors = z.array(selectorSchema).min(1);

/** "M:N" in the issue's reading: keep at most N of every M weights along input channels. */
const mnPattern = z.string().regex(/^\d+:\d+$/, 'pattern is "unstructured" or "N:M" such as "2:4"');

export const pruneStepSchema = z.strictObject({
  step: z.literal('prune'),
  /** Fraction of weights set to zero, in [0, 1). */
  sparsity: z.number(),
  /**
   * per-layer: each layer reaches the target; global: one threshold for all; sensitivity:
   * the target over all chosen layers together, each layer's share set by the output error
   * pruning it adds on the samples.
   */
  scope: z.enum(['per-layer', 'global', 'sensitivity']).default('per-layer'),
  pattern: z.union([z.literal('unstructured'), mnPattern]).default('unstructured'),
  /**
   * magnitude: smallest |w| go (TF MOT). activation: smallest |w|·RMS(input) go, measured on
   * representative samples.
   */
  criterion: z.enum(['magnitude', 'activation']).default('magnitude'),
  /** Re-solve each layer's surviving weights (and bias) for the least output error. */
  reconstruct: z.boolean().default(false),
  /** Representative samples the data-aware options measure on. */
  samples: z.number().int().min(1).default(512),
  include: selectors.optional(),
  exclude: selectors.optional(),
});

export const clusterStepSchema = z.strictObject({
  step: z.literal('cluster'),
  k: z.number().int(),
  init: z.enum(['kmeans++', 'linear', 'density', 'random']).default('kmeans++'),
  granularity: z.enum(['per-layer', 'per-channel']).default('per-layer'),
  preserveSparsity: z.boolean().default(true),
  seed: z.number().int().default(0),
  maxIterations: z.number().int().min(1).default(50),
  /** Re-solve each layer's centroids (assignments fixed) for the least output error. */
  refine: z.boolean().default(false),
  /** Representative samples `refine` measures on. */
  samples: z.number().int().min(1).default(512),
  include: selectors.optional(),
  exclude: selectors.optional(),
});

export const policySchema = z.enum(['int8', 'float', 'fold']);
export type LayerPolicy = z.infer<typeof policySchema>;

export const policyRuleSchema = z.strictObject({
  layers: selectors,
  policy: policySchema,
});

export const quantizeStepSchema = z.strictObject({
  step: z.literal('quantize'),
  weights: z.enum(['per-channel', 'per-tensor']).default('per-channel'),
  inputType: z.enum(['int8', 'float32']).default('float32'),
  outputType: z.enum(['int8', 'float32']).default('float32'),
  calibration: z
    .strictObject({
      samples: z.number().int().min(1).default(100),
      method: z.enum(['minmax', 'percentile', 'mse']).default('minmax'),
      /** For method percentile: the two-sided percentile kept, e.g. 99.99. */
      percentile: z.number().gt(50).max(100).default(99.99),
    })
    .prefault({}),
  /** First matching rule wins; unmatched layers: fold where foldable, else int8. */
  policy: z.array(policyRuleSchema).default([]),
  /**
   * After prune or cluster, refresh the statistics of BatchNormalization layers that stay in
   * the graph (float or int8 MUL+ADD) from the calibration samples.
   */
  reestimateBatchNorm: z.boolean().default(true),
  /**
   * Rescale the output channels of an int8 layer feeding a float BatchNormalization so the BN
   * multiplies every channel alike (exact in float; see core/compress/equalize.ts).
   */
  equalizeFloatBatchNorm: z.boolean().default(true),
  autoExclude: z
    .strictObject({
      maxAccuracyDrop: z.number().min(0).max(1),
      subset: z.number().int().min(1).default(300),
    })
    .optional(),
});

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
export const fineTuneStepSchema = z.strictObject({
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

export type FineTuneConfig = z.infer<typeof fineTuneStepSchema>;
export type FineTuneInput = z.input<typeof fineTuneStepSchema>;

export const stepSchema = z.discriminatedUnion('step', [
  pruneStepSchema,
  clusterStepSchema,
  quantizeStepSchema,
  fineTuneStepSchema,
]);

export const recipeSchema = z.strictObject({
  name: z.string().default('custom'),
  steps: z.array(stepSchema).min(1),
});

export type Recipe = z.infer<typeof recipeSchema>;
export type PruneStep = z.infer<typeof pruneStepSchema>;
export type ClusterStep = z.infer<typeof clusterStepSchema>;
export type QuantizeStep = z.infer<typeof quantizeStepSchema>;
export type RecipeStep = z.infer<typeof stepSchema>;
export type FineTuneStep = z.infer<typeof fineTuneStepSchema>;

const keepNormalisationFloat: z.input<typeof policyRuleSchema>[] = [
  {
    layers: [
      { type: 'Rescaling' },
      { type: 'BatchNormalization' },
      { type: 'LayerNormalization' },
      { type: 'Normalization' },
    ],
    policy: 'float',
  },
];

/**
 * Presets pick activation ranges that minimise rounding plus clipping error: min/max on 100
 * samples lets one outlier stretch a range, or clips what the 101st sample shows.
 */
const calibration = { method: 'mse' } as const;

/** Presets prune and cluster on data: one-shot, without fine-tuning, that is what keeps accuracy. */
function dataAwarePrune(
  options: Omit<z.input<typeof pruneStepSchema>, 'step'>,
): z.input<typeof pruneStepSchema> {
  return {
    step: 'prune',
    scope: 'sensitivity',
    criterion: 'activation',
    reconstruct: true,
    ...options,
  };
}

function dataAwareCluster(
  k: number,
  granularity: 'per-layer' | 'per-channel' = 'per-layer',
): z.input<typeof clusterStepSchema> {
  return { step: 'cluster', k, granularity, refine: true };
}

const presetInputs: Record<string, z.input<typeof recipeSchema>> = {
  int8: { name: 'int8', steps: [{ step: 'quantize', calibration }] },
  'int8-keep-rescaling-float': {
    name: 'int8-keep-rescaling-float',
    steps: [{ step: 'quantize', calibration, policy: keepNormalisationFloat }],
  },
  'prune50-cluster16-int8': {
    name: 'prune50-cluster16-int8',
    // Per channel: folding BatchNormalization gives every output channel its own scale, which
    // one codebook per layer cannot follow (docs/recipes.md has the measurements).
    steps: [
      dataAwarePrune({ sparsity: 0.5 }),
      dataAwareCluster(16, 'per-channel'),
      { step: 'quantize', calibration },
    ],
  },
  'prune50-cluster16-int8-keep-rescaling-float': {
    name: 'prune50-cluster16-int8-keep-rescaling-float',
    steps: [
      dataAwarePrune({ sparsity: 0.5 }),
      dataAwareCluster(16),
      { step: 'quantize', calibration, policy: keepNormalisationFloat },
    ],
  },
  'prune75-2of4-int8': {
    name: 'prune75-2of4-int8',
    steps: [dataAwarePrune({ sparsity: 0.75, pattern: '2:4' }), { step: 'quantize', calibration }],
  },
};

export const PRESET_NAMES = Object.keys(presetInputs);

export function preset(name: string): Recipe {
  const input = presetInputs[name];
  if (!input) {
    throw recipeError(
      `no recipe preset named "${name}"`,
      `use a recipe file or one of: ${PRESET_NAMES.join(', ')}`,
    );
  }
  return recipeSchema.parse(input);
}

/** Parses and schema-checks a recipe document; `source` names it in messages. */
export function parseRecipe(doc: unknown, source = 'recipe'): Recipe {
  const result = recipeSchema.safeParse(doc);
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
      .join('; ');
    throw recipeError(
      `${source} is not a valid recipe: ${issues}`,
      'see docs/recipes.md for the fields each step takes',
    );
  }
  checkStepValues(result.data, source);
  return result.data;
}

/** A preset name, or a .json/.yaml/.yml file. */
export function loadRecipe(fileOrPreset: string): Recipe {
  if (presetInputs[fileOrPreset]) return preset(fileOrPreset);
  let text: string;
  try {
    text = readFileSync(fileOrPreset, 'utf8');
  } catch (cause) {
    throw new CompressError('RECIPE_NOT_FOUND', `cannot read recipe "${fileOrPreset}"`, {
      hint: `give a recipe file path or a preset: ${PRESET_NAMES.join(', ')}`,
      cause,
    });
  }
  let doc: unknown;
  try {
    doc = path.extname(fileOrPreset).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new CompressError(
      'RECIPE_INVALID',
      `recipe "${fileOrPreset}" is not valid ${path.extname(fileOrPreset) === '.json' ? 'JSON' : 'YAML'}: ${(cause as Error).message}`,
      {
        hint: 'fix the syntax at the position named',
        cause,
      },
    );
  }
  return parseRecipe(doc, `recipe "${fileOrPreset}"`);
}

export function parseMN(pattern: string): { n: number; m: number } | undefined {
  if (pattern === 'unstructured') return undefined;
  const [n, m] = pattern.split(':').map(Number);
  return { n, m };
}

function checkStepValues(recipe: Recipe, source: string): void {
  recipe.steps.forEach((step, i) => {
    const where = `${source}, step ${i + 1} (${step.step})`;
    if (step.step === 'prune') {
      if (!(step.sparsity >= 0 && step.sparsity < 1)) {
        throw recipeError(
          `${where}: sparsity ${step.sparsity} is outside [0, 1)`,
          'give the fraction of weights to zero, e.g. 0.5 for half; 1 would remove every weight',
        );
      }
      const mn = parseMN(step.pattern);
      if (mn && !(mn.n >= 1 && mn.n < mn.m)) {
        throw recipeError(
          `${where}: pattern "${step.pattern}" must keep N of M with 1 <= N < M`,
          'use "2:4" (keep 2 of every 4 input channels)',
        );
      }
      if (mn && step.scope === 'global') {
        throw recipeError(
          `${where}: an N:M pattern is applied per layer and cannot use scope "global"`,
          'drop scope or set it to per-layer',
        );
      }
    }
    if (step.step === 'cluster' && !(step.k >= 2 && step.k <= 256)) {
      throw recipeError(
        `${where}: k = ${step.k} clusters is outside 2..256`,
        'int8 holds at most 256 distinct values and one cluster is no clustering; pick k between 2 and 256, e.g. 16',
      );
    }
  });
  const quantizeAt = recipe.steps.findIndex((s) => s.step === 'quantize');
  const compressing = recipe.steps.filter((s) => s.step !== 'fineTune');
  if (quantizeAt >= 0 && compressing[compressing.length - 1].step !== 'quantize') {
    throw recipeError(
      `${source}: quantize must be the last prune/cluster/quantize step`,
      'move the quantize step to the end (a fineTune step may follow it)',
    );
  }
  for (const kind of ['prune', 'cluster', 'quantize'] as const) {
    if (recipe.steps.filter((s) => s.step === kind).length > 1) {
      throw recipeError(
        `${source}: more than one ${kind} step`,
        `merge them into one ${kind} step with include/exclude rules`,
      );
    }
  }
}

export interface RecipeCheck {
  warnings: string[];
}

const KNOWN_KERAS_TYPES = new Set([
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Conv1D',
  'Dense',
  'BatchNormalization',
  'LayerNormalization',
  'Normalization',
  'Rescaling',
  'Add',
  'Concatenate',
  'Multiply',
  'Activation',
  'ReLU',
  'Softmax',
  'AveragePooling2D',
  'MaxPooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'ZeroPadding2D',
]);

function allSelectors(recipe: Recipe): Selector[] {
  const out: Selector[] = [];
  for (const s of recipe.steps) {
    if (s.step === 'prune' || s.step === 'cluster')
      out.push(...(s.include ?? []), ...(s.exclude ?? []));
    if (s.step === 'quantize') for (const r of s.policy) out.push(...r.layers);
  }
  return out;
}

/**
 * Checks a recipe against the model it will run on, before any work: every name and type
 * must exist, N:M patterns must fit the layers they name, and step order must keep the
 * guarantees (or a warning says which one it breaks).
 */
export function checkRecipeAgainstGraph(
  recipe: Recipe,
  graph: LayerGraph,
  available: { fineTune?: boolean } = {},
): RecipeCheck {
  const warnings: string[] = [];
  const layerNames = graph.nodes.map((n) => n.name);
  const typesPresent = [...new Set(graph.nodes.map((n) => n.kerasClass))];
  for (const s of allSelectors(recipe)) {
    const n = normaliseSelector(s);
    if (n.kind === 'regex') {
      try {
        new RegExp(n.value);
      } catch {
        throw recipeError(
          `recipe selector ${describeSelector(s)} is not a valid regular expression`,
          'fix the expression (JavaScript syntax)',
        );
      }
    }
    if (matchingNodes(graph, s).length > 0) continue;
    if (n.kind === 'name') {
      const near = layerNames
        .filter((l) => l.toLowerCase().includes(n.value.toLowerCase().slice(0, 4)))
        .slice(0, 5);
      throw recipeError(
        `recipe names layer "${n.value}", which the model does not have`,
        `layer names in this model include: ${(near.length ? near : layerNames.slice(0, 8)).join(', ')}`,
      );
    }
    if (n.kind === 'type' && !KNOWN_KERAS_TYPES.has(n.value)) {
      throw recipeError(
        `recipe selects layer type "${n.value}", which is not a Keras layer type`,
        `types in this model: ${typesPresent.join(', ')} (Keras class names, case-sensitive)`,
      );
    }
    // A type rule is general (presets list types a model may lack); other patterns are not.
    if (n.kind !== 'type') warnings.push(`${describeSelector(s)} matches no layer of this model`);
  }

  const steps = recipe.steps;
  const pruneAt = steps.findIndex((s) => s.step === 'prune');
  const clusterAt = steps.findIndex((s) => s.step === 'cluster');
  if (pruneAt >= 0 && clusterAt >= 0 && pruneAt > clusterAt) {
    warnings.push(
      'prune runs after cluster: the zeros it adds are one more value per clustered layer, so a layer may hold k+1 distinct values; put prune first to keep at most k',
    );
  }
  const cluster = steps[clusterAt] as ClusterStep | undefined;
  const prune = steps[pruneAt] as PruneStep | undefined;
  if (cluster && prune && !cluster.preserveSparsity) {
    warnings.push(
      'cluster has preserveSparsity false after pruning: pruned weights are kept at zero by their masks anyway, and zero counts as one of the k values',
    );
  }

  if (prune) {
    const mn = parseMN(prune.pattern);
    if (mn) {
      const chosen = layerFilter(prune.include, prune.exclude);
      for (const node of graph.nodes) {
        if (!node.kernel || !WEIGHTED_OPS.has(node.op) || !chosen(node)) continue;
        const cin = inputChannels(node.kernel, node.op);
        if (cin >= mn.m) continue;
        if (namesExplicitly(prune.include, node)) {
          throw recipeError(
            `prune pattern ${prune.pattern} on layer "${node.name}", which has ${cin} input channel(s), fewer than ${mn.m}`,
            `exclude "${node.name}" from the prune step or prune it unstructured`,
          );
        }
        warnings.push(
          `layer "${node.name}" has ${cin} input channel(s), too few for ${prune.pattern}; it is not pruned`,
        );
      }
      const implied = 1 - mn.n / mn.m;
      if (prune.sparsity < implied)
        warnings.push(
          `pattern ${prune.pattern} alone zeroes ${implied * 100}% of each layer, more than the sparsity ${prune.sparsity} asked for`,
        );
    }
  }
  const fine = steps.find((s) => s.step === 'fineTune');
  if (fine && !available.fineTune)
    warnings.push(
      'fineTune steps are recorded but fine-tuning is not part of this build; they are skipped',
    );
  return { warnings };
}

export interface DatasetShape {
  /** Shape of one sample without the batch axis. */
  sampleShape: number[];
  count: number;
  /** Where the data came from, for messages. */
  source: string;
  /** Number of classes the labels name, for class-labelled data. */
  classes?: number;
}

/** Rejects data whose samples do not fit the model input, or too few for calibration. */
export function checkDatasetFits(graph: LayerGraph, data: DatasetShape, recipe: Recipe): void {
  const input = graph.nodes.find((n) => n.name === graph.inputs[0])!;
  const want = input.outputShape;
  const got = data.sampleShape;
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  if (size(want) !== size(got)) {
    throw recipeError(
      `dataset ${data.source} has samples of shape [${got.join(', ')}], the model input "${input.name}" takes [${want.join(', ')}]`,
      'pick a dataset made for this model, or a model whose input matches these samples',
    );
  }
  const output = graph.nodes.find((n) => n.name === graph.outputs[0])!;
  const outputs = output.outputShape.reduce((a, b) => a * b, 1);
  if (data.classes !== undefined && data.classes > 1 && outputs > 1 && data.classes !== outputs) {
    throw recipeError(
      `dataset ${data.source} has ${data.classes} classes, the model output "${output.name}" has ${outputs} values`,
      'evaluate a classifier on data with as many classes as it has outputs',
    );
  }
  const q = recipe.steps.find((s) => s.step === 'quantize') as QuantizeStep | undefined;
  if (q && data.count < 1) {
    throw recipeError(
      `dataset ${data.source} is empty`,
      'calibration needs representative samples; give a dataset with at least one',
    );
  }
  if (q && q.calibration.samples > data.count) {
    throw recipeError(
      `calibration asks for ${q.calibration.samples} samples but ${data.source} has ${data.count}`,
      `lower calibration.samples to at most ${data.count}, or give a larger --calib-data`,
    );
  }
}

/** Representative samples a recipe reads: calibration, and what data-aware steps measure on. */
export function calibrationSamplesNeeded(recipe: Recipe): number {
  let n = 0;
  for (const s of recipe.steps) {
    if (s.step === 'quantize') n = Math.max(n, s.calibration.samples);
    if (s.step === 'prune' && (s.criterion === 'activation' || s.reconstruct))
      n = Math.max(n, s.samples);
    if (s.step === 'cluster' && s.refine) n = Math.max(n, s.samples);
  }
  return n;
}
