import path from 'node:path';
import { runCli, repoRoot } from '../tests/helpers/cli';

/**
 * The sample model's int8 export, made the way a user makes it: the CLI's `int8` preset on
 * resources/samples/fashion-mnist-cnn.keras, written under `work`. Returns the .tflite path.
 */
export function sampleInt8Export(work: string): string {
  const out = path.join(work, 'sample-int8');
  const r = runCli(
    [
      'compress',
      path.join(repoRoot, 'resources', 'samples', 'fashion-mnist-cnn.keras'),
      '--recipe',
      'int8',
      '--data',
      'fashion-mnist:test',
      '--eval-samples',
      '200',
      '--out',
      out,
      '--no-record',
    ],
    { timeoutMs: 600_000 },
  );
  if (r.status !== 0) throw new Error(`compressing the sample failed:\n${r.stdout}${r.stderr}`);
  return path.join(out, 'model.tflite');
}
