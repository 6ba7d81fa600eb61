import { TfliteModelBuilder } from '../tflite/builder';
import type { Activation as TfliteActivation } from '../tflite/schema';
import { writeTflite } from '../tflite/writer';
import { CompressError } from './errors';
import { bnAffine } from './fold';
import { outputChannels, type Activation, type GraphNode } from './graph';
import type { QuantParams } from './quant-math';
import type { QuantizedModel, QuantizedNode } from './quantize';

/** Op versions the TFLite converter records for int8 kernels (older runtimes refuse newer ones). */
const INT8_VERSION: Record<string, number> = {
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 3,
  FULLY_CONNECTED: 4,
  ADD: 2,
  MUL: 2,
  AVERAGE_POOL_2D: 2,
  MAX_POOL_2D: 2,
  SOFTMAX: 2,
  MEAN: 2,
  PAD: 2,
  RELU: 2,
  RELU6: 2,
  LOGISTIC: 2,
  TANH: 2,
  QUANTIZE: 1,
  DEQUANTIZE: 2,
  RESHAPE: 1,
};

type Domain = 'int8' | 'float32';

function fusedActivation(a: Activation): TfliteActivation {
  if (a === 'relu') return 'RELU';
  if (a === 'relu6') return 'RELU6';
  if (a === 'linear') return 'NONE';
  throw new CompressError(
    'INTERNAL',
    `activation ${a} cannot be fused; lowering splits it into its own node`,
  );
}

const UNARY_OP: Record<Activation, string> = {
  relu: 'RELU',
  relu6: 'RELU6',
  tanh: 'TANH',
  sigmoid: 'LOGISTIC',
  softmax: 'SOFTMAX',
  linear: '',
};

function quant(p: QuantParams) {
  return { scale: [p.scale], zeroPoint: [p.zeroPoint] };
}

/** Keras HWIO [kh, kw, in, out] to TFLite OHWI [out, kh, kw, in]. */
function hwioToOhwi<T extends Int8Array | Uint8Array | Float32Array>(
  data: T,
  shape: number[],
  make: (n: number) => T,
): T {
  const [kh, kw, cin, cout] = shape;
  const out = make(data.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * kh + h) * kw + w) * cin + i] = data[((h * kw + w) * cin + i) * cout + o];
  return out;
}

/** Keras [in, out] to TFLite [out, in]. */
function transpose2d<T extends Int8Array | Uint8Array | Float32Array>(
  data: T,
  rows: number,
  cols: number,
  make: (n: number) => T,
): T {
  const out = make(data.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Kernel in TFLite layout and its TFLite shape. Depthwise [kh, kw, in, mult] is already [1, kh, kw, in*mult] in memory. */
export function tfliteKernel<T extends Int8Array | Uint8Array | Float32Array>(
  node: GraphNode,
  data: T,
  make: (n: number) => T,
): { data: T; shape: number[] } {
  const s = node.kernel!.shape;
  if (node.op === 'conv2d')
    return { data: hwioToOhwi(data, s, make), shape: [s[3], s[0], s[1], s[2]] };
  if (node.op === 'depthwise_conv2d') return { data, shape: [1, s[0], s[1], s[2] * s[3]] };
  return { data: transpose2d(data, s[0], s[1], make), shape: [s[1], s[0]] };
}

const i8 = (n: number) => new Int8Array(n);
const f32 = (n: number) => new Float32Array(n);

/**
 * Writes the quantized model as a .tflite flatbuffer with the ops the TFLite converter emits
 * for the same layers. Layers whose policy is float become float32 ops with DEQUANTIZE in
 * front and QUANTIZE behind wherever they meet int8 tensors.
 */
export function exportTflite(model: QuantizedModel, description = 'Quantbench'): Uint8Array {
  const b = new TfliteModelBuilder({ description });
  const graph = model.graph;
  /** Tensor index of each node output in each domain it has been materialised in. */
  const tensors = new Map<string, Partial<Record<Domain, number>>>();
  const domainOf = (qn: QuantizedNode): Domain => (qn.policy === 'float' ? 'float32' : 'int8');
  const shapeOf = (node: GraphNode) => [1, ...node.outputShape];
  /** The highest version each op needs: the int8 kernel's when any use of it is int8. */
  const versions = new Map<string, number>();
  const op = (
    name: string,
    inputs: number[],
    outputs: number[],
    options: Record<string, unknown> = {},
    domain: Domain = 'int8',
  ) => {
    const version = domain === 'int8' ? (INT8_VERSION[name] ?? 1) : 1;
    versions.set(name, Math.max(versions.get(name) ?? 1, version));
    return b.addOperator(name, inputs, outputs, options, version);
  };

  const newActivation = (node: GraphNode, domain: Domain, suffix = ''): number =>
    b.addTensor({
      name: `${node.name}${suffix}`,
      shape: shapeOf(node),
      type: domain,
      quantization: domain === 'int8' ? quant(model.nodes.get(node.name)!.output) : undefined,
    });

  /** The node's output as a tensor of the given domain, converting once where needed. */
  const read = (name: string, domain: Domain): number => {
    const have = tensors.get(name)!;
    if (have[domain] !== undefined) return have[domain]!;
    const node = graph.nodes.find((n) => n.name === name)!;
    if (domain === 'float32') {
      const t = newActivation(node, 'float32', '/dequantized');
      op('DEQUANTIZE', [have.int8!], [t], {}, 'int8');
      have.float32 = t;
    } else {
      const t = newActivation(node, 'int8', '/quantized');
      op('QUANTIZE', [have.float32!], [t], {}, 'int8');
      have.int8 = t;
    }
    return have[domain]!;
  };

  const constI32 = (name: string, values: number[]) =>
    b.addTensor({ name, shape: [values.length], type: 'int32', data: Int32Array.from(values) });

  let inputTensor = -1;
  for (const node of graph.nodes) {
    const qn = model.nodes.get(node.name)!;
    if (node.op === 'input') {
      const domain: Domain = model.inputType === 'int8' ? 'int8' : 'float32';
      inputTensor = newActivation(node, domain);
      tensors.set(node.name, { [domain]: inputTensor });
      continue;
    }
    const domain = domainOf(qn);
    const ins = node.inputs.map((i) => read(i, domain));
    const out = newActivation(node, domain);
    tensors.set(node.name, { [domain]: out });
    const a = node.attrs;

    switch (node.op) {
      case 'conv2d':
      case 'depthwise_conv2d':
      case 'dense': {
        const channels = outputChannels(node.kernel!, node.op);
        let weight: number;
        let bias: number;
        if (domain === 'int8') {
          const w = qn.weights!;
          const k = tfliteKernel(node, w.q, i8);
          const perChannel = w.scheme === 'per-channel';
          weight = b.addTensor({
            name: `${node.name}/kernel`,
            shape: k.shape,
            type: 'int8',
            data: k.data,
            quantization: {
              scale: [...w.scales],
              zeroPoint: new Array(w.scales.length).fill(0),
              quantizedDimension: perChannel && node.op === 'depthwise_conv2d' ? 3 : 0,
            },
          });
          bias = b.addTensor({
            name: `${node.name}/bias`,
            shape: [channels],
            type: 'int32',
            data: qn.bias!.q,
            quantization: {
              scale: perChannel ? [...qn.bias!.scales] : [qn.bias!.scales[0]],
              zeroPoint: new Array(perChannel ? channels : 1).fill(0),
            },
          });
        } else {
          const k = tfliteKernel(node, node.kernel!.data, f32);
          weight = b.addTensor({
            name: `${node.name}/kernel`,
            shape: k.shape,
            type: 'float32',
            data: k.data,
          });
          bias = b.addTensor({
            name: `${node.name}/bias`,
            shape: [channels],
            type: 'float32',
            data: node.bias ?? new Float32Array(channels),
          });
        }
        const fused = fusedActivation(node.activation);
        if (node.op === 'dense') {
          op(
            'FULLY_CONNECTED',
            [ins[0], weight, bias],
            [out],
            { fusedActivationFunction: fused },
            domain,
          );
        } else if (node.op === 'conv2d') {
          op(
            'CONV_2D',
            [ins[0], weight, bias],
            [out],
            {
              padding: a.padding!.toUpperCase(),
              strideH: a.strides![0],
              strideW: a.strides![1],
              dilationHFactor: a.dilation![0],
              dilationWFactor: a.dilation![1],
              fusedActivationFunction: fused,
            },
            domain,
          );
        } else {
          op(
            'DEPTHWISE_CONV_2D',
            [ins[0], weight, bias],
            [out],
            {
              padding: a.padding!.toUpperCase(),
              strideH: a.strides![0],
              strideW: a.strides![1],
              depthMultiplier: node.kernel!.shape[3],
              dilationHFactor: a.dilation![0],
              dilationWFactor: a.dilation![1],
              fusedActivationFunction: fused,
            },
            domain,
          );
        }
        break;
      }
      case 'batch_norm':
      case 'rescaling': {
        const { mul, add } =
          node.op === 'batch_norm'
            ? bnAffine(node)
            : { mul: Float32Array.of(a.scale!), add: Float32Array.of(a.offset ?? 0) };
        if (add.every((v) => v === 0)) {
          const mulOnly =
            domain === 'int8'
              ? b.addTensor({
                  name: `${node.name}/multiplier`,
                  shape: [mul.length],
                  type: 'int8',
                  data: qn.affine!.mul.q,
                  quantization: quant(qn.affine!.mul.params),
                })
              : b.addTensor({
                  name: `${node.name}/multiplier`,
                  shape: [mul.length],
                  type: 'float32',
                  data: mul,
                });
          op(
            'MUL',
            [ins[0], mulOnly],
            [out],
            { fusedActivationFunction: fusedActivation(node.activation) },
            domain,
          );
          break;
        }
        const mid = b.addTensor({
          name: `${node.name}/mul`,
          shape: shapeOf(node),
          type: domain,
          quantization: domain === 'int8' ? quant(qn.affine!.mid) : undefined,
        });
        const c = mul.length;
        const mulT =
          domain === 'int8'
            ? b.addTensor({
                name: `${node.name}/multiplier`,
                shape: [c],
                type: 'int8',
                data: qn.affine!.mul.q,
                quantization: quant(qn.affine!.mul.params),
              })
            : b.addTensor({
                name: `${node.name}/multiplier`,
                shape: [c],
                type: 'float32',
                data: mul,
              });
        const addT =
          domain === 'int8'
            ? b.addTensor({
                name: `${node.name}/offset`,
                shape: [c],
                type: 'int8',
                data: qn.affine!.add.q,
                quantization: quant(qn.affine!.add.params),
              })
            : b.addTensor({ name: `${node.name}/offset`, shape: [c], type: 'float32', data: add });
        op('MUL', [ins[0], mulT], [mid], { fusedActivationFunction: 'NONE' }, domain);
        op(
          'ADD',
          [mid, addT],
          [out],
          { fusedActivationFunction: fusedActivation(node.activation) },
          domain,
        );
        break;
      }
      case 'add':
        op(
          'ADD',
          ins,
          [out],
          { fusedActivationFunction: fusedActivation(node.activation) },
          domain,
        );
        break;
      case 'activation':
      case 'softmax': {
        const name = UNARY_OP[node.activation];
        if (!name) {
          op(
            'RESHAPE',
            [ins[0], constI32(`${node.name}/shape`, [-1, ...node.outputShape])],
            [out],
            {},
            domain,
          );
        } else op(name, ins, [out], name === 'SOFTMAX' ? { beta: 1 } : {}, domain);
        break;
      }
      case 'avg_pool':
      case 'max_pool':
        op(
          node.op === 'avg_pool' ? 'AVERAGE_POOL_2D' : 'MAX_POOL_2D',
          ins,
          [out],
          {
            padding: a.padding!.toUpperCase(),
            strideH: a.strides![0],
            strideW: a.strides![1],
            filterHeight: a.poolSize![0],
            filterWidth: a.poolSize![1],
            fusedActivationFunction: 'NONE',
          },
          domain,
        );
        break;
      case 'global_avg_pool':
        op(
          'MEAN',
          [ins[0], constI32(`${node.name}/axes`, [1, 2])],
          [out],
          { keepDims: false },
          domain,
        );
        break;
      case 'flatten':
      case 'reshape':
        op(
          'RESHAPE',
          [ins[0], constI32(`${node.name}/shape`, [-1, ...node.outputShape])],
          [out],
          {},
          domain,
        );
        break;
      case 'zero_pad': {
        const p = b.addTensor({
          name: `${node.name}/paddings`,
          shape: [4, 2],
          type: 'int32',
          data: Int32Array.from([0, 0, ...a.pad![0], ...a.pad![1], 0, 0]),
        });
        op('PAD', [ins[0], p], [out], {}, domain);
        break;
      }
    }
  }

  const outputType: Domain = model.outputType === 'int8' ? 'int8' : 'float32';
  const outputs = graph.outputs.map((o) => read(o, outputType));
  b.setInputs(inputTensor).setOutputs(...outputs);
  b.setMinRuntimeVersion('1.14.0');
  const file = b.build();
  // The converter writes RESHAPE with its shape as an operand and no options table.
  for (const o of file.subgraphs[0].operators) if (o.op === 'RESHAPE') o.options = null;
  for (const code of file.operatorCodes) code.version = versions.get(code.name) ?? code.version;
  return writeTflite(file);
}
