import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Reads an HDF5 file into plain objects in a worker thread. libhdf5 (compiled to wasm by h5wasm)
 * can loop forever or ask for gigabytes on a corrupt file; in a worker that is a timeout and a
 * terminated thread instead of a frozen app. The worker is a script string so it also runs from
 * a bundle, where no .ts file sits beside this one.
 */

export interface H5DatasetSnapshot {
  shape: number[];
  /** Float32 copy of a numeric dataset; null for strings and other non-numeric types. */
  values: Float32Array | null;
}

export interface H5GroupSnapshot {
  attrs: Record<string, unknown>;
  groups: Record<string, H5GroupSnapshot>;
  datasets: Record<string, H5DatasetSnapshot>;
}

export class H5ReadError extends Error {}

export interface SnapshotOptions {
  /** Group names skipped wherever they occur (optimizer state is as large as the model and unused). */
  skip?: string[];
  timeoutMs?: number;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
function problem(error) {
  const text = error && error.message ? error.message : String(error);
  const frames = [...text.matchAll(/#\\d+: .* in \\w+\\(\\)(?:: )?(.*)$/gm)].map((m) => m[1].trim()).filter(Boolean);
  const innermost = frames[frames.length - 1];
  if (!innermost) return text.split('\\n')[0].slice(0, 200);
  const t = /truncated file: eof = (\\d+).*stored_eof = (\\d+)/.exec(innermost);
  return t ? 'the file is truncated (' + t[1] + ' of ' + t[2] + ' bytes present)' : innermost;
}
const ready = (async () => {
  const { default: h5wasm } = await import(workerData.h5wasmUrl);
  const Module = await h5wasm.ready;
  Module.activate_throwing_error_handler();
  return h5wasm;
})();
function snapshot(h5wasm, { file, skip, maxBytes }) {
  const transfer = [];
  let total = 0;
  const attrs = (entity) => {
    const out = {};
    for (const [name, attr] of Object.entries(entity.attrs)) out[name] = attr.value;
    return out;
  };
  const walk = (group, where) => {
    const node = { attrs: attrs(group), groups: {}, datasets: {} };
    for (const key of group.keys()) {
      if (skip.includes(key)) continue;
      const child = group.get(key);
      if (child instanceof h5wasm.Group) node.groups[key] = walk(child, where + key + '/');
      else if (child instanceof h5wasm.Dataset) {
        const shape = (child.shape || []).map(Number);
        const meta = child.metadata;
        const numeric = meta.type === 0 || meta.type === 1;
        const bytes = shape.reduce((a, b) => a * b, 1) * (meta.size || 1);
        total += bytes;
        if (total > maxBytes) throw new Error('dataset ' + where + key + ' claims ' + bytes + ' bytes, more than the file can hold');
        let values = null;
        if (numeric) {
          const raw = child.value;
          values = raw instanceof Float32Array ? raw : Float32Array.from(ArrayBuffer.isView(raw) ? raw : [raw], Number);
          transfer.push(values.buffer);
        }
        node.datasets[key] = { shape, values };
      }
    }
    return node;
  };
  const f = new h5wasm.File(file, 'r');
  try {
    return { root: walk(f, '/'), transfer };
  } finally {
    try { f.close(); } catch {}
  }
}
parentPort.on('message', async (request) => {
  try {
    const h5wasm = await ready;
    const { root, transfer } = snapshot(h5wasm, request);
    parentPort.postMessage({ id: request.id, ok: true, root }, transfer);
  } catch (error) {
    parentPort.postMessage({ id: request.id, ok: false, message: problem(error) });
  }
});
`;

/** Most files parse in milliseconds; allow 1 s per 5 MB on top of a generous floor. */
function defaultTimeout(bytes: number): number {
  const fromEnv = Number(process.env.QUANTBENCH_H5_TIMEOUT_MS);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv;
  return 20_000 + Math.ceil(bytes / 5e6) * 1000;
}

type Reply =
  { id: number; ok: true; root: H5GroupSnapshot } | { id: number; ok: false; message: string };

/**
 * One reader thread, kept between imports (starting libhdf5 costs far more than reading a
 * model) and replaced when a read times out. Reads are queued one at a time.
 */
let worker: Worker | undefined;
let nextId = 0;
let queue: Promise<unknown> = Promise.resolve();

function readerThread(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { h5wasmUrl: import.meta.resolve('h5wasm/node') },
  });
  // Pending reads hold their own timers; an idle reader must not keep the process alive.
  w.unref();
  const forget = () => {
    if (worker === w) worker = undefined;
  };
  w.once('exit', forget);
  w.once('error', forget);
  worker = w;
  return w;
}

function readOnce(file: string, options: SnapshotOptions): Promise<H5GroupSnapshot> {
  const size = statSync(file).size;
  const timeoutMs = options.timeoutMs ?? defaultTimeout(size);
  const w = readerThread();
  const id = nextId++;
  return new Promise<H5GroupSnapshot>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const timer = setTimeout(() => {
      done();
      if (worker === w) worker = undefined;
      void w.terminate();
      reject(
        new H5ReadError(
          `reading it did not finish within ${Math.round(timeoutMs / 1000)} s, so its structure is corrupt`,
        ),
      );
    }, timeoutMs);
    const onMessage = (m: Reply) => {
      if (m.id !== id) return;
      done();
      if (m.ok) resolve(m.root);
      else reject(new H5ReadError(m.message));
    };
    const onError = (error: Error) => {
      done();
      reject(new H5ReadError(error.message.split('\n')[0]!));
    };
    const onExit = (code: number) => {
      done();
      reject(new H5ReadError(`the HDF5 reader stopped (exit code ${code})`));
    };
    w.on('message', onMessage);
    w.once('error', onError);
    w.once('exit', onExit);
    // Keras files are uncompressed; a dataset far larger than the file is a corrupt header.
    w.postMessage({ id, file, skip: options.skip ?? [], maxBytes: size * 8 + (1 << 20) });
  });
}

export function readH5Snapshot(
  file: string,
  options: SnapshotOptions = {},
): Promise<H5GroupSnapshot> {
  const result = queue.then(() => readOnce(file, options));
  queue = result.catch(() => undefined);
  return result;
}

/** Same for bytes held in memory (the weights inside a .keras zip). */
export async function readH5SnapshotFromBytes(
  bytes: Uint8Array,
  options: SnapshotOptions = {},
): Promise<H5GroupSnapshot> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quantbench-h5-'));
  const file = path.join(dir, 'weights.h5');
  try {
    writeFileSync(file, bytes);
    return await readH5Snapshot(file, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Follows a `/`-separated path (Keras 2 weight names such as `dense/kernel:0`) to a dataset. */
export function datasetAt(group: H5GroupSnapshot, name: string): H5DatasetSnapshot | undefined {
  const parts = name.split('/').filter(Boolean);
  let node: H5GroupSnapshot | undefined = group;
  for (const part of parts.slice(0, -1)) node = node?.groups[part];
  return node?.datasets[parts.at(-1) ?? ''];
}
