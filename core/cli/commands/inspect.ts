import { open } from 'node:fs/promises';
import path from 'node:path';
import { describeModel, formatDescription } from '../../model/describe';
import { loadModel } from '../../model/index';
import { UsageError } from '../args';
import type { CliCommand } from '../command';
import { emit } from '../output';

/** A .tflite flatbuffer carries the file identifier "TFL3" at byte 4. */
async function isTflite(file: string): Promise<boolean> {
  if (path.extname(file).toLowerCase() === '.tflite') return true;
  try {
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(8);
      await handle.read(head, 0, 8, 0);
      return head.toString('latin1', 4, 8) === 'TFL3';
    } finally {
      await handle.close();
    }
  } catch {
    // Unreadable files go on to loadModel, which reports them properly.
    return false;
  }
}

export const inspectCommand: CliCommand = {
  name: 'inspect',
  usage: `Usage: quantbench inspect MODEL [--json]

MODEL is a Keras 3 .keras file, a Keras 2 .h5/.hdf5 file, a TensorFlow.js model.json (or its
folder) or a .tflite file. Prints the format, the Keras version that wrote it, each layer with
its type, output shape, parameters and multiply-accumulates, and the totals.`,
  async run(ctx) {
    const file = ctx.positionals[0];
    if (!file || ctx.positionals.length > 1)
      throw new UsageError('inspect takes exactly one MODEL path');
    if (await isTflite(file)) {
      // Loaded on demand: the Keras path does not depend on the .tflite reader.
      const tflite = await import('../../tflite/index');
      const inspection = tflite.inspectTflite(await tflite.readTfliteFile(file));
      emit(
        ctx,
        { file: path.resolve(file), format: 'tflite', ...inspection },
        () =>
          `${path.resolve(file)}\nformat   TensorFlow Lite flatbuffer\n${tflite.formatInspection(inspection)}`,
      );
      return 0;
    }
    const imported = await loadModel(file);
    const description = describeModel(imported);
    imported.model.dispose();
    emit(ctx, description, () => formatDescription(description));
    return 0;
  },
};
