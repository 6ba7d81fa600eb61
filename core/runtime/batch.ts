import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { RuntimeError, statusCode } from './errors';
import { Interpreter, type LoadOptions, type TensorInfo } from './interpreter';
import { decodeOutput, quantizeInt8 } from './quantize';
import { compiledRuntime } from './wasm-module';

export interface BatchRunnerOptions extends LoadOptions {
  /**
   * Threads that run samples, the calling thread included (default: the idle cores, see
   * defaultEvaluationThreads). Each extra thread is a worker with its own instance of the same compiled
   * runtime, so results do not depend on how samples are split.
   */
  threads?: number;
  /**
   * Run every sample on worker threads (`threads` of them), none on the calling thread, so
   * that a run() returns at once and the calling thread is free for other work meanwhile.
   */
  workersOnly?: boolean;
}

/**
 * Runs the samples of one worker's share: a plain-JavaScript twin of Interpreter.load and
 * Interpreter.runBatch over the same C exports (worker threads do not inherit the
 * TypeScript loader, and an eval'd source also works from the Electron bundle).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, model } = workerData;
const e = new WebAssembly.Instance(module, {}).exports;
class Failure { constructor(status, doing) { this.status = status; this.doing = doing; } }
const text = (ptr) => {
  const mem = new Uint8Array(e.memory.buffer);
  let end = ptr;
  while (end < mem.length && mem[end] !== 0) end++;
  return Buffer.from(mem.subarray(ptr, end)).toString('utf8');
};
const alloc = (bytes) => {
  const p = e.qb_wasm_alloc(bytes);
  if (p === 0) throw new Failure(-1, 'allocating ' + bytes + ' bytes of WebAssembly memory');
  return p;
};
const check = (status, doing) => { if (status !== 0) throw new Failure(status, doing); };
e.qb_wasm_reset();
const it = alloc(e.qb_interpreter_size());
const mp = alloc(model.byteLength);
new Uint8Array(e.memory.buffer, mp, model.byteLength).set(model);
let loadError;
let inBytes = 0;
let outBytes = 0;
try {
  check(e.qb_load(it, mp, model.byteLength), 'loading');
  const arena = Math.max(e.qb_arena_required(it), 16);
  check(e.qb_set_arena(it, alloc(arena), arena), 'setting the arena');
  const info = alloc(e.qb_wasm_info_bytes());
  check(e.qb_input_info(it, 0, info), 'reading input 0');
  inBytes = new DataView(e.memory.buffer).getUint32(info + 32, true);
  check(e.qb_output_info(it, 0, info), 'reading output 0');
  outBytes = new DataView(e.memory.buffer).getUint32(info + 32, true);
} catch (error) {
  loadError = error;
}
let capacity = 0, stageIn = 0, stageOut = 0;
parentPort.on('message', ({ id, input, count }) => {
  try {
    if (loadError) throw loadError;
    if (count > capacity) {
      capacity = Math.max(count, 2 * capacity);
      stageIn = alloc(capacity * inBytes);
      stageOut = alloc(capacity * outBytes);
    }
    new Uint8Array(e.memory.buffer, stageIn, count * inBytes).set(input);
    for (let s = 0; s < count; s++) {
      check(e.qb_set_input(it, 0, stageIn + s * inBytes, inBytes), 'setting input 0 of batch sample ' + s);
      check(e.qb_invoke(it), 'invoking batch sample ' + s);
      check(e.qb_get_output(it, 0, stageOut + s * outBytes, outBytes), 'reading output 0 of batch sample ' + s);
    }
    const output = new Uint8Array(e.memory.buffer, stageOut, count * outBytes).slice();
    parentPort.postMessage({ id, output }, [output.buffer]);
  } catch (error) {
    if (!(error instanceof Failure)) {
      parentPort.postMessage({ id, status: -1, doing: 'running', detail: String(error && error.message || error) });
      return;
    }
    const words = error.status > 0 ? text(e.qb_status_string(error.status)) : 'out of memory';
    parentPort.postMessage({ id, status: error.status, doing: error.doing, words, detail: text(e.qb_last_error(it)) });
  }
});
`;

interface WorkerReply {
  id: number;
  output?: Uint8Array;
  status?: number;
  doing?: string;
  words?: string;
  detail?: string;
}

class RuntimeThread {
  private readonly pending = new Map<
    number,
    { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;

  constructor(
    private readonly worker: Worker,
    private readonly name: string,
  ) {
    worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.output) p.resolve(m.output);
      else
        p.reject(
          new RuntimeError(
            m.status === -1 ? 'RUNTIME_OUT_OF_MEMORY' : statusCode(m.status ?? 6),
            `${name}: ${m.doing} failed in a runtime worker: ${m.words ?? ''}${m.detail ? ` (${m.detail})` : ''}`,
            { status: m.status, detail: m.detail },
          ),
        );
    });
    const fail = (e: Error) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', (cause) =>
      fail(new RuntimeError('RUNTIME_KERNEL', `${name}: a runtime worker failed`, { cause })),
    );
    worker.on('exit', () =>
      fail(new RuntimeError('RUNTIME_DISPOSED', `${name}: the runtime worker stopped`)),
    );
  }

  run(input: Uint8Array, count: number): Promise<Uint8Array> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Referenced only while a share is out, so an idle pool never holds the process open.
      this.worker.ref();
      this.worker.postMessage({ id, input, count });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

const typedArrays = {
  float32: Float32Array,
  int8: Int8Array,
  int32: Int32Array,
  uint8: Uint8Array,
  int16: Int16Array,
  int64: BigInt64Array,
} as const;

/**
 * Threads for batch evaluation when the caller does not say: the cores that are idle, at
 * most 8 and at least the calling thread. The one-minute load average (which already counts
 * this process) says how many are busy; on a machine where other work keeps every core
 * busy, extra threads only add switching, so evaluation stays on the calling thread.
 */
export function defaultEvaluationThreads(): number {
  const cores = os.availableParallelism();
  const busyElsewhere = Math.max(0, os.loadavg()[0] - 1);
  return Math.max(1, Math.min(8, cores, Math.floor(cores - busyElsewhere + 0.5)));
}

/**
 * Evaluates a one-input model over batches of float samples on several threads: the calling
 * thread runs the first share of each batch through its own Interpreter while worker
 * threads run the rest, each with its own instance of the runtime. Outputs are the same
 * bytes as one interpreter running the samples in order.
 */
export class BatchRunner {
  private constructor(
    private readonly local: Interpreter,
    private readonly threads: RuntimeThread[],
    private readonly workersOnly: boolean,
  ) {}

  static async create(model: Uint8Array, options: BatchRunnerOptions = {}): Promise<BatchRunner> {
    const local = await Interpreter.load(model, options);
    if (local.inputs.length !== 1) {
      local.dispose();
      throw new RuntimeError(
        'RUNTIME_BAD_ARGUMENT',
        `${local.name} has ${local.inputs.length} inputs; batch evaluation takes one-input models`,
      );
    }
    const wanted = Math.max(1, Math.floor(options.threads ?? defaultEvaluationThreads()));
    const workersOnly = options.workersOnly ?? false;
    const workers = workersOnly ? wanted : wanted - 1;
    const module = workers > 0 ? await compiledRuntime(local.runtime.path) : undefined;
    const threads = Array.from({ length: workers }, () => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, model },
      });
      worker.unref();
      return new RuntimeThread(worker, local.name);
    });
    return new BatchRunner(local, threads, workersOnly);
  }

  get name(): string {
    return this.local.name;
  }
  get input(): TensorInfo {
    return this.local.inputs[0];
  }
  get output(): TensorInfo {
    return this.local.outputs[0];
  }
  /** Threads that run samples, the calling one included unless workersOnly. */
  get threadCount(): number {
    return this.threads.length + (this.workersOnly ? 0 : 1);
  }

  /** The input's raw bytes for `count` float samples (quantized when the input is int8). */
  private encode(x: Float32Array, count: number, where: string): Uint8Array {
    const info = this.input;
    const elements = info.shape.reduce((a, b) => a * b, 1);
    if (x.length < count * elements)
      throw new RuntimeError(
        'RUNTIME_INPUT',
        `${where}: ${count} samples of ${elements} values need ${count * elements} values, got ${x.length}`,
      );
    const values = x.subarray(0, count * elements);
    if (info.type === 'int8')
      return new Uint8Array(quantizeInt8(values, info.scale, info.zeroPoint).buffer);
    if (info.type === 'float32')
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    throw new RuntimeError(
      'RUNTIME_INPUT',
      `${where}: input type ${info.type} cannot be fed from float samples (float32 or int8 only)`,
    );
  }

  /** Output 0's raw bytes as floats (dequantized when the output is quantized). */
  private decode(out: Uint8Array): Float32Array {
    const Ctor = typedArrays[this.output.type];
    const bytes = out.byteOffset % Ctor.BYTES_PER_ELEMENT === 0 ? out : out.slice();
    return decodeOutput(
      new Ctor(
        bytes.buffer as ArrayBuffer,
        bytes.byteOffset,
        bytes.byteLength / Ctor.BYTES_PER_ELEMENT,
      ),
      this.output,
    );
  }

  /**
   * Runs `count` samples given back to back in `x` (float values, quantized here with the
   * input's scale and zero point when the input is int8) and returns output 0 of each,
   * back to back, as floats (dequantized when the output is quantized).
   */
  async run(x: Float32Array, count: number, where = this.name): Promise<Float32Array> {
    const raw = this.encode(x, count, where);
    const shares = Math.min(this.threadCount, Math.max(1, count));
    const per = Math.ceil(count / shares);
    const inBytes = this.input.bytes;
    // Share 0 is the calling thread's unless every share goes to a worker.
    const firstWorkerShare = this.workersOnly ? 0 : 1;
    const jobs: Promise<Uint8Array>[] = [];
    for (let t = firstWorkerShare; t < shares; t++) {
      const from = Math.min(count, t * per);
      const n = Math.min(count, from + per) - from;
      jobs.push(
        n > 0
          ? this.threads[t - firstWorkerShare].run(
              raw.slice(from * inBytes, (from + n) * inBytes),
              n,
            )
          : Promise.resolve(new Uint8Array(0)),
      );
    }
    const first = this.workersOnly ? 0 : Math.min(count, per);
    // The calling thread's share runs while the workers run theirs.
    let mine: Uint8Array;
    try {
      mine =
        first > 0
          ? this.local.runBatch(raw.subarray(0, first * inBytes), first)
          : new Uint8Array(0);
    } catch (error) {
      await Promise.allSettled(jobs);
      throw error;
    }
    const parts = [mine, ...(await Promise.all(jobs))];
    const out = new Uint8Array(count * this.output.bytes);
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.byteLength;
    }
    return this.decode(out);
  }

  /** Worker threads (the calling thread aside), for runOn(). */
  get workerCount(): number {
    return this.threads.length;
  }

  /**
   * Runs a whole batch on one thread: worker `worker` (0 .. workerCount - 1), or the
   * calling thread when it is 'local' (which blocks it until the batch is done). Same
   * outputs as run(); callers that keep every thread busy with batches of their own use it.
   */
  async runOn(
    worker: number | 'local',
    x: Float32Array,
    count: number,
    where = this.name,
  ): Promise<Float32Array> {
    const raw = this.encode(x, count, where);
    if (worker === 'local') return this.decode(this.local.runBatch(raw, count));
    const thread = this.threads[worker];
    if (!thread)
      throw new RuntimeError('RUNTIME_BAD_ARGUMENT', `${where}: no runtime worker ${worker}`);
    return this.decode(await thread.run(raw.slice(), count));
  }

  async close(): Promise<void> {
    this.local.dispose();
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
