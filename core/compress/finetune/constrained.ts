import * as tf from '@tensorflow/tfjs';
import { inferencePassThroughClasses } from '../../model/layers/identity';
import { FineTuneError } from './errors';
import {
  fakeQuantActivation,
  fakeQuantWeights,
  FixedRange,
  MovingRange,
  type ActivationRange,
} from './fake-quant';
import {
  activate,
  activationName,
  batchNormVars,
  biasOf,
  kernelChannels,
  kernelOf,
  linearPart,
  WEIGHTED_CLASSES,
} from './layers';
import { magnitudeMask } from './masks';
import type { CompressionState, LayerPolicy } from './state';

export interface QatOptions {
  /** TF MOT's MovingAverageQuantizer decay. */
  emaDecay: number;
  /** The quantize step's weight scheme; Dense and per-layer clustered kernels are per-tensor either way, as exported. */
  weights?: 'per-channel' | 'per-tensor';
}

/** Where a layer's output meets int8 in the exported graph. */
interface QuantPoint {
  /** The exported graph's name of the tensor (the layer's, or the op it was fused into). */
  tensor: string;
  /** False where the tensor's range is another's (pooling and reshapes keep their input's). */
  update: boolean;
}

interface Node {
  layer: tf.layers.Layer;
  kind: string;
  inputs: number[];
  output: number;
  policy: LayerPolicy;
}

interface ClusterVars {
  /** Every group's centroids end to end; the trainable variable. */
  centroids: tf.Variable;
  /** Per kernel element, flat index into centroids; the fixed zero cluster is one past the end. */
  index: tf.Tensor1D;
  groups: number;
  perGroup: number[];
}

interface WeightedState {
  node: Node;
  shape: number[];
  channels: number;
  mask?: tf.Tensor;
  cluster?: ClusterVars;
}

const FUSED_INTO_CONSUMER = new Set(['ReLU', 'Activation']);
/** Absent from the exported graph: their consumers read their input. */
const PASS_THROUGH = inferencePassThroughClasses;
/** Their int8 kernels write with the input's parameters. */
const SAME_PARAMS = new Set([
  'MaxPooling2D',
  'AveragePooling2D',
  'Flatten',
  'Reshape',
  'ZeroPadding2D',
]);
/** Float layers whose last op takes a fused ReLU in the exported graph. */
const FLOAT_FUSING = new Set(['BatchNormalization', 'Rescaling']);
/** Activations the exporter keeps as an op of their own after a Conv/Dense (not fused). */
const UNFUSED = new Set(['softmax', 'sigmoid', 'tanh']);

/**
 * A tf.LayersModel run under the compression state: pruned weights held at zero, clustered
 * kernels gathered from trainable centroids, and (for quantization-aware training) weights
 * and activations of non-float layers passed through fake quantization, with BatchNormalization
 * folded into its convolution where the policy folds it, as the exported graph computes it.
 */
export class ConstrainedModel {
  private readonly nodes: Node[] = [];
  private readonly weighted = new Map<string, WeightedState>();
  /** BN layer name -> the conv it folds into, and back. */
  private readonly foldedBn = new Map<string, string>();
  private readonly foldOf = new Map<string, Node>();
  /** Ranges of the exported graph's int8 tensors, by tensor name. */
  private readonly ranges = new Map<string, MovingRange | FixedRange>();
  /** Layer name -> the int8 tensor its output is (absent: its output stays float or is fused away). */
  private readonly outputPoint = new Map<string, QuantPoint>();
  /** Layer name -> the int8 tensor between a Conv/Dense and its unfused activation. */
  private readonly prePoint = new Map<string, string>();
  private readonly inputId: number;
  private readonly outputId: number;

  constructor(
    readonly model: tf.LayersModel,
    readonly state: CompressionState,
    readonly qat?: QatOptions,
    private readonly options: { freezeBatchNorm: boolean } = { freezeBatchNorm: false },
  ) {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new FineTuneError(
        'FINETUNE_MODEL',
        `model "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs`,
        {
          hint: 'fine-tuning supports models with one input and one output',
        },
      );
    }
    this.inputId = model.inputs[0]!.id;
    this.outputId = model.outputs[0]!.id;
    const consumers = new Map<number, Node[]>();
    for (const layer of model.layers) {
      const ins =
        layer.getClassName() === 'InputLayer'
          ? []
          : ([] as tf.SymbolicTensor[]).concat(
              layer.input as tf.SymbolicTensor | tf.SymbolicTensor[],
            );
      const node: Node = {
        layer,
        kind: layer.getClassName(),
        inputs: ins.map((t) => t.id),
        output: (layer.output as tf.SymbolicTensor).id,
        policy: state[layer.name]?.policy ?? 'int8',
      };
      this.nodes.push(node);
      for (const id of node.inputs) consumers.set(id, [...(consumers.get(id) ?? []), node]);
    }
    const producer = new Map(this.nodes.map((n) => [n.output, n]));

    for (const node of this.nodes) {
      if (WEIGHTED_CLASSES.has(node.kind))
        this.weighted.set(node.layer.name, this.prepareWeighted(node));
      if (qat && node.kind === 'BatchNormalization' && node.policy === 'fold') {
        const from = producer.get(node.inputs[0]!);
        const sole = from && (consumers.get(from.output) ?? []).length === 1;
        if (
          from &&
          sole &&
          WEIGHTED_CLASSES.has(from.kind) &&
          activationName(from.layer) === 'linear'
        ) {
          this.foldedBn.set(node.layer.name, from.layer.name);
          this.foldOf.set(from.layer.name, node);
        }
      }
    }
    if (qat) this.placeQuantPoints(qat, consumers, producer);
    this.enforce();
  }

  /**
   * Puts fake quantization where the exported graph holds int8 tensors, named as the lowered
   * graph names them: a ReLU fused into the op before it (or a BN folded into its conv) shares
   * that op's tensor; a float layer's output is quantized only when an int8 layer reads it; a
   * Conv/Dense with a softmax, sigmoid or tanh writes `name` before and `name/activation` after.
   */
  private placeQuantPoints(
    qat: QatOptions,
    consumers: Map<number, Node[]>,
    producer: Map<number, Node>,
  ): void {
    const tensorOf = new Map<Node, string>();
    const fusedAway = new Set<Node>();
    const pointOf = new Map<Node, QuantPoint>();
    for (const node of this.nodes) {
      const next = consumers.get(node.output) ?? [];
      if (next.length === 1 && this.fusedInto(node, next[0]!)) fusedAway.add(node);
    }
    for (const node of this.nodes) {
      const from = producer.get(node.inputs[0]!);
      const name = node.layer.name;
      if (PASS_THROUGH.has(node.kind)) {
        // Its output is its input's tensor, already on that grid at inference.
        if (from) tensorOf.set(node, tensorOf.get(from)!);
        if (from && pointOf.has(from)) pointOf.set(node, pointOf.get(from)!);
        continue;
      }
      const activation = WEIGHTED_CLASSES.has(node.kind) ? activationName(node.layer) : 'linear';
      const tensor =
        from && fusedAway.has(from)
          ? tensorOf.get(from)!
          : UNFUSED.has(activation)
            ? `${name}/${activation}`
            : name;
      tensorOf.set(node, tensor);
      if (fusedAway.has(node)) continue;
      const next = consumers.get(node.output) ?? [];
      // The model input is quantized only if an int8 layer reads it; other tensors also when
      // their own layer is int8.
      const ownInt8 = node.kind !== 'InputLayer' && node.policy !== 'float';
      if (!ownInt8 && !next.some((c) => c.policy !== 'float')) continue;
      const input = from && pointOf.get(from);
      if (SAME_PARAMS.has(node.kind) && input) {
        const point = { tensor: input.tensor, update: false };
        this.outputPoint.set(name, point);
        pointOf.set(node, point);
        continue;
      }
      if (ownInt8 && UNFUSED.has(activation)) {
        this.prePoint.set(name, name);
        this.ranges.set(name, new MovingRange(qat.emaDecay));
      }
      const fixed = FixedRange.of(activation) ?? FixedRange.of(this.outputActivation(node));
      this.ranges.set(tensor, fixed ?? new MovingRange(qat.emaDecay));
      const point = { tensor, update: true };
      this.outputPoint.set(name, point);
      pointOf.set(node, point);
    }
  }

  /** The activation a standalone layer applies (Softmax, Activation), for fixed output ranges. */
  private outputActivation(node: Node): string {
    if (node.kind === 'Softmax') return 'softmax';
    return node.kind === 'Activation' ? activationName(node.layer) : 'linear';
  }

  /**
   * Whether `node`'s output exists only inside one op of the exported graph: a conv whose BN
   * is folded, or an op whose ReLU the exporter fuses (same side of the float/int8 line).
   */
  private fusedInto(node: Node, next: Node): boolean {
    if (this.foldedBn.get(next.layer.name) === node.layer.name) return true;
    if (!FUSED_INTO_CONSUMER.has(next.kind) || !['relu', 'relu6'].includes(this.activationOf(next)))
      return false;
    // As fuseActivations: a conv, dense or add, or a float BN/Rescaling (its last float op).
    const producerFuses =
      (WEIGHTED_CLASSES.has(node.kind) ||
        node.kind === 'Add' ||
        this.foldedBn.has(node.layer.name) ||
        (FLOAT_FUSING.has(node.kind) && node.policy === 'float')) &&
      activationName(node.layer) === 'linear';
    return producerFuses && (node.policy === 'float') === (next.policy === 'float');
  }

  private activationOf(node: Node): string {
    return node.kind === 'ReLU'
      ? (node.layer.getConfig().maxValue as number | null | undefined) === 6
        ? 'relu6'
        : 'relu'
      : activationName(node.layer);
  }

  private prepareWeighted(node: Node): WeightedState {
    const kernel = kernelOf(node.layer).read();
    const shape = kernel.shape;
    const channels = kernelChannels(node.layer, shape);
    const entry: WeightedState = { node, shape, channels };
    const c = this.state[node.layer.name];
    const size = kernel.size;
    if (c?.mask) {
      if (c.mask.length !== size)
        throw this.sizeError(node.layer.name, 'mask', c.mask.length, size);
      entry.mask = tf.tensor(c.mask, shape, 'bool');
    }
    if (c?.cluster) {
      const { centroids, assignments, granularity } = c.cluster;
      if (assignments.length !== size)
        throw this.sizeError(node.layer.name, 'cluster assignment list', assignments.length, size);
      const offsets: number[] = [];
      let total = 0;
      for (const g of centroids) {
        offsets.push(total);
        total += g.length;
      }
      const flat = new Float32Array(total);
      centroids.forEach((g, i) => flat.set(g, offsets[i]));
      const index = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const a = assignments[i]!;
        const group = granularity === 'per-channel' ? i % channels : 0;
        index[i] = a < 0 || (c.mask && c.mask[i] === 0) ? total : offsets[group]! + a;
      }
      entry.cluster = {
        centroids: tf.variable(tf.tensor1d(flat), true),
        index: tf.tensor1d(index, 'int32'),
        groups: centroids.length,
        perGroup: centroids.map((g) => g.length),
      };
    }
    return entry;
  }

  private sizeError(layer: string, what: string, got: number, want: number): FineTuneError {
    return new FineTuneError(
      'FINETUNE_STATE',
      `layer "${layer}": the ${what} has ${got} entries, its kernel ${want}`,
      {
        hint: 'the compression state belongs to another model; compress this model again',
      },
    );
  }

  /** The kernel a layer computes with: gathered from centroids or masked, before fake quantization. */
  private effectiveKernel(w: WeightedState): tf.Tensor {
    if (w.cluster) {
      const table = tf.concat([w.cluster.centroids, tf.zeros([1])]);
      return tf.gather(table, w.cluster.index).reshape(w.shape);
    }
    const k = kernelOf(w.node.layer).read();
    // where, not a product: a negative weight times 0 is -0, and a pruned weight is +0.
    return w.mask ? tf.where(w.mask, k, tf.zerosLike(k)) : k;
  }

  /** What the optimizer updates: centroids replace clustered kernels. */
  trainableVariables(): tf.Variable[] {
    const clusteredKernels = new Set<tf.Variable>();
    const vars: tf.Variable[] = [];
    for (const w of this.weighted.values()) {
      if (w.cluster) {
        clusteredKernels.add(kernelOf(w.node.layer).read());
        vars.push(w.cluster.centroids);
      }
    }
    for (const lv of this.model.trainableWeights) {
      const v = lv.read() as tf.Variable;
      if (!clusteredKernels.has(v)) vars.push(v);
    }
    return vars;
  }

  /**
   * Writes the constraints into the model's own weights: after it every pruned weight is
   * exactly 0 and every clustered kernel is exactly centroids[assignment].
   */
  enforce(): void {
    for (const w of this.weighted.values()) {
      if (!w.cluster && !w.mask) continue;
      const k = kernelOf(w.node.layer);
      const next = tf.tidy(() => this.effectiveKernel(w));
      k.write(next);
      next.dispose();
    }
  }

  /** Recomputes magnitude masks of the named layers (every masked, unclustered layer if none). */
  updateMasks(sparsity: number, layers?: string[]): void {
    for (const w of this.weighted.values()) {
      if (w.cluster) continue;
      if (layers ? !layers.includes(w.node.layer.name) : !w.mask) continue;
      const kernel = kernelOf(w.node.layer).read();
      const mask = magnitudeMask(kernel.dataSync() as Float32Array, sparsity);
      w.mask?.dispose();
      w.mask = tf.tensor(mask, w.shape, 'bool');
    }
    this.enforce();
  }

  /** The current mask of a layer (1 kept, 0 pruned), if it has one. */
  maskOf(layer: string): Uint8Array | undefined {
    const m = this.weighted.get(layer)?.mask;
    return m ? Uint8Array.from(m.dataSync()) : undefined;
  }

  /** Current centroid values of a clustered layer, per group. */
  centroidsOf(layer: string): Float32Array[] | undefined {
    const c = this.weighted.get(layer)?.cluster;
    if (!c) return undefined;
    const flat = c.centroids.dataSync() as Float32Array;
    const out: Float32Array[] = [];
    let at = 0;
    for (const n of c.perGroup) {
      out.push(flat.slice(at, at + n));
      at += n;
    }
    return out;
  }

  /**
   * Moving-average range of each int8 activation tensor, named as the lowered graph names it
   * (the fused op's name for a fused ReLU); not the ranges TFLite fixes (softmax, sigmoid, tanh).
   */
  activationRanges(): Map<string, ActivationRange | undefined> {
    return new Map(
      [...this.ranges].filter(([, r]) => !r.fixed).map(([name, r]) => [name, r.range]),
    );
  }

  /** Sets activation ranges by tensor name (as activationRanges() names them), e.g. a checkpoint's. */
  setActivationRanges(ranges: Record<string, ActivationRange>): void {
    for (const [name, r] of Object.entries(ranges)) {
      const tracker = this.ranges.get(name);
      if (tracker instanceof MovingRange) tracker.range = { min: r.min, max: r.max };
    }
  }

  isFakeQuantized(layer: string): boolean {
    return (
      Boolean(this.qat) &&
      (this.nodes.find((n) => n.layer.name === layer)?.policy ?? 'float') !== 'float'
    );
  }

  /** One forward pass; with training, batch statistics and activation ranges move. */
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const values = new Map<number, tf.Tensor>();
    values.set(this.inputId, x);
    for (const node of this.nodes) {
      if (node.kind === 'InputLayer') {
        values.set(node.output, this.quantize(node, x, training));
        continue;
      }
      const ins = node.inputs.map((id) => values.get(id)!);
      let y: tf.Tensor;
      const w = this.weighted.get(node.layer.name);
      if (this.foldedBn.has(node.layer.name)) y = ins[0]!;
      else if (w) y = this.runWeighted(w, ins[0]!, training);
      else {
        const batchStats =
          training && !(this.options.freezeBatchNorm && node.kind === 'BatchNormalization');
        y = node.layer.apply(ins.length === 1 ? ins[0]! : ins, {
          training: batchStats,
        }) as tf.Tensor;
      }
      values.set(node.output, this.quantize(node, y, training));
    }
    return values.get(this.outputId)!;
  }

  private quantize(node: Node, y: tf.Tensor, training: boolean): tf.Tensor {
    const point = this.outputPoint.get(node.layer.name);
    return point ? this.fakeQuant(point.tensor, y, training && point.update) : y;
  }

  private fakeQuant(tensor: string, y: tf.Tensor, update: boolean): tf.Tensor {
    const range = this.ranges.get(tensor)!;
    return fakeQuantActivation(y, update || !range.range ? range.update(y) : range.range);
  }

  private runWeighted(w: WeightedState, x: tf.Tensor, training: boolean): tf.Tensor {
    const layer = w.node.layer;
    let kernel = this.effectiveKernel(w);
    let bias: tf.Tensor | undefined = biasOf(layer)?.read();
    const bn = this.foldOf.get(layer.name);
    if (bn) {
      // The exported graph multiplies each output channel by gamma / sqrt(var + eps) and
      // quantizes the product; simulating that uses the moving statistics, so BN is frozen.
      const v = batchNormVars(bn.layer);
      const factor = (v.gamma ?? tf.onesLike(v.variance)).div(v.variance.add(v.epsilon).sqrt());
      const perChannel =
        layer.getClassName() === 'DepthwiseConv2D'
          ? factor.reshape([w.shape[2]!, w.shape[3]!])
          : factor;
      kernel = kernel.mul(perChannel);
      const shift = (bias ?? tf.zerosLike(v.mean)).sub(v.mean).mul(factor);
      bias = v.beta ? shift.add(v.beta) : shift;
    }
    if (this.qat && w.node.policy !== 'float') kernel = fakeQuantWeights(kernel, this.scales(w));
    const linear = linearPart(layer, x, kernel, bias);
    const pre = this.prePoint.get(layer.name);
    return activate(
      activationName(layer),
      pre ? this.fakeQuant(pre, linear, training) : linear,
      layer.name,
    );
  }

  /** Weight scales per channel, or one (1) where the exporter quantizes the kernel per tensor. */
  private scales(w: WeightedState): number {
    const perTensor =
      this.qat?.weights === 'per-tensor' ||
      w.node.kind === 'Dense' ||
      (w.cluster !== undefined &&
        this.state[w.node.layer.name]?.cluster?.granularity === 'per-layer');
    return perTensor ? 1 : w.channels;
  }

  dispose(): void {
    for (const w of this.weighted.values()) {
      w.mask?.dispose();
      w.cluster?.centroids.dispose();
      w.cluster?.index.dispose();
    }
  }
}
