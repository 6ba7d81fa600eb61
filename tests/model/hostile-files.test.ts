import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import { QuantbenchError } from '../../core/errors';
import { saveKeras } from '../../core/model/keras-writer';
import { loadModel } from '../../core/model/index';
import { tempDir } from '../helpers/tmp';

const dir = tempDir();

function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [4] });
  const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** A tfjs model.json in `folder` whose manifest names `shardPath` (the real shard sits beside it). */
async function writeTfjs(folder: string, shardPath: string): Promise<string> {
  mkdirSync(folder, { recursive: true });
  const model = tinyModel();
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(path.join(folder, 'shard.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      writeFileSync(
        path.join(folder, 'model.json'),
        JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: [shardPath], weights: a.weightSpecs }] }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return path.join(folder, 'model.json');
}

async function rejection(promise: Promise<unknown>): Promise<QuantbenchError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof QuantbenchError, `not a QuantbenchError: ${String(error)}`);
    return error;
  }
  assert.fail('the file was accepted');
}

describe('model files that try to reach outside their inputs', () => {
  it('refuses a tfjs weight shard path that leaves the model folder', async () => {
    const file = await writeTfjs(path.join(dir, 'escape', 'a', 'b'), '../../../../../../../../etc/passwd');
    const error = await rejection(loadModel(file));
    assert.equal(error.code, 'MODEL_TFJS_INVALID');
    assert.match(error.message, /outside/);
    assert.doesNotMatch(error.message, /root:/);
  });

  it('refuses a tfjs weight shard that is a FIFO, without blocking', { timeout: 20_000 }, async () => {
    const folder = path.join(dir, 'fifo');
    const file = await writeTfjs(folder, 'pipe.bin');
    execFileSync('mkfifo', [path.join(folder, 'pipe.bin')]);
    const error = await rejection(loadModel(file));
    assert.equal(error.code, 'MODEL_TFJS_INVALID');
    assert.match(error.message, /pipe\.bin.*FIFO/);
  });

  it('refuses a model path that is a FIFO', { timeout: 20_000 }, async () => {
    const fifo = path.join(dir, 'model.keras');
    execFileSync('mkfifo', [fifo]);
    const error = await rejection(loadModel(fifo));
    assert.equal(error.code, 'FILE_NOT_REGULAR');
  });
});

describe('.keras archives that lie', () => {
  it('refuses an entry whose CRC-32 does not match', async () => {
    const good = path.join(dir, 'good.keras');
    const model = tinyModel();
    await saveKeras(model, good);
    model.dispose();
    const bytes = new Uint8Array(readFileSync(good));
    // Flip one bit in the stored CRC of every local and central header: the content is intact.
    const view = new DataView(bytes.buffer);
    for (let i = 0; i + 4 <= bytes.length; i++) {
      const sig = view.getUint32(i, true);
      if (sig === 0x04034b50) bytes[i + 14]! ^= 1;
      if (sig === 0x02014b50) bytes[i + 16]! ^= 1;
    }
    const bad = path.join(dir, 'bad-crc.keras');
    writeFileSync(bad, bytes);
    const error = await rejection(loadModel(bad));
    assert.equal(error.code, 'MODEL_KERAS_ZIP_INVALID');
    assert.match(error.message, /fails its CRC-32 check/);
    assert.match(error.message, /bad-crc\.keras/);
  });

  it('refuses a zip bomb before inflating it', async () => {
    const bomb = path.join(dir, 'bomb.keras');
    const zeros = new Uint8Array(200 * 1024 * 1024);
    writeFileSync(bomb, zipSync({ 'config.json': new TextEncoder().encode('{}'), 'model.weights.h5': [zeros, { level: 9 }] }));
    const error = await rejection(loadModel(bomb));
    assert.equal(error.code, 'MODEL_KERAS_ZIP_INVALID');
    assert.match(error.message, /declare \d+ bytes uncompressed/);
    assert.match(error.message, /bomb\.keras/);
  });
});
