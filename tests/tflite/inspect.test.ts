import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TfliteModelBuilder, formatInspection, inspectTflite, readTflite } from '../../core/tflite';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';

describe('inspectTflite', () => {
  it('counts MACs and parameters per op from shapes', () => {
    const b = new TfliteModelBuilder();
    const x = b.addTensor({ name: 'x', shape: [1, 8, 8, 3], type: 'float32' });
    const f = b.addTensor({
      name: 'f',
      shape: [16, 3, 3, 3],
      type: 'float32',
      data: new Float32Array(16 * 27),
    });
    const bias = b.addTensor({
      name: 'bias',
      shape: [16],
      type: 'float32',
      data: new Float32Array(16),
    });
    const c = b.addTensor({ name: 'c', shape: [1, 4, 4, 16], type: 'float32' });
    const dwf = b.addTensor({
      name: 'dwf',
      shape: [1, 3, 3, 16],
      type: 'float32',
      data: new Float32Array(144),
    });
    const d = b.addTensor({ name: 'd', shape: [1, 4, 4, 16], type: 'float32' });
    const p = b.addTensor({ name: 'p', shape: [1, 1, 1, 16], type: 'float32' });
    const r = b.addTensor({ name: 'r', shape: [1, 16], type: 'float32' });
    const shape = b.addTensor({
      name: 'shape',
      shape: [2],
      type: 'int32',
      data: new Int32Array([1, 16]),
    });
    const w = b.addTensor({
      name: 'w',
      shape: [10, 16],
      type: 'float32',
      data: new Float32Array(160),
    });
    const y = b.addTensor({ name: 'y', shape: [1, 10], type: 'float32' });
    b.addOperator('CONV_2D', [x, f, bias], [c], { padding: 'SAME', strideW: 2, strideH: 2 });
    b.addOperator('DEPTHWISE_CONV_2D', [c, dwf, -1], [d], {
      padding: 'SAME',
      strideW: 1,
      strideH: 1,
      depthMultiplier: 1,
    });
    b.addOperator('AVERAGE_POOL_2D', [d], [p], {
      padding: 'VALID',
      strideW: 4,
      strideH: 4,
      filterWidth: 4,
      filterHeight: 4,
    });
    b.addOperator('RESHAPE', [p, shape], [r], { newShape: [1, 16] });
    b.addOperator('FULLY_CONNECTED', [r, w, -1], [y]);
    b.setInputs(x).setOutputs(y);
    const report = inspectTflite(readTflite(b.toBytes()));
    assert.deepEqual(
      report.ops.map((o) => [o.op, o.params, o.macs]),
      [
        ['CONV_2D', 16 * 27 + 16, 4 * 4 * 16 * 27],
        ['DEPTHWISE_CONV_2D', 144, 4 * 4 * 16 * 9],
        ['AVERAGE_POOL_2D', 0, 16 * 16],
        ['RESHAPE', 2, 0],
        ['FULLY_CONNECTED', 160, 160],
      ],
    );
    assert.equal(report.totals.weightBytes, 4 * (16 * 27 + 16 + 144 + 160) + 8);
    assert.equal(report.arenaBytes, null, 'the runtime fills the arena size');
    assert.deepEqual(report.ops[0].options, {
      padding: 'SAME',
      strideW: 2,
      strideH: 2,
      fusedActivationFunction: 'NONE',
      dilationWFactor: 1,
      dilationHFactor: 1,
      quantizedBiasType: 'float32',
    });
    const text = formatInspection(report);
    assert.match(text, /5 ops, 754 params, 9,632 MACs, 3,016 weight bytes/);
    assert.match(text, /DEPTHWISE_CONV_2D\s+in #3,#4,-/);
  });

  it(
    'reports the MLPerf Tiny int8 models with their published sizes',
    { skip: missingSharedModels('pretrainedResnet_quant.tflite', 'kws_ref_model.tflite') },
    () => {
      const resnet = inspectTflite(
        readTflite(new Uint8Array(readFileSync(sharedModel('pretrainedResnet_quant.tflite')))),
      );
      // ResNet-8 for CIFAR-10: 12.5 M MACs and 78 k parameters in the MLPerf Tiny results.
      assert.equal(resnet.totals.macs, 12_534_400);
      assert.equal(resnet.totals.params, 77_708);
      assert.match(resnet.minRuntimeVersion ?? '', /^1\.\d+\.\d+/);
      const conv = resnet.tensors.find((t) => t.quantization?.perAxis);
      assert.ok(conv, 'per-channel weights are reported per axis');
      assert.equal(conv.quantization!.quantizedDimension, 0);

      const kws = inspectTflite(
        readTflite(new Uint8Array(readFileSync(sharedModel('kws_ref_model.tflite')))),
      );
      assert.deepEqual(
        kws.inputs.map((i) => kws.tensors[i].dtype),
        ['int8'],
      );
      assert.equal(kws.ops.length, 13);
      assert.equal(kws.totals.macs, 2_664_768);
      const json = JSON.parse(JSON.stringify(kws));
      assert.equal(json.ops[0].op, 'CONV_2D', 'the report is plain JSON');
      assert.match(formatInspection(kws), /input_1 int8\[1,49,10,1\] q scale 0\.5847 zp 83/);
    },
  );
});
