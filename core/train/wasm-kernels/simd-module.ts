/**
 * The little WebAssembly assembler the SIMD kernels are written with: each kernel is one
 * function over byte addresses in the tfjs wasm backend's own memory (imported, so no copy),
 * hand-assembled because the package has no C toolchain step for its TypeScript.
 */

/** Unsigned LEB128. */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

/** Signed LEB128, for i32.const. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** The opcodes the kernels use. */
export const op = {
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  tee: (i: number) => [0x22, i],
  i32: (n: number) => [0x41, ...sleb(n)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  simd: (code: number) => [0xfd, ...leb(code)],
  /** v128.load with alignment 4 and a byte offset. */
  load: (offset = 0) => [0xfd, 0x00, 0x02, ...leb(offset)],
  store: (offset = 0) => [0xfd, 0x0b, 0x02, ...leb(offset)],
  /** v128.const of sixteen zero bytes (+0.0 in every float lane). */
  zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
};

export type ValueType = 'i32' | 'f32' | 'v128';
const typeCode: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/**
 * A module importing `env.memory` and exporting one function `name(params) -> ()`, its
 * locals after the parameters in the order given, and `code` its body (without the final
 * `end`).
 */
export function simdModule(
  name: string,
  params: ValueType[],
  locals: ValueType[],
  code: number[],
): Uint8Array {
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const text = (s: string) => [s.length, ...Buffer.from(s)];
  const runs: [number, ValueType][] = [];
  for (const t of locals) {
    const last = runs.at(-1);
    if (last && last[1] === t) last[0]++;
    else runs.push([1, t]);
  }
  const body = [
    ...leb(runs.length),
    ...runs.flatMap(([n, t]) => [...leb(n), typeCode[t]]),
    ...code,
    0x0b,
  ];
  // prettier-ignore
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, ...leb(params.length), ...params.map((p) => typeCode[p]), 0x00]),
    ...section(2, [0x01, ...text('env'), ...text('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...text(name), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
export interface Memory {
  buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export type Loop = (...args: number[]) => void;

/**
 * A kernel's function bound to one memory, compiled once and instantiated once per memory;
 * null where it cannot run (an engine without SIMD, a shared memory).
 */
export function simdLoader(
  name: string,
  bytes: () => Uint8Array,
): (memory: Memory | undefined) => Loop | null {
  let compiled: object | null | undefined;
  const instances = new WeakMap<Memory, Loop>();
  return (memory) => {
    if (!memory || memory.buffer instanceof SharedArrayBuffer) return null;
    if (compiled === undefined) {
      const b = bytes();
      compiled = wasmApi.validate(b) ? new wasmApi.Module(b) : null;
    }
    if (!compiled) return null;
    let loop = instances.get(memory);
    if (!loop) {
      loop = new wasmApi.Instance(compiled, { env: { memory } }).exports[name] as Loop;
      instances.set(memory, loop);
    }
    return loop;
  };
}
