import { readFile, writeFile } from 'node:fs/promises';
import { QuantbenchError } from '../errors';
import type { TfliteModel } from './model';
import { readTflite } from './reader';
import { writeTflite } from './writer';

export class TfliteFileError extends QuantbenchError {
  constructor(file: string, action: 'read' | 'write', cause: unknown) {
    const reason =
      (cause as NodeJS.ErrnoException)?.code ??
      (cause instanceof Error ? cause.message : String(cause));
    super('TFLITE_FILE', `cannot ${action} ${file}: ${reason}`, {
      hint:
        action === 'read'
          ? 'Check the path and that the file is readable.'
          : 'Check that the folder exists and is writable.',
      cause,
    });
  }
}

/** Reads and parses a .tflite file; errors name the file. */
export async function readTfliteFile(file: string): Promise<TfliteModel> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new TfliteFileError(file, 'read', error);
  }
  return readTflite(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    source: file,
  });
}

/** Serialises `model` to `file` and returns the bytes written. */
export async function writeTfliteFile(file: string, model: TfliteModel): Promise<Uint8Array> {
  const bytes = writeTflite(model);
  try {
    await writeFile(file, bytes);
  } catch (error) {
    throw new TfliteFileError(file, 'write', error);
  }
  return bytes;
}
