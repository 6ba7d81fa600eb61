import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The reference models live beside the repository, never inside it. */
export const sharedModelsDir = path.resolve(
  process.env.QUANTBENCH_SHARED_MODELS ?? path.join(here, '..', '..', '..', 'shared', 'models'),
);

export function sharedModel(name: string): string {
  return path.join(sharedModelsDir, name);
}

/**
 * Returns a skip reason when the shared models folder is missing, so a test can call
 * `test('…', { skip: missingSharedModels() }, …)` and the report says why it did not run.
 */
export function missingSharedModels(...names: string[]): string | false {
  if (!existsSync(sharedModelsDir)) {
    return `shared models folder not found at ${sharedModelsDir} (set QUANTBENCH_SHARED_MODELS)`;
  }
  const missing = names.filter((n) => !existsSync(sharedModel(n)));
  return missing.length ? `missing in ${sharedModelsDir}: ${missing.join(', ')}` : false;
}
