/**
 * Wire constants and payload layouts of the board protocol; docs/protocol.md is the
 * specification and resources/firmware/protocol/qb_protocol.h the C mirror.
 */
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 7;
export const CRC_BYTES = 4;
export const PACKET_OVERHEAD = HEADER_BYTES + CRC_BYTES;

export const Flag = { response: 0x01, error: 0x02, event: 0x04 } as const;

export const Command = {
  hello: 0x01,
  uploadBegin: 0x02,
  uploadChunk: 0x03,
  uploadEnd: 0x04,
  modelInfo: 0x05,
  setInput: 0x06,
  invoke: 0x07,
  benchmark: 0x08,
  evaluate: 0x09,
  reset: 0x0a,
  profile: 0x0b,
  boot: 0x7f,
} as const;

export const commandName: Record<number, string> = Object.fromEntries(
  Object.entries(Command).map(([name, code]) => [code, name]),
);

/** Error codes a board answers with (docs/protocol.md, "Errors"). */
export const BoardErrorCode: Record<number, string> = {
  1: 'VERSION',
  2: 'UNKNOWN_COMMAND',
  3: 'BAD_PAYLOAD',
  4: 'TOO_BIG',
  5: 'NO_UPLOAD',
  6: 'CRC_MISMATCH',
  7: 'NO_MODEL',
  8: 'RUNTIME',
  9: 'ARENA_TOO_SMALL',
  10: 'NO_RUNTIME',
};

export const BENCHMARK_MAX_RUNS = 1000;

export interface HelloInfo {
  protocol: number;
  firmware: string;
  hasRuntime: boolean;
  cpuHz: number;
  /** Arena bytes the board can give a model. */
  ramBytes: number;
  /** Largest model the board can store. */
  flashBytes: number;
  maxPayload: number;
  ops: number[];
  name: string;
  cpu: string;
}

export interface TensorInfo {
  type: number;
  shape: number[];
  bytes: number;
  scale: number;
  zeroPoint: number;
}

export interface ModelInfo {
  loaded: boolean;
  modelBytes: number;
  crc: number;
  arenaRequired: number;
  ramBytes: number;
  fits: boolean;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export interface TimingStats {
  min: number;
  median: number;
  p95: number;
  max: number;
}

export interface BenchmarkResult {
  runs: number;
  cycles: TimingStats;
  us: TimingStats;
}

/** Sequential little-endian reader that fails loudly on a short payload. */
export class PayloadReader {
  private offset = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, private readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): number {
    if (this.offset + n > this.bytes.length) {
      throw new RangeError(`${this.what} payload too short: needs ${this.offset + n} bytes, has ${this.bytes.length}`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number { return this.bytes[this.need(1)]!; }
  u16(): number { return this.view.getUint16(this.need(2), true); }
  u32(): number { return this.view.getUint32(this.need(4), true); }
  i32(): number { return this.view.getInt32(this.need(4), true); }
  f32(): number { return this.view.getFloat32(this.need(4), true); }
  u64(): number { return Number(this.view.getBigUint64(this.need(8), true)); }
  bytesOf(n: number): Uint8Array { const at = this.need(n); return this.bytes.slice(at, at + n); }
  rest(): Uint8Array { return this.bytesOf(this.bytes.length - this.offset); }
  text(): string { return new TextDecoder().decode(this.bytesOf(this.u8())); }
}

export function parseHello(payload: Uint8Array): HelloInfo {
  const r = new PayloadReader(payload, 'HELLO');
  const protocol = r.u8();
  const major = r.u8();
  const minor = r.u8();
  const hasRuntime = r.u8() === 1;
  const cpuHz = r.u32();
  const ramBytes = r.u32();
  const flashBytes = r.u32();
  const maxPayload = r.u16();
  const ops = Array.from({ length: r.u16() }, () => r.u16());
  const name = r.text();
  const cpu = r.text();
  return { protocol, firmware: `${major}.${minor}`, hasRuntime, cpuHz, ramBytes, flashBytes, maxPayload, ops, name, cpu };
}

function parseTensor(r: PayloadReader): TensorInfo {
  const type = r.u8();
  const rank = r.u8();
  const shape = Array.from({ length: rank }, () => r.i32());
  return { type, shape, bytes: r.u32(), scale: r.f32(), zeroPoint: r.i32() };
}

export function parseModelInfo(payload: Uint8Array): ModelInfo {
  const r = new PayloadReader(payload, 'MODEL_INFO');
  const loaded = r.u8() === 1;
  const modelBytes = r.u32();
  const crc = r.u32();
  const arenaRequired = r.u32();
  const ramBytes = r.u32();
  const fits = r.u8() === 1;
  const inputCount = r.u8();
  const outputCount = r.u8();
  const inputs = Array.from({ length: inputCount }, () => parseTensor(r));
  const outputs = Array.from({ length: outputCount }, () => parseTensor(r));
  return { loaded, modelBytes, crc, arenaRequired, ramBytes, fits, inputs, outputs };
}

export function parseBenchmark(payload: Uint8Array): BenchmarkResult {
  const r = new PayloadReader(payload, 'BENCHMARK');
  const runs = r.u16();
  const stats = (): TimingStats => ({ min: r.u64(), median: r.u64(), p95: r.u64(), max: r.u64() });
  const cycles = stats();
  return { runs, cycles, us: stats() };
}

/** One operator of a PROFILE answer, in execution order. */
export interface ProfileEntry {
  index: number;
  /** TFLite builtin operator code. */
  code: number;
  outputCount: number;
  /** The first output is a constant stored in the model (no arena). */
  outputConst: boolean;
  /** In the fastest profiled round, less the profiler's own cost (one observer call). */
  cycles: number;
  /** Byte offset of the first output in the arena. */
  outputOffset: number;
  outputBytes: number;
}

/** One PROFILE answer: a page of operators and the whole-inference figures. */
export interface ProfilePage {
  opCount: number;
  first: number;
  /** Fastest plain (unobserved) inference: the whole-inference figure. */
  invokeCycles: number;
  invokeUs: number;
  /** Fastest profiled inference, first operator start to last operator end: the operators' sum. */
  profiledCycles: number;
  entries: ProfileEntry[];
}

export const PROFILE_HEADER_BYTES = 30;
export const PROFILE_ENTRY_BYTES = 20;

export function parseProfile(payload: Uint8Array): ProfilePage {
  const r = new PayloadReader(payload, 'PROFILE');
  const opCount = r.u16();
  const first = r.u16();
  const count = r.u16();
  const invokeCycles = r.u64();
  const invokeUs = r.u64();
  const profiledCycles = r.u64();
  const entries = Array.from({ length: count }, (_, k): ProfileEntry => {
    const code = r.u16();
    const outputCount = r.u8();
    const outputConst = r.u8() === 1;
    return { index: first + k, code, outputCount, outputConst, cycles: r.u64(), outputOffset: r.u32(), outputBytes: r.u32() };
  });
  return { opCount, first, invokeCycles, invokeUs, profiledCycles, entries };
}

export function u32le(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0, true));
  return out;
}
