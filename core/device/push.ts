import { readFile } from 'node:fs/promises';
import { openDataset, type OpenDatasetOptions } from '../data';
import { decodeOutput, encodeInput, Runtime, type Interpreter, type TensorData, type TensorInfo } from '../runtime';
import { Board } from './board';
import { DeviceError } from './errors';
import type { HelloInfo } from './protocol';
import { argmax, oneHot, OutputComparer, type OutputComparison } from './metrics';
import { profileOnBoard, type DeviceProfile } from './profile';

export interface PushOptions {
  /** Serial path or tcp:// / rfc2217:// URL. */
  port: string;
  /** Path of the .tflite to push. */
  model: string;
  /** Timed runs of BENCHMARK (1 to 1000). */
  bench?: number;
  warmup?: number;
  /** Per-operator cycles (PROFILE) after the benchmark and evaluation: true picks the run count from the board's speed. */
  profile?: boolean | number;
  /** Evaluate on a dataset spec (core/data), or `random[:SEED]` for seeded inputs without labels. */
  data?: string;
  limit?: number;
  /** Multiply raw samples by this first (e.g. 1/255), as the model was trained. */
  inputScale?: number;
  baudRate?: number;
  /** Stops between steps, between upload chunks and between evaluation frames. */
  signal?: AbortSignal;
  /** Progress lines for a terminal or a log. */
  onLog?: (line: string) => void;
  /** `upload`, `bench` or `eval` with the fraction done (null when unknown). */
  onProgress?: (step: string, fraction: number | null) => void;
  /** The board's HELLO, as soon as it answered (before the upload). */
  onBoard?: (hello: HelloInfo) => void;
}

export interface SampleMismatch {
  index: number;
  label?: number;
  devicePrediction: number;
  desktopPrediction: number;
  /** Output bytes that differ between the board and the desktop runtime. */
  differingBytes: number;
}

export interface PushResult {
  port: string;
  board: { name: string; firmware: string; cpu: string; cpuHz: number; ramBytes: number; flashBytes: number };
  model: { path: string; bytes: number; crc: number; arenaBytes: number };
  upload: { bytes: number; seconds: number; bytesPerSecond: number; rewinds: number };
  bench?: {
    runs: number;
    medianUs: number;
    medianCycles: number;
    us: { min: number; median: number; p95: number; max: number };
    cycles: { min: number; median: number; p95: number; max: number };
  };
  eval?: {
    data: string;
    samples: number;
    /** Top-1 on the board; null without class labels. */
    accuracy: number | null;
    desktopAccuracy: number | null;
    /** Samples whose board output equals the desktop int8 output byte for byte. */
    agreement: number;
    mismatchCount: number;
    /** The first 20 mismatches. */
    mismatches: SampleMismatch[];
    meanUs: number;
    meanCycles: number;
    deviceVsDesktop: OutputComparison;
    deviceVsTruth: (OutputComparison & { acc: number }) | null;
  };
  profile?: DeviceProfile;
}

const BATCH = 100;

/** Uploads a model, then benchmarks and/or evaluates it against the desktop int8 result. */
export async function pushModel(options: PushOptions): Promise<PushResult> {
  const log = options.onLog ?? (() => {});
  const progress = options.onProgress ?? (() => {});
  checkAborted(options.signal, options.port);
  const bytes = new Uint8Array(await readFile(options.model).catch((e: Error) => {
    throw new DeviceError('DEVICE_MODEL_UNREADABLE', `cannot read ${options.model}: ${e.message}`, { hint: 'pass the path of a .tflite file' });
  }));
  const board = await Board.connect(options.port, { baudRate: options.baudRate });
  try {
    const hello = board.hello!;
    log(`${hello.name} (${hello.cpu}, ${hello.cpuHz} Hz), firmware ${hello.firmware} on ${board.port}`);
    options.onBoard?.(hello);
    let lastDecile = -1;
    const upload = await board.upload(bytes, {
      signal: options.signal,
      onProgress: (sent, total) => {
        progress('upload', sent / total);
        const decile = Math.floor((10 * sent) / total);
        if (decile !== lastDecile) log(`upload ${decile * 10}%`);
        lastDecile = decile;
      },
    });
    if (!upload.fits) {
      throw new DeviceError('BOARD_ARENA_TOO_SMALL', `${options.model} needs ${upload.arenaRequired} bytes of arena; ${hello.name} on ${board.port} has ${hello.ramBytes}`, {
        hint: 'compress the model further or use a board with more RAM',
      });
    }
    const result: PushResult = {
      port: board.port,
      board: { name: hello.name, firmware: hello.firmware, cpu: hello.cpu, cpuHz: hello.cpuHz, ramBytes: hello.ramBytes, flashBytes: hello.flashBytes },
      model: { path: options.model, bytes: bytes.length, crc: upload.crc, arenaBytes: upload.arenaRequired },
      upload: { bytes: upload.bytes, seconds: upload.seconds, bytesPerSecond: upload.bytes / upload.seconds, rewinds: upload.rewinds },
    };
    if (options.bench) {
      checkAborted(options.signal, board.port);
      progress('bench', null);
      const b = await board.benchmark(options.bench, options.warmup ?? 1);
      progress('bench', 1);
      result.bench = { runs: b.runs, medianUs: b.us.median, medianCycles: b.cycles.median, us: b.us, cycles: b.cycles };
      log(`benchmark: median ${b.us.median} µs, ${b.cycles.median} cycles over ${b.runs} runs`);
    }
    if (options.data) result.eval = await evaluateOnBoard(board, bytes, options, log, progress);
    if (options.profile) {
      // Last, so the board's input is a real sample when there was an evaluation.
      checkAborted(options.signal, board.port);
      progress('profile', null);
      result.profile = await profileOnBoard(board, bytes, options.model, options.profile === true ? undefined : options.profile);
      progress('profile', 1);
      const p = result.profile;
      log(`profile: ${p.ops.length} operators, ${p.sumCycles} cycles summed, ${p.invokeCycles} for the whole inference (${(100 * p.sumOverWhole).toFixed(1)}%)`);
    }
    return result;
  } finally {
    await board.close();
  }
}

interface SampleBatch {
  inputs: TensorData[];
  labels?: Int32Array;
  /** Samples in the whole run. */
  total: number;
}

async function* samplesFor(input: TensorInfo, interpreterName: string, options: PushOptions): AsyncGenerator<SampleBatch> {
  const spec = options.data!;
  const random = /^random(?::(\d+))?$/.exec(spec);
  if (random) {
    // Seeded raw tensor bytes: agreement needs no labels, and every input code is exercised.
    let state = Number(random[1] ?? 1) >>> 0 || 1;
    const total = options.limit ?? 100;
    for (let at = 0; at < total; at += BATCH) {
      const inputs: TensorData[] = [];
      for (let i = at; i < Math.min(total, at + BATCH); i++) {
        const raw = new Uint8Array(input.bytes);
        for (let k = 0; k < raw.length; k++) {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          raw[k] = state & 0xff;
        }
        inputs.push(fromBytes(raw, input));
      }
      yield { inputs, total };
    }
    return;
  }
  const datasetOptions: OpenDatasetOptions = { inputShape: input.shape.slice(1), limit: options.limit };
  if (options.inputScale !== undefined) datasetOptions.preprocessing = { scale: options.inputScale, offset: 0 };
  const dataset = await openDataset(spec, datasetOptions);
  const perSample = input.shape.reduce((a, b) => a * b, 1);
  for await (const batch of dataset.batches(BATCH)) {
    const inputs: TensorData[] = [];
    for (let i = 0; i < batch.size; i++) {
      inputs.push(encodeInput(batch.x.subarray(i * perSample, (i + 1) * perSample), input, `${interpreterName} sample ${batch.offset + i}`));
    }
    yield { inputs, labels: batch.y instanceof Int32Array ? batch.y : undefined, total: dataset.count };
  }
}

function asBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function fromBytes(bytes: Uint8Array, info: TensorInfo): TensorData {
  const copy = bytes.slice().buffer;
  switch (info.type) {
    case 'int8': return new Int8Array(copy);
    case 'uint8': return new Uint8Array(copy);
    case 'int16': return new Int16Array(copy);
    case 'int32': return new Int32Array(copy);
    case 'int64': return new BigInt64Array(copy);
    default: return new Float32Array(copy);
  }
}

/** Every output of a sample, dequantized and concatenated. */
function decodeAll(raw: Uint8Array, outputs: TensorInfo[]): Float32Array {
  const parts: Float32Array[] = [];
  let at = 0;
  for (const info of outputs) {
    parts.push(decodeOutput(fromBytes(raw.subarray(at, at + info.bytes), info), info));
    at += info.bytes;
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

function desktopOutputs(interpreter: Interpreter, input: TensorData): Uint8Array {
  interpreter.setInput(0, input);
  interpreter.invoke();
  const raws = interpreter.outputs.map((_, i) => asBytes(interpreter.getOutput(i)));
  const out = new Uint8Array(raws.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of raws) out.set(r, (o += r.length) - r.length);
  return out;
}

function checkAborted(signal: AbortSignal | undefined, port: string): void {
  if (signal?.aborted) {
    throw new DeviceError('DEVICE_CANCELLED', `push to ${port} was cancelled`, { hint: 'start it again when ready' });
  }
}

async function evaluateOnBoard(
  board: Board,
  model: Uint8Array,
  options: PushOptions,
  log: (line: string) => void,
  progress: (step: string, fraction: number | null) => void,
): Promise<NonNullable<PushResult['eval']>> {
  const interpreter = await Runtime.load(model, { name: options.model });
  try {
    if (interpreter.inputs.length !== 1) {
      throw new DeviceError('DEVICE_EVAL_UNSUPPORTED', `${options.model} has ${interpreter.inputs.length} inputs; evaluation on a board feeds single-input models`, {
        hint: 'use --bench for latency on multi-input models',
      });
    }
    const outputBytes = interpreter.outputs.reduce((n, t) => n + t.bytes, 0);
    const vsDesktop = new OutputComparer();
    const vsTruth = new OutputComparer();
    let samples = 0;
    let agreed = 0;
    let correct = 0;
    let desktopCorrect = 0;
    let labelled = 0;
    let us = 0;
    let cycles = 0;
    let mismatchCount = 0;
    const mismatches: SampleMismatch[] = [];
    for await (const batch of samplesFor(interpreter.inputs[0]!, interpreter.name, options)) {
      checkAborted(options.signal, board.port);
      const device = await board.evaluate(batch.inputs.map(asBytes), outputBytes);
      us += device.us;
      cycles += device.cycles;
      batch.inputs.forEach((input, i) => {
        const index = samples + i;
        const desktopRaw = desktopOutputs(interpreter, input);
        const deviceRaw = device.outputs[i]!;
        const deviceValues = decodeAll(deviceRaw, interpreter.outputs);
        const desktopValues = decodeAll(desktopRaw, interpreter.outputs);
        vsDesktop.add(deviceValues, desktopValues);
        const label = batch.labels?.[i];
        const devicePrediction = argmax(deviceValues);
        const desktopPrediction = argmax(desktopValues);
        if (label !== undefined) {
          labelled++;
          if (devicePrediction === label) correct++;
          if (desktopPrediction === label) desktopCorrect++;
          vsTruth.add(deviceValues, oneHot(label, deviceValues.length));
        }
        let differing = 0;
        for (let k = 0; k < deviceRaw.length; k++) if (deviceRaw[k] !== desktopRaw[k]) differing++;
        if (differing === 0 && deviceRaw.length === desktopRaw.length) agreed++;
        else {
          mismatchCount++;
          if (mismatches.length < 20) mismatches.push({ index, ...(label === undefined ? {} : { label }), devicePrediction, desktopPrediction, differingBytes: differing });
        }
      });
      samples += batch.inputs.length;
      progress('eval', batch.total ? samples / batch.total : null);
      log(`evaluated ${samples} samples`);
    }
    const accuracy = labelled ? correct / labelled : null;
    return {
      data: options.data!,
      samples,
      accuracy,
      desktopAccuracy: labelled ? desktopCorrect / labelled : null,
      agreement: samples ? agreed / samples : 1,
      mismatchCount,
      mismatches,
      meanUs: samples ? us / samples : 0,
      meanCycles: samples ? cycles / samples : 0,
      deviceVsDesktop: vsDesktop.result(),
      deviceVsTruth: labelled ? { acc: accuracy!, ...vsTruth.result() } : null,
    };
  } finally {
    interpreter.dispose();
  }
}
