import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { QuantbenchError } from '../../core/errors';
import {
  KerasH5Error,
  KerasZipError,
  loadModel,
  ModelConfigError,
  ModelWeightsError,
  UnknownModelFormatError,
  UnsupportedLayerError,
} from '../../core/model/index';
import { ModelFileError } from '../../core/model/index';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import { keras3WeightsBytes, writeKeras2H5, writeKerasZip } from './keras-files';
import { seededValues } from './every-layer-model';

const dir = tempDir();

/** Every import failure is a QuantbenchError of the given class whose one-line message names the file. */
async function rejectsWith(
  file: string,
  cls: new (...args: never[]) => QuantbenchError,
  pattern: RegExp,
): Promise<QuantbenchError> {
  let caught: unknown;
  try {
    await loadModel(file);
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof cls,
    `expected ${cls.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`,
  );
  const error = caught as QuantbenchError;
  assert.ok(!error.message.includes('\n'), `message is not one line: ${error.message}`);
  assert.ok(error.message.includes(file), `message does not name the file: ${error.message}`);
  assert.match(error.message, pattern);
  assert.ok(error.hint, 'no hint');
  return error;
}

const dense = (name: string, units: number, extra: object = {}) => ({
  class_name: 'Dense',
  config: { name, units, ...extra },
});
const arr = (shape: number[], seed: number) => ({
  shape,
  values: seededValues(
    shape.reduce((a, b) => a * b, 1),
    seed,
  ),
});

describe('malformed model files', () => {
  it('a truncated .h5 is a KerasH5Error', { skip: missingSharedModels('ad01.h5') }, async () => {
    const bytes = readFileSync(sharedModel('ad01.h5'));
    const file = path.join(dir, 'truncated.h5');
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 3)));
    await rejectsWith(file, KerasH5Error, /HDF5|truncated|dataset|model_config|weights/i);
  });

  it('a zip without config.json is a KerasZipError', async () => {
    const file = path.join(dir, 'no-config.keras');
    writeKerasZip(file, {
      'metadata.json': '{"keras_version": "3.1.1"}',
      'model.weights.h5': await keras3WeightsBytes({}),
    });
    await rejectsWith(file, KerasZipError, /has no config\.json/);
  });

  it('a truncated zip is a KerasZipError', async () => {
    const file = path.join(dir, 'cut.keras');
    writeKerasZip(file, {
      'config.json': '{}',
      'metadata.json': '{}',
      'model.weights.h5': await keras3WeightsBytes({}),
    });
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, 300));
    await rejectsWith(file, KerasZipError, /zip|config\.json/);
  });

  it('invalid JSON in config.json is a ModelConfigError naming config.json', async () => {
    const file = path.join(dir, 'bad-json.keras');
    writeKerasZip(file, {
      'config.json': '{"class_name": "Sequential", "config": {',
      'metadata.json': '{}',
      'model.weights.h5': await keras3WeightsBytes({}),
    });
    await rejectsWith(file, ModelConfigError, /config\.json is not valid JSON/);
  });

  it('invalid JSON in a model.json is a ModelConfigError', async () => {
    const file = path.join(dir, 'model.json');
    writeFileSync(file, '{"modelTopology": [1, 2');
    await rejectsWith(file, ModelConfigError, /model\.json is not valid JSON/);
  });

  it('a weight of the wrong shape names the layer, the weight and both shapes', async () => {
    const file = path.join(dir, 'wrong-shape.h5');
    const config = {
      class_name: 'Sequential',
      config: { name: 's', layers: [dense('fc', 3, { batch_input_shape: [null, 4] })] },
    };
    await writeKeras2H5(file, config, [
      {
        name: 'fc',
        weights: [
          { name: 'fc/kernel:0', ...arr([5, 3], 1) },
          { name: 'fc/bias:0', ...arr([3], 2) },
        ],
      },
    ]);
    await rejectsWith(
      file,
      ModelWeightsError,
      /layer "fc" weight "kernel" has shape \[5, 3\] in the file, the model needs \[4, 3\]/,
    );
  });

  it('a layer whose weights are missing, and weights without a layer, are errors', async () => {
    const config = {
      class_name: 'Sequential',
      config: { name: 's', layers: [dense('fc', 3, { batch_input_shape: [null, 4] })] },
    };
    const missing = path.join(dir, 'missing-weights.h5');
    await writeKeras2H5(missing, config, [{ name: 'fc', weights: [] }]);
    await rejectsWith(
      missing,
      ModelWeightsError,
      /layer "fc" \(Dense\) has no weights in the file/,
    );
    const stray = path.join(dir, 'stray-weights.h5');
    await writeKeras2H5(stray, config, [
      {
        name: 'fc',
        weights: [
          { name: 'fc/kernel:0', ...arr([4, 3], 1) },
          { name: 'fc/bias:0', ...arr([3], 2) },
        ],
      },
      { name: 'ghost', weights: [{ name: 'ghost/kernel:0', ...arr([2], 3) }] },
    ]);
    await rejectsWith(
      stray,
      ModelWeightsError,
      /weights for layer "ghost", which the model config does not have/,
    );
    const short = path.join(dir, 'short.keras');
    writeKerasZip(short, {
      'config.json': JSON.stringify(config),
      'metadata.json': '{"keras_version": "3.1.1"}',
      'model.weights.h5': await keras3WeightsBytes({
        fc: { vars: [{ name: '0', ...arr([4, 3], 1) }] },
      }),
    });
    await rejectsWith(
      short,
      ModelWeightsError,
      /layer "fc" \(Dense\) needs 2 weight\(s\) \(kernel, bias\), the file has 1/,
    );
  });

  it('an unknown layer class names the layer and its class and lists what is supported', async () => {
    const file = path.join(dir, 'lstm.h5');
    const config = {
      class_name: 'Sequential',
      config: {
        name: 's',
        layers: [
          {
            class_name: 'LSTM',
            config: { name: 'rnn', units: 4, batch_input_shape: [null, 3, 2] },
          },
        ],
      },
    };
    await writeKeras2H5(file, config, []);
    const error = await rejectsWith(file, UnsupportedLayerError, /layer "rnn" has class LSTM/);
    assert.match(error.hint!, /Conv2D.*DepthwiseConv2D|DepthwiseConv2D/);
  });

  it('an unknown activation is an UnsupportedLayerError naming it', async () => {
    const file = path.join(dir, 'act.h5');
    const config = {
      class_name: 'Sequential',
      config: {
        name: 's',
        layers: [
          {
            class_name: 'Activation',
            config: { name: 'a', activation: 'my_custom_fn', batch_input_shape: [null, 3] },
          },
        ],
      },
    };
    await writeKeras2H5(file, config, []);
    await rejectsWith(file, UnsupportedLayerError, /layer "a" has class activation my_custom_fn/);
  });

  it('an HDF5 file with weights only (save_weights) says so', async () => {
    const file = path.join(dir, 'weights-only.h5');
    const { default: h5wasm } = await import('h5wasm/node');
    await h5wasm.ready;
    const f = new h5wasm.File(file, 'w');
    f.create_group('dense');
    f.close();
    await rejectsWith(file, KerasH5Error, /weights only/);
  });

  it('an empty file, unknown bytes and a missing path are reported as such', async () => {
    const empty = path.join(dir, 'empty.bin');
    writeFileSync(empty, '');
    await rejectsWith(empty, UnknownModelFormatError, /the file is empty/);
    const noise = path.join(dir, 'noise.dat');
    writeFileSync(noise, Buffer.from(seededValues(64, 5).buffer));
    await rejectsWith(noise, UnknownModelFormatError, /neither its first bytes nor its extension/);
    await rejectsWith(path.join(dir, 'nope.h5'), ModelFileError, /no such file/);
  });
});
