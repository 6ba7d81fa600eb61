/**
 * The real TFLite runtime as a test reference.
 *
 * @tensorflow/tfjs-tflite@0.0.1-alpha.10 ships TFLite (the C++ interpreter and its kernels)
 * compiled to WebAssembly in its `wasm/` folder, driven by `wasm/tflite_web_api_client.js`
 * (global `tfweb`). The client needs `window.location` and `document` to load the wasm, so it
 * does not run in plain Node; it runs in headless Chromium. We call the client's
 * `TFLiteWebModelRunner` directly rather than tfjs-tflite's TFLiteModel wrapper: the wrapper
 * needs an old tfjs-core and reports int8 tensors as int32, while the runner exposes each
 * tensor's own type and memory, so int8 inputs and outputs stay Int8Array here.
 *
 * XNNPACK cannot be turned off. All four wasm builds in the package (plain, SIMD, threaded,
 * SIMD+threaded) contain the delegate, and the runner's options are only `numThreads`,
 * `enableProfiling` and `maxProfilingBufferEntries`; with numThreads -1, 0 or 1 the profile
 * still shows "TfLiteXNNPackDelegate" nodes. XNNPACK takes float ops and int8 CONV_2D,
 * DEPTHWISE_CONV_2D, FULLY_CONNECTED and ADD; int8 AVERAGE_POOL_2D, RESHAPE and SOFTMAX stay
 * on TFLite's builtin kernels (seen in the kws profile). XNNPACK requantises with its own
 * arithmetic, so an int8 result that sits on a rounding tie may differ by one from TFLite's
 * reference kernels (and from a runtime that follows them bit for bit); compare int8 outputs
 * with a tolerance of one and report how many differ. `profile: true` returns the node types
 * that ran; one "TfLiteXNNPackDelegate" node stands for all the ops it took in a partition.
 * Threads: the page is not cross-origin isolated, so the client loads the single-threaded
 * SIMD build; results do not depend on scheduling.
 */
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, missingChromium } from './browser';
import { repoRoot } from './cli';

export type TypedArray =
  Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

const wasmDir = path.join(repoRoot, 'node_modules', '@tensorflow', 'tfjs-tflite', 'wasm');

export interface ReferenceOptions {
  /** Passed to TFLiteWebModelRunner; -1 lets TFLite choose. */
  numThreads?: number;
  /** Collects per-node profiling (which kernels, including the XNNPACK delegate node, ran). */
  profile?: boolean;
}

export interface ReferenceTensorInfo {
  name: string;
  dataType: string;
  shape: number[];
}

export interface ReferenceResult {
  inputs: ReferenceTensorInfo[];
  outputs: ReferenceTensorInfo[];
  /** One entry per sample: the model's outputs, in subgraph output order. */
  results: TypedArray[][];
  /** Wall time of each sample's infer() call in the page, in milliseconds (for benchmarks). */
  inferMs: number[];
  /** Node types that ran, in order, when `profile` was set. */
  profile?: string[];
}

/** A skip reason when the reference runtime cannot run here (no chromium, package not installed). */
export function missingTfliteReference(): string | false {
  const chromium = missingChromium();
  if (chromium) return chromium;
  if (!existsSync(path.join(wasmDir, 'tflite_web_api_client.js'))) {
    return `@tensorflow/tfjs-tflite is not installed (${wasmDir} missing)`;
  }
  return false;
}

const arrayTypes: Record<string, new (buffer: ArrayBuffer) => TypedArray> = {
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** One Chromium and one local HTTP server serving the TFLite wasm files; reuse it for many models. */
export class TfliteReference {
  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
    private readonly server: Server,
    readonly log: string[],
  ) {}

  static async start(): Promise<TfliteReference> {
    const server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/') {
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!doctype html><title>tflite reference</title>');
        return;
      }
      const name = url.pathname.replace(/^\/wasm\//, '');
      if (!/^[\w.]+$/.test(name) || !url.pathname.startsWith('/wasm/')) {
        res.writeHead(404).end();
        return;
      }
      try {
        const body = await readFile(path.join(wasmDir, name));
        const type = name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
        res.writeHead(200, { 'content-type': type }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const browser = await launchChromium();
    const page = await browser.newPage();
    const log: string[] = [];
    page.on('console', (m) => log.push(m.text()));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.addScriptTag({ url: '/wasm/tflite_web_api_client.js' });
    await page.addScriptTag({ content: pageScript });
    return new TfliteReference(browser, page, server, log);
  }

  /**
   * Loads `model` once and runs every sample through it. A sample is one typed array per
   * model input (a single-input model may take the array itself); its element type must
   * match the input tensor type (Int8Array for int8, Float32Array for float32).
   */
  async run(
    model: Uint8Array,
    samples: Array<TypedArray | TypedArray[]>,
    options: ReferenceOptions = {},
  ): Promise<ReferenceResult> {
    const encoded = samples.map((s) => (Array.isArray(s) ? s : [s]).map(toBase64));
    const args = {
      model: toBase64(model),
      samples: encoded,
      numThreads: options.numThreads ?? -1,
      profile: options.profile ?? false,
    };
    const raw = (await this.page.evaluate(
      (a) =>
        (globalThis as unknown as { qbRunReference(x: unknown): Promise<unknown> }).qbRunReference(
          a,
        ),
      args,
    )) as PageResult;
    const info = (t: PageTensorInfo): ReferenceTensorInfo => ({
      name: t.name,
      dataType: t.dataType,
      shape: t.shape === '' ? [] : t.shape.split(',').map(Number),
    });
    const outputs = raw.outputs.map(info);
    return {
      inputs: raw.inputs.map(info),
      outputs,
      results: raw.results.map((sample) =>
        sample.map((b64, i) => {
          const Ctor = arrayTypes[outputs[i].dataType];
          if (!Ctor)
            throw new Error(
              `reference output ${outputs[i].name} has unsupported type ${outputs[i].dataType}`,
            );
          const bytes = Buffer.from(b64, 'base64');
          return new Ctor(
            bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
          );
        }),
      ),
      inferMs: raw.inferMs,
      profile: raw.profile,
    };
  }

  async close(): Promise<void> {
    await this.browser.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface PageTensorInfo {
  name: string;
  dataType: string;
  shape: string;
}

interface PageResult {
  inputs: PageTensorInfo[];
  outputs: PageTensorInfo[];
  results: string[][];
  inferMs: number[];
  profile?: string[];
}

/**
 * Runs inside the page. Plain JavaScript on purpose: functions handed to page.evaluate from
 * TypeScript pick up helpers of the Node-side transpiler that do not exist in the page.
 * Tensors travel as base64 of their little-endian bytes.
 */
const pageScript = `
tfweb.tflite_web_api.setWasmPath('/wasm/');
const decode = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const encode = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
const bytesOf = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
const describe = (t) => ({ name: t.name, dataType: t.dataType, shape: t.shape });
window.qbRunReference = async ({ model, samples, numThreads, profile }) => {
  const runner = await tfweb.TFLiteWebModelRunner.create(decode(model).buffer, { numThreads, enableProfiling: profile });
  try {
    const inputs = runner.getInputs();
    const outputs = runner.getOutputs();
    const results = [];
    const inferMs = [];
    for (const sample of samples) {
      if (sample.length !== inputs.length) throw new Error('sample has ' + sample.length + ' inputs, model has ' + inputs.length);
      sample.forEach((b64, i) => {
        const dst = bytesOf(inputs[i].data());
        const src = decode(b64);
        if (src.byteLength !== dst.byteLength) {
          throw new Error('input ' + i + ' (' + inputs[i].name + ') takes ' + dst.byteLength + ' bytes, sample has ' + src.byteLength);
        }
        dst.set(src);
      });
      const t0 = performance.now();
      if (!runner.infer()) throw new Error('TFLite infer() failed');
      inferMs.push(performance.now() - t0);
      results.push(outputs.map((o) => encode(bytesOf(o.data()))));
    }
    const nodes = profile ? runner.getProfilingResults().map((p) => p.nodeType) : undefined;
    return { inputs: inputs.map(describe), outputs: outputs.map(describe), results, inferMs, profile: nodes };
  } finally {
    runner.cleanUp();
  }
};
`;

function toBase64(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

let shared: Promise<TfliteReference> | undefined;

/**
 * Runs `samples` through the real TFLite runtime and returns each sample's outputs. Starts one
 * shared Chromium on first use; call `closeTfliteReference()` in `after`.
 */
export async function runTfliteReference(
  model: Uint8Array,
  samples: Array<TypedArray | TypedArray[]>,
  options: ReferenceOptions = {},
): Promise<TypedArray[][]> {
  shared ??= TfliteReference.start();
  return (await (await shared).run(model, samples, options)).results;
}

export async function closeTfliteReference(): Promise<void> {
  if (!shared) return;
  const ref = shared;
  shared = undefined;
  await (await ref).close();
}
