/**
 * Cross-checks core/tflite against flatc, the reference FlatBuffers implementation, using the
 * schema subset transcribed from schema.fbs: files we write must decode in flatc to the same
 * model, and files flatc builds must read back to the same model.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TfliteModelBuilder, readTflite, writeTflite, type TfliteModel } from '../../core/tflite';
import { repoRoot } from '../helpers/cli';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';

const schema = path.join(repoRoot, 'core', 'tflite', 'schema-fbs', 'tflite-subset.fbs');
const missingFlatc = (() => {
  try {
    execFileSync('flatc', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'flatc not installed (apt-get install flatbuffers-compiler)';
  }
})();

function flatcJson(bytes: Uint8Array): Record<string, unknown> {
  const dir = tempDir('quantbench-flatc-');
  writeFileSync(path.join(dir, 'model.tflite'), bytes);
  execFileSync('flatc', [
    '--json',
    '--strict-json',
    '--defaults-json',
    '--raw-binary',
    '-o',
    dir,
    schema,
    '--',
    path.join(dir, 'model.tflite'),
  ]);
  return JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
}

function flatcBinary(json: unknown): Uint8Array {
  const dir = tempDir('quantbench-flatc-');
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  execFileSync('flatc', ['--binary', '-o', dir, schema, path.join(dir, 'model.json')]);
  // The schema's file_extension names the output.
  return new Uint8Array(readFileSync(path.join(dir, 'model.tflite')));
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Our model in flatc's JSON spelling, for the fields the subset schema declares. */
function asFlatcJson(model: TfliteModel) {
  return {
    version: model.version,
    operator_codes: model.operatorCodes.map((c) => ({
      deprecated_builtin_code: Math.min(c.builtinCode, 127),
      version: c.version,
      builtin_code: c.builtinCode,
    })),
    subgraphs: model.subgraphs.map((g) => ({
      tensors: g.tensors.map((t) => ({
        shape: t.shape,
        type: t.type.toUpperCase(),
        buffer: t.buffer,
        name: t.name,
        quantization: t.quantization && {
          scale: t.quantization.scale,
          zero_point: t.quantization.zeroPoint,
          quantized_dimension: t.quantization.quantizedDimension,
        },
        is_variable: t.isVariable,
        shape_signature: t.shapeSignature,
      })),
      inputs: g.inputs,
      outputs: g.outputs,
      operators: g.operators.map((op) => ({
        opcode_index: op.opcodeIndex,
        inputs: op.inputs,
        outputs: op.outputs,
        builtin_options_type: op.options?.type ?? 'NONE',
        builtin_options:
          op.options &&
          Object.fromEntries(
            Object.entries(op.options)
              .filter(([k]) => k !== 'type')
              .map(([k, v]) => [
                snake(k),
                typeof v === 'string' && k === 'quantizedBiasType' ? v.toUpperCase() : v,
              ]),
          ),
      })),
      name: g.name,
    })),
    description: model.description,
    buffers: model.buffers.map((b) => ({ data: Array.from(b) })),
    metadata: model.metadata,
    signature_defs: model.signatureDefs.map((sig) => ({
      inputs: sig.inputs.map((m) => ({ name: m.name, tensor_index: m.tensorIndex })),
      outputs: sig.outputs.map((m) => ({ name: m.name, tensor_index: m.tensorIndex })),
      signature_key: sig.signatureKey,
      subgraph_index: sig.subgraphIndex,
    })),
  };
}

/** Deep comparison where numbers match to float32 precision (flatc prints 6 significant digits). */
function assertClose(actual: unknown, expected: unknown, where = 'model'): void {
  if (expected === undefined || expected === null) return;
  if (typeof expected === 'number') {
    assert.equal(
      typeof actual,
      'number',
      `${where}: expected a number, flatc has ${JSON.stringify(actual)}`,
    );
    const a = actual as number;
    assert.ok(
      Math.abs(a - expected) <= 1e-5 * Math.max(1, Math.abs(expected)),
      `${where}: flatc ${a}, ours ${expected}`,
    );
    return;
  }
  if (Array.isArray(expected)) {
    const a = (actual ?? []) as unknown[];
    assert.equal(a.length, expected.length, `${where}: length`);
    expected.forEach((e, i) => assertClose(a[i], e, `${where}[${i}]`));
    return;
  }
  if (typeof expected === 'object') {
    for (const [k, v] of Object.entries(expected as object))
      assertClose((actual as Record<string, unknown>)?.[k], v, `${where}.${k}`);
    return;
  }
  assert.equal(actual, expected, where);
}

/** Distinct values in every option field so a swapped slot shows; flatc only parses it, so shapes need not agree. */
function everyOpModel(): Uint8Array {
  const b = new TfliteModelBuilder({ description: 'flatc cross-check' });
  const q = (scale: number, zp: number) => ({ scale: [scale], zeroPoint: [zp] });
  const t = (name: string, shape: number[]) =>
    b.addTensor({ name, shape, type: 'int8', quantization: q(0.1, 1) });
  const x = b.addTensor({ name: 'x', shape: [1, 8, 8, 4], type: 'float32' });
  const xq = t('xq', [1, 8, 8, 4]);
  const f = b.addTensor({
    name: 'f',
    shape: [4, 3, 3, 4],
    type: 'int8',
    data: new Int8Array(144).fill(3),
    quantization: { scale: [0.1, 0.2, 0.3, 0.4], zeroPoint: [0, 0, 0, 0], quantizedDimension: 0 },
  });
  const dwf = b.addTensor({
    name: 'dwf',
    shape: [1, 3, 3, 4],
    type: 'int8',
    data: new Int8Array(36).fill(-2),
    quantization: { scale: [0.5, 0.5, 0.5, 0.5], zeroPoint: [0, 0, 0, 0], quantizedDimension: 3 },
  });
  const c = t('c', [1, 4, 4, 4]);
  const d = t('d', [1, 4, 4, 4]);
  const p = t('p', [1, 2, 2, 4]);
  const a = t('a', [1, 2, 2, 4]);
  const m = t('m', [1, 2, 2, 4]);
  const s = t('s', [1, 2, 2, 4]);
  const cat = t('cat', [1, 2, 2, 8]);
  const shape = b.addTensor({
    name: 'shape',
    shape: [2],
    type: 'int32',
    data: new Int32Array([1, 32]),
  });
  const r = t('r', [1, 32]);
  const w = b.addTensor({
    name: 'w',
    shape: [5, 32],
    type: 'int8',
    data: new Int8Array(160).fill(1),
    quantization: q(0.01, 0),
  });
  const fc = t('fc', [1, 5]);
  const axes = b.addTensor({ name: 'axes', shape: [1], type: 'int32', data: new Int32Array([1]) });
  const mean = t('mean', [1, 1]);
  const lr = t('lr', [1, 5]);
  const hs = t('hs', [1, 5]);
  const sm = b.addTensor({
    name: 'sm',
    shape: [1, 5],
    type: 'int8',
    quantization: q(1 / 256, -128),
  });
  const y = b.addTensor({ name: 'y', shape: [1, 5], type: 'float32' });
  b.addOperator('QUANTIZE', [x], [xq]);
  b.addOperator(
    'CONV_2D',
    [xq, f, -1],
    [c],
    {
      padding: 'SAME',
      strideW: 2,
      strideH: 3,
      fusedActivationFunction: 'RELU6',
      dilationWFactor: 4,
      dilationHFactor: 5,
    },
    3,
  );
  b.addOperator(
    'DEPTHWISE_CONV_2D',
    [c, dwf, -1],
    [d],
    {
      padding: 'VALID',
      strideW: 6,
      strideH: 7,
      depthMultiplier: 1,
      fusedActivationFunction: 'RELU',
      dilationWFactor: 2,
    },
    3,
  );
  b.addOperator('MAX_POOL_2D', [d], [p], {
    padding: 'VALID',
    strideW: 2,
    strideH: 3,
    filterWidth: 4,
    filterHeight: 5,
    fusedActivationFunction: 'RELU6',
  });
  b.addOperator('ADD', [p, p], [a], { fusedActivationFunction: 'NONE', potScaleInt16: false });
  b.addOperator('MUL', [a, p], [m], { fusedActivationFunction: 'RELU_N1_TO_1' });
  b.addOperator('SUB', [m, a], [s], { fusedActivationFunction: 'TANH' });
  b.addOperator('CONCATENATION', [s, m], [cat], { axis: 3, fusedActivationFunction: 'NONE' });
  b.addOperator('RESHAPE', [cat, shape], [r], { newShape: [1, 32] });
  b.addOperator(
    'FULLY_CONNECTED',
    [r, w, -1],
    [fc],
    { keepNumDims: true, asymmetricQuantizeInputs: true },
    4,
  );
  b.addOperator('MEAN', [fc, axes], [mean], { keepDims: true });
  b.addOperator('LEAKY_RELU', [fc], [lr], { alpha: 0.2 });
  b.addOperator('HARD_SWISH', [lr], [hs]);
  b.addOperator('SOFTMAX', [hs], [sm], { beta: 0.5 });
  b.addOperator('DEQUANTIZE', [sm], [y]);
  b.setInputs(x).setOutputs(y, mean).addDefaultSignature().setMinRuntimeVersion('1.14.0');
  return b.toBytes();
}

describe('core/tflite against flatc', { skip: missingFlatc }, () => {
  it('flatc decodes a file with every modelled option table exactly as readTflite does', () => {
    const bytes = everyOpModel();
    assertClose(flatcJson(bytes), asFlatcJson(readTflite(bytes)));
  });

  it('readTflite reads a file that flatc built from JSON', () => {
    const bytes = everyOpModel();
    const rebuilt = flatcBinary(flatcJson(bytes));
    assert.notDeepEqual(rebuilt, bytes, 'flatc lays the file out differently');
    const ours = readTflite(bytes);
    const theirs = readTflite(rebuilt);
    // flatc's JSON round trip prints floats to 6 digits; compare everything else exactly.
    assertClose(asFlatcJson(theirs), asFlatcJson(ours));
    assert.deepEqual(theirs.subgraphs[0].operators, ours.subgraphs[0].operators);
  });

  it(
    'flatc decodes kws_ref_model.tflite rewritten by writeTflite as readTflite does',
    { skip: missingSharedModels('kws_ref_model.tflite') },
    () => {
      const rewritten = writeTflite(
        readTflite(new Uint8Array(readFileSync(sharedModel('kws_ref_model.tflite')))),
      );
      assertClose(flatcJson(rewritten), asFlatcJson(readTflite(rewritten)));
    },
  );
});
