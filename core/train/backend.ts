import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { QuantbenchError } from '../errors';
import { registerWasmTrainingKernels } from './wasm-kernels';

const require = createRequire(import.meta.url);

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export class BackendError extends QuantbenchError {}

let ready: Promise<BackendName> | undefined;

/**
 * The tfjs backends in order of speed. tfjs-node is an optional dependency whose install
 * downloads libtensorflow, so on offline machines it is absent and we fall through to wasm.
 */
async function tryNode(): Promise<boolean> {
  const id = '@tensorflow/tfjs-node';
  try {
    require.resolve(id);
  } catch {
    return false;
  }
  try {
    // A computed specifier keeps bundlers and the type checker from insisting on the package.
    await import(id);
    return await tf.setBackend('tensorflow');
  } catch (error) {
    // Installed but broken (a missing libtensorflow, an ABI mismatch): say so, then fall back.
    process.emitWarning(`tfjs-node is installed but failed to load: ${(error as Error).message}`, {
      code: 'QUANTBENCH_TFJS_NODE',
    });
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  let dist: string;
  try {
    dist = path.dirname(
      require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'),
    );
  } catch {
    return false;
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the default locator resolves relative to the caller's URL, which breaks under
  // tsx and bundlers; absolute file paths always work.
  wasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': path.join(dist, 'tfjs-backend-wasm.wasm'),
    'tfjs-backend-wasm-simd.wasm': path.join(dist, 'tfjs-backend-wasm-simd.wasm'),
    'tfjs-backend-wasm-threaded-simd.wasm': path.join(dist, 'tfjs-backend-wasm-threaded-simd.wasm'),
  });
  registerWasmTrainingKernels();
  return tf.setBackend('wasm');
}

/**
 * Selects the fastest tfjs backend available and returns its name. Idempotent: the first
 * call decides, later calls return the same backend. `prefer` forces one (benchmarks and
 * tests compare backends); asking for one that cannot start is an error, not a fallback.
 */
export function initBackend(prefer?: BackendName): Promise<BackendName> {
  if (prefer) return useBackend(prefer);
  ready ??= (async () => {
    if (await tryNode()) return 'tensorflow';
    if (await tryWasm()) return 'wasm';
    await tf.setBackend('cpu');
    return 'cpu';
  })();
  return ready;
}

/** Switches to one named backend, initialising it on first use. */
export async function useBackend(name: BackendName): Promise<BackendName> {
  const ok =
    name === 'tensorflow'
      ? await tryNode()
      : name === 'wasm'
        ? await tryWasm()
        : await tf.setBackend('cpu');
  if (!ok) {
    throw new BackendError('BACKEND_UNAVAILABLE', `tfjs backend "${name}" could not be started`, {
      hint:
        name === 'tensorflow'
          ? 'install @tensorflow/tfjs-node (needs internet to fetch libtensorflow) or use wasm'
          : 'reinstall @tensorflow/tfjs-backend-wasm, or use the cpu backend',
    });
  }
  await tf.ready();
  return name;
}

export function currentBackend(): string {
  return tf.getBackend();
}
