import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  readTflite,
  readTfliteFile,
  writeTflite,
  writeTfliteFile,
  type TfliteModel,
} from '../../core/tflite';
import { FlatbufferView } from '../../core/tflite/flatbuffer-view';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';

const converterFiles = [
  'ad01_fp32.tflite',
  'ad01_int8.tflite',
  'kws_ref_model.tflite',
  'pretrainedResnet.tflite',
  'pretrainedResnet_quant.tflite',
];

const load = (name: string) => new Uint8Array(readFileSync(sharedModel(name)));

/** Absolute file offsets of every non-empty Buffer.data vector, read straight from the flatbuffer. */
function bufferDataOffsets(bytes: Uint8Array): number[] {
  const fb = new FlatbufferView(bytes);
  return fb
    .rootTable()
    .tables(4, 'buffers')
    .flatMap((t) => {
      const field = t.field(0, 4);
      if (!field) return [];
      const vector = fb.deref(field);
      return fb.u32(vector) > 0 ? [vector + 4] : [];
    });
}

describe('readTflite on files written by the TFLite converter', () => {
  it(
    'reads the kws DS-CNN: ops, per-axis int8 weights, int32 bias, options and metadata',
    { skip: missingSharedModels('kws_ref_model.tflite') },
    () => {
      const model = readTflite(load('kws_ref_model.tflite'), { source: 'kws_ref_model.tflite' });
      assert.equal(model.version, 3);
      assert.equal(model.buffers[0].byteLength, 0);
      const graph = model.subgraphs[0];
      assert.deepEqual(
        [...new Set(graph.operators.map((o) => o.op))],
        [
          'CONV_2D',
          'DEPTHWISE_CONV_2D',
          'AVERAGE_POOL_2D',
          'RESHAPE',
          'FULLY_CONNECTED',
          'SOFTMAX',
        ],
      );
      const input = graph.tensors[graph.inputs[0]];
      assert.equal(input.type, 'int8');
      assert.deepEqual(input.shape, [1, 49, 10, 1]);
      assert.deepEqual(input.shapeSignature, [-1, 49, 10, 1]);
      assert.equal(input.quantization?.scale.length, 1);

      const conv = graph.operators[0];
      assert.equal(conv.op, 'CONV_2D');
      assert.deepEqual(conv.options, {
        type: 'Conv2DOptions',
        padding: 'SAME',
        strideW: 2,
        strideH: 2,
        fusedActivationFunction: 'RELU',
        dilationWFactor: 1,
        dilationHFactor: 1,
        quantizedBiasType: 'float32',
      });
      const weights = graph.tensors[conv.inputs[1]];
      assert.equal(weights.type, 'int8');
      assert.deepEqual(weights.shape, [64, 10, 4, 1]);
      assert.equal(
        weights.quantization?.scale.length,
        64,
        'per-channel scales along the output channel',
      );
      assert.equal(weights.quantization?.quantizedDimension, 0);
      assert.ok(
        weights.quantization?.zeroPoint.every((z) => z === 0),
        'symmetric weights',
      );
      assert.equal(model.buffers[weights.buffer].byteLength, 64 * 10 * 4);
      const bias = graph.tensors[conv.inputs[2]];
      assert.equal(bias.type, 'int32');
      assert.equal(model.buffers[bias.buffer].byteLength, 64 * 4);

      const dw = graph.operators[1];
      assert.equal(dw.options?.type, 'DepthwiseConv2DOptions');
      assert.equal((dw.options as { depthMultiplier: number }).depthMultiplier, 1);
      const runtime = model.metadata.find((m) => m.name === 'min_runtime_version');
      assert.ok(runtime);
      assert.match(new TextDecoder().decode(model.buffers[runtime.buffer]), /^1\.\d+\.\d+/);
    },
  );

  it(
    'reads the float ResNet-8 with ADD skip connections and float weights',
    { skip: missingSharedModels('pretrainedResnet.tflite') },
    () => {
      const model = readTflite(load('pretrainedResnet.tflite'));
      const graph = model.subgraphs[0];
      assert.equal(graph.operators.filter((o) => o.op === 'CONV_2D').length, 9);
      assert.equal(graph.operators.filter((o) => o.op === 'ADD').length, 3);
      assert.ok(graph.tensors.every((t) => t.type === 'float32' || t.type === 'int32'));
      const fc = graph.operators.find((o) => o.op === 'FULLY_CONNECTED')!;
      const w = graph.tensors[fc.inputs[1]];
      assert.deepEqual(w.shape, [10, 64]);
      const floats = new Float32Array(model.buffers[w.buffer].slice().buffer);
      assert.ok(floats.every(Number.isFinite));
      assert.ok(floats.some((x) => x !== 0));
    },
  );
});

describe('writeTflite', () => {
  for (const name of converterFiles) {
    it(`round-trips ${name} to an equal model`, { skip: missingSharedModels(name) }, () => {
      const original = readTflite(load(name), { source: name });
      const written = writeTflite(original);
      assert.equal(new TextDecoder().decode(written.subarray(4, 8)), 'TFL3');
      const again = readTflite(written, { source: `rewritten ${name}` });
      assert.deepEqual(again, original);
      // Writing is deterministic: the same model gives the same bytes.
      assert.deepEqual(writeTflite(again), written);
    });
  }

  it(
    'aligns every buffer to 16 bytes and keeps buffer 0 empty',
    { skip: missingSharedModels('kws_ref_model.tflite') },
    () => {
      const written = writeTflite(readTflite(load('kws_ref_model.tflite')));
      const offsets = bufferDataOffsets(written);
      assert.ok(offsets.length > 20);
      for (const offset of offsets) assert.equal(offset % 16, 0, `buffer data at ${offset}`);
      const fb = new FlatbufferView(written);
      assert.equal(
        fb.rootTable().tables(4, 'buffers')[0].field(0, 4),
        0,
        'buffer 0 has no data field',
      );
      assert.equal(fb.rootTable().u32(0), 3, 'schema version 3');
    },
  );

  it('keeps custom ops, their options bytes, signatures and deprecated metadata buffers', () => {
    const model = readTfliteMinimal();
    model.operatorCodes.push({ name: 'QbTopK', builtinCode: 32, customCode: 'QbTopK', version: 2 });
    model.buffers.push(Uint8Array.from([1, 2, 3]));
    model.metadataBuffer = [1];
    model.subgraphs[0].operators.push({
      opcodeIndex: 1,
      op: 'QbTopK',
      inputs: [1],
      outputs: [0],
      options: null,
      customOptions: Uint8Array.from([9, 8, 7]),
    });
    model.signatureDefs = [
      {
        signatureKey: 'serving_default',
        subgraphIndex: 0,
        inputs: [{ name: 'in', tensorIndex: 0 }],
        outputs: [{ name: 'out', tensorIndex: 1 }],
      },
    ];
    assert.deepEqual(readTflite(writeTflite(model)), model);
  });

  it('writes builtin codes above 127 in the int32 field and 127 in the deprecated one', () => {
    const model = readTfliteMinimal();
    model.operatorCodes[0] = { name: 'GELU', builtinCode: 150, version: 1 };
    model.subgraphs[0].operators[0].op = 'GELU';
    const bytes = writeTflite(model);
    const code = new FlatbufferView(bytes).rootTable().tables(1, 'operator_codes')[0];
    assert.equal(code.i8(0), 127);
    assert.equal(code.i32(3), 150);
    assert.equal(readTflite(bytes).operatorCodes[0].name, 'GELU');
  });

  it('rejects a model with a dangling buffer index, naming the tensor', () => {
    const model = readTfliteMinimal();
    model.subgraphs[0].tensors[0].buffer = 7;
    assert.throws(() => writeTflite(model), {
      name: 'TfliteWriteError',
      code: 'TFLITE_WRITE',
      message: /tensor 0 \(x\).*buffer 7/,
    });
  });

  it('rejects options it cannot encode instead of dropping them', () => {
    const model = readTfliteMinimal();
    model.subgraphs[0].operators[0].options = { type: 'LSTMOptions', unmodelled: true };
    assert.throws(() => writeTflite(model), { code: 'TFLITE_WRITE', message: /LSTMOptions/ });
    model.subgraphs[0].operators[0].options = { type: 'ReducerOptions', keepDims: true } as never;
    assert.doesNotThrow(() => writeTflite(model));
  });
});

function readTfliteMinimal(): TfliteModel {
  return {
    version: 3,
    description: 'minimal',
    operatorCodes: [{ name: 'RELU', builtinCode: 19, version: 1 }],
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'x', shape: [1, 4], type: 'float32' as const, buffer: 0, isVariable: false },
          { name: 'y', shape: [1, 4], type: 'float32' as const, buffer: 0, isVariable: false },
        ],
        inputs: [0],
        outputs: [1],
        operators: [{ opcodeIndex: 0, op: 'RELU', inputs: [0], outputs: [1], options: null }],
      },
    ],
    buffers: [new Uint8Array(0)],
    metadataBuffer: [],
    metadata: [],
    signatureDefs: [],
  } as TfliteModel;
}

describe('readTfliteFile / writeTfliteFile', () => {
  it('writes and reads a file, and names the path when it is missing or not a model', async () => {
    const dir = tempDir();
    const file = `${dir}/relu.tflite`;
    const bytes = await writeTfliteFile(file, readTfliteMinimal());
    assert.deepEqual(new Uint8Array(readFileSync(file)), bytes);
    assert.deepEqual(await readTfliteFile(file), readTfliteMinimal());
    await assert.rejects(readTfliteFile(`${dir}/missing.tflite`), {
      code: 'TFLITE_FILE',
      message: /missing\.tflite: ENOENT/,
    });
    writeFileSync(`${dir}/notes.tflite`, 'hello, not a model');
    await assert.rejects(readTfliteFile(`${dir}/notes.tflite`), {
      code: 'TFLITE_FORMAT',
      message: /notes\.tflite: not a valid \.tflite model/,
    });
  });
});
