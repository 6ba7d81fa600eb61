import { QuantbenchError } from '../errors';

/** Status codes of resources/firmware/include/qb_runtime.h, in enum order. */
export const runtimeStatusCodes = [
  'OK',
  'RUNTIME_MODEL_INVALID',
  'RUNTIME_MODEL_UNSUPPORTED',
  'RUNTIME_ARENA_TOO_SMALL',
  'RUNTIME_BAD_ARGUMENT',
  'RUNTIME_NOT_LOADED',
  'RUNTIME_KERNEL',
] as const;

const hints: Record<string, string> = {
  RUNTIME_MODEL_INVALID:
    'The file is not a valid .tflite flatbuffer; re-export it or check that it was copied completely.',
  RUNTIME_MODEL_UNSUPPORTED:
    'The model uses an op, tensor type or option the Quantbench runtime does not run; see the supported op list in `quantbench inspect`.',
  RUNTIME_ARENA_TOO_SMALL: 'Give the interpreter at least the arena size the model reports.',
  RUNTIME_BAD_ARGUMENT:
    'Check the input index and that the data has exactly the bytes the input tensor takes.',
  RUNTIME_NOT_LOADED: 'Load a model before invoking it.',
  RUNTIME_KERNEL: 'A tensor shape in the model does not fit its operator; re-export the model.',
  RUNTIME_WASM_MISSING: 'Build the runtime with `npm run build:firmware`.',
  RUNTIME_WASM_SIMD_UNSUPPORTED:
    'Load the plain build instead (build: "plain" or "auto"); this engine lacks WebAssembly SIMD.',
  RUNTIME_OUT_OF_MEMORY: 'The model and its arena do not fit in WebAssembly memory (1 GiB).',
  RUNTIME_DISPOSED: 'Load the model again; this interpreter was disposed.',
  RUNTIME_INPUT: 'Pass one value per input element, with the type the input expects.',
};

/** An error reported by the C runtime (through wasm) or by its TypeScript wrapper. */
export class RuntimeError extends QuantbenchError {
  readonly status?: number;
  readonly detail?: string;

  constructor(
    code: string,
    message: string,
    options: { status?: number; detail?: string; cause?: unknown } = {},
  ) {
    super(code, message, { hint: hints[code], cause: options.cause });
    this.status = options.status;
    this.detail = options.detail;
  }
}

export function statusCode(status: number): string {
  return runtimeStatusCodes[status] ?? 'RUNTIME_KERNEL';
}
