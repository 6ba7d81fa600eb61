import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface BackendStatus {
  name: string;
  available: boolean;
  detail: string;
}

function resolvable(id: string): string | null {
  try {
    return require.resolve(id);
  } catch {
    return null;
  }
}

/**
 * Which tfjs backends this installation can use, without initialising any of them (that
 * would cost seconds at start-up). tfjs-node is optional: its install downloads
 * libtensorflow, which fails on offline machines.
 */
export function probeBackends(): BackendStatus[] {
  const node = resolvable('@tensorflow/tfjs-node');
  const wasm = resolvable('@tensorflow/tfjs-backend-wasm');
  return [
    {
      name: 'tensorflow',
      available: node !== null,
      detail: node ? 'tfjs-node (native libtensorflow)' : 'tfjs-node is not installed',
    },
    {
      name: 'wasm',
      available: wasm !== null,
      detail: wasm ? 'tfjs-backend-wasm with Quantbench training kernels' : 'tfjs-backend-wasm is missing',
    },
    { name: 'cpu', available: true, detail: 'pure JavaScript, always available' },
  ];
}
