import { readTflite } from '../tflite/index';
import { RuntimeError, statusCode } from '../runtime/errors';
import { FitError } from './errors';
import { instantiateRuntime, type RuntimeExports } from '../runtime/wasm-module';

/** One tensor the runtime's planner placed in the arena. */
export interface PlannedTensor {
  index: number;
  name: string;
  type: string;
  shape: number[];
  bytes: number;
  offset: number;
  /** Op indices; -1 for graph inputs (alive before the first op). */
  firstUse: number;
  lastUse: number;
}

/** The arena as the runtime plans it, read from the wasm build (the board's own C code). */
export interface ArenaPlan {
  /** qb_arena_required: what `push` reports for the same model on any board. */
  arenaBytes: number;
  /** sizeof(qb_interpreter) in a 32-bit build: the runtime's state beside the arena. */
  interpreterBytes: number;
  scratch: { offset: number; bytes: number };
  tensors: PlannedTensor[];
  ops: string[];
}

interface PlanExports extends RuntimeExports {
  qb_wasm_tensor_count(it: number): number;
  qb_wasm_tensor_plan(it: number, index: number, out: number): number;
}

function alloc(wasm: RuntimeExports, bytes: number, name: string): number {
  const ptr = wasm.qb_wasm_alloc(bytes);
  if (ptr === 0)
    throw new RuntimeError('RUNTIME_OUT_OF_MEMORY', `No WebAssembly memory left for ${bytes} bytes while planning ${name}`);
  return ptr;
}

/** Loads `model` in the wasm runtime and reads back its arena plan. */
export async function planArena(model: Uint8Array, name = 'model'): Promise<ArenaPlan> {
  const wasm = (await instantiateRuntime()) as PlanExports;
  if (typeof wasm.qb_wasm_tensor_plan !== 'function')
    throw new FitError('RUNTIME_WASM_OUTDATED', 'the wasm runtime build predates the arena plan export (qb_wasm_tensor_plan)', {
      hint: 'rebuild the firmware: npm run build:firmware',
    });
  wasm.qb_wasm_reset();
  const it = alloc(wasm, wasm.qb_interpreter_size(), name);
  const ptr = alloc(wasm, model.byteLength, name);
  new Uint8Array(wasm.memory.buffer, ptr, model.byteLength).set(model);
  const status = wasm.qb_load(it, ptr, model.byteLength);
  if (status !== 0) {
    const mem = new Uint8Array(wasm.memory.buffer);
    const at = wasm.qb_last_error(it);
    let end = at;
    while (mem[end] !== 0) end++;
    throw new RuntimeError(statusCode(status), `${name}: the runtime cannot load it: ${Buffer.from(mem.subarray(at, end)).toString()}`);
  }
  const graph = readTflite(model, { source: name }).subgraphs[0];
  const out = alloc(wasm, 6 * 4, name);
  const count = wasm.qb_wasm_tensor_count(it);
  const read = (index: number) => {
    wasm.qb_wasm_tensor_plan(it, index, out);
    return Array.from(new Int32Array(wasm.memory.buffer, out, 6));
  };
  const tensors: PlannedTensor[] = [];
  for (let i = 0; i < count; i++) {
    const [offset, bytes, firstUse, lastUse, planned] = read(i);
    if (!planned) continue;
    const t = graph.tensors[i];
    tensors.push({ index: i, name: t.name, type: t.type, shape: t.shape, bytes, offset, firstUse, lastUse });
  }
  const [scratchOffset, scratchBytes] = read(count);
  return {
    arenaBytes: wasm.qb_arena_required(it),
    interpreterBytes: wasm.qb_interpreter_size(),
    scratch: { offset: scratchOffset, bytes: scratchBytes },
    tensors,
    ops: graph.operators.map((o) => o.op),
  };
}
