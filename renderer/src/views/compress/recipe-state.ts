/**
 * The recipe editor's state and its translation to and from the recipe document the core
 * validates (core/compress/recipe.ts). Kept apart from the component so it can be reasoned
 * about as plain data.
 */
export type Policy = 'int8' | 'float' | 'fold';
export type SelectorKind = 'type' | 'name' | 'glob' | 'regex';

export interface PolicyRule {
  kind: SelectorKind;
  value: string;
  policy: Policy;
}

export interface RecipeState {
  name: string;
  prune: { enabled: boolean; sparsity: number; scope: 'per-layer' | 'global'; pattern: 'unstructured' | '2:4' };
  cluster: { enabled: boolean; k: number; init: 'kmeans++' | 'linear' | 'density' | 'random'; granularity: 'per-layer' | 'per-channel'; preserveSparsity: boolean };
  quantize: {
    weights: 'per-channel' | 'per-tensor';
    inputType: 'int8' | 'float32';
    outputType: 'int8' | 'float32';
    samples: number;
    method: 'minmax' | 'percentile' | 'mse';
    keepRescalingFloat: boolean;
    rules: PolicyRule[];
  };
}

/** The layer types "keep rescaling layers in float" covers. */
export const rescalingTypes = ['Rescaling', 'BatchNormalization', 'LayerNormalization', 'Normalization'];

export function defaultState(): RecipeState {
  return {
    name: 'custom',
    prune: { enabled: false, sparsity: 0.5, scope: 'per-layer', pattern: 'unstructured' },
    cluster: { enabled: false, k: 16, init: 'kmeans++', granularity: 'per-layer', preserveSparsity: true },
    quantize: { weights: 'per-channel', inputType: 'float32', outputType: 'float32', samples: 100, method: 'minmax', keepRescalingFloat: false, rules: [] },
  };
}

type Doc = { name?: string; steps: Record<string, unknown>[] };

function selectorOf(rule: PolicyRule): Record<string, string> {
  return { [rule.kind]: rule.value };
}

export function toRecipe(state: RecipeState): Doc {
  const steps: Record<string, unknown>[] = [];
  if (state.prune.enabled) steps.push({ step: 'prune', sparsity: state.prune.sparsity, scope: state.prune.scope, pattern: state.prune.pattern });
  if (state.cluster.enabled) steps.push({ step: 'cluster', ...state.cluster, enabled: undefined });
  const policy = [
    ...(state.quantize.keepRescalingFloat ? [{ layers: rescalingTypes.map((type) => ({ type })), policy: 'float' }] : []),
    ...state.quantize.rules.filter((r) => r.value.trim()).map((r) => ({ layers: [selectorOf(r)], policy: r.policy })),
  ];
  steps.push({
    step: 'quantize',
    weights: state.quantize.weights,
    inputType: state.quantize.inputType,
    outputType: state.quantize.outputType,
    calibration: { samples: state.quantize.samples, method: state.quantize.method },
    policy,
  });
  return JSON.parse(JSON.stringify({ name: state.name, steps })) as Doc;
}

/** Reads a preset (or any recipe document) back into editor state. */
export function fromRecipe(doc: Doc): RecipeState {
  const state = defaultState();
  state.name = doc.name ?? 'custom';
  for (const step of doc.steps) {
    if (step.step === 'prune') {
      state.prune = { enabled: true, sparsity: Number(step.sparsity), scope: (step.scope as 'per-layer') ?? 'per-layer', pattern: step.pattern === '2:4' ? '2:4' : 'unstructured' };
    } else if (step.step === 'cluster') {
      state.cluster = {
        enabled: true,
        k: Number(step.k),
        init: (step.init as RecipeState['cluster']['init']) ?? 'kmeans++',
        granularity: (step.granularity as RecipeState['cluster']['granularity']) ?? 'per-layer',
        preserveSparsity: step.preserveSparsity !== false,
      };
    } else if (step.step === 'quantize') {
      const calibration = (step.calibration ?? {}) as { samples?: number; method?: RecipeState['quantize']['method'] };
      const rules = (step.policy ?? []) as { layers: (string | Record<string, string>)[]; policy: Policy }[];
      const keep = rules.find((r) => r.policy === 'float' && rescalingTypes.every((t) => r.layers.some((l) => typeof l === 'object' && l.type === t)));
      state.quantize = {
        weights: (step.weights as RecipeState['quantize']['weights']) ?? 'per-channel',
        inputType: (step.inputType as RecipeState['quantize']['inputType']) ?? 'float32',
        outputType: (step.outputType as RecipeState['quantize']['outputType']) ?? 'float32',
        samples: calibration.samples ?? 100,
        method: calibration.method ?? 'minmax',
        keepRescalingFloat: keep !== undefined,
        rules: rules
          .filter((r) => r !== keep)
          .flatMap((r) =>
            r.layers.map((l) => {
              const [kind, value] = typeof l === 'string' ? (['name', l] as const) : (Object.entries(l)[0] as [SelectorKind, string]);
              return { kind, value, policy: r.policy };
            }),
          ),
      };
    }
  }
  return state;
}
