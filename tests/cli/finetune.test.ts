import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { before, describe, it } from 'node:test';
import { finetuneCommand } from '../../core/cli/commands/finetune';
import type { FineTuneJobResult } from '../../core/handlers/finetune-job';
import { saveKeras } from '../../core/model/keras-writer';
import { initBackend } from '../../core/train/backend';
import { tempDir } from '../helpers/tmp';
import { fashionModel } from '../compress/finetune/compact';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c) => (text += String(c)));
  return { stream, text: () => text };
}

describe('quantbench finetune', () => {
  const dir = tempDir('quantbench-finetune-cli-');
  const modelFile = path.join(dir, 'model.keras');
  before(async () => {
    await initBackend();
    await saveKeras(fashionModel(), modelFile);
  });

  it('runs the preset with a fine-tune in a worker, and prints one JSON document with no progress display', async () => {
    const out = sink();
    const err = sink();
    const code = await finetuneCommand.run({
      positionals: [modelFile],
      options: {
        recipe: 'prune50-cluster16-int8-keep-rescaling-float',
        data: 'fashion-mnist:train[0:640]',
        'test-data': 'fashion-mnist:test[0:200]',
        epochs: '1',
        'batch-size': '32',
        'learning-rate': '0.005',
        out: path.join(dir, 'out'),
      },
      json: true,
      dataDir: dir,
      stdout: out.stream,
      stderr: err.stream,
      signal: new AbortController().signal,
    });
    assert.equal(code, 0, err.text());
    const result = JSON.parse(out.text()) as FineTuneJobResult;
    assert.equal(result.epochs.length, 1);
    assert.ok(result.guarantees!.length > 0 && result.guarantees!.every((g) => g.ok));
    assert.ok(result.int8Accuracy! >= 0 && result.int8Accuracy! <= 1);
    assert.ok(existsSync(path.join(dir, 'out', 'model.tflite')));
    assert.ok(existsSync(path.join(dir, 'out', 'best.keras')));
    // --json: the job's log lines only, no progress display (tests/cli/progress.test.ts draws it).
    assert.match(err.text(), /^fine-tuning on \w+: 640 samples/);
    assert.doesNotMatch(err.text(), /\[[#.]+\]/);
  });
});
