/**
 * int8 inference speed of our runtime's wasm build against the real TFLite runtime compiled
 * to wasm (tfjs-tflite's TFLiteWebModelRunner, XNNPACK, single-threaded SIMD build), both
 * inside one headless Chromium page, on the same model bytes and the same input. Prints one
 * JSON document with per-model medians and the ratio.
 *
 *   node --import tsx bench/runtime-wasm.ts [--rounds N] [--build auto|simd|plain] [--sample FILE]
 *
 * Method: the page instantiates our .wasm (the build core/runtime would pick, or the one
 * forced with --build) and loads the model into both runtimes once. Each round then times a
 * block of inferences of one runtime and a block of the other with performance.now(),
 * swapping which goes first every round, so drift in clock speed or background load hits
 * both alike. An inference is what a caller does per sample: copy the input into the
 * runtime's input tensor, then invoke (outputs are read in place by both, so not timed).
 * A block is sized to last about 20 ms so the page timer's coarse resolution does not
 * matter; the figure per runtime is the median over rounds of block time / block size.
 * Each runtime first runs for a second (V8 tiers wasm up from its baseline compiler).
 * Before timing, both runtimes run the input once and the bench checks that their int8
 * outputs agree to within one step (XNNPACK rounds some ties differently).
 *
 * Models: ResNet-8, DS-CNN KWS and ad01 from ../shared/models, and the sample model's int8
 * export (resources/samples/fashion-mnist-cnn.keras through the `int8` preset, written to
 * a temp dir; or --sample FILE to take an existing .tflite).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chooseRuntimeBuild, type RuntimeBuild } from '../core/runtime';
import { readTflite } from '../core/tflite';
import { launchChromium } from '../tests/helpers/browser';
import { missingTfliteReference } from '../tests/helpers/tflite-reference';
import { sampleInt8Export } from './sample-int8';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modelsDir = path.resolve(
  process.env.QUANTBENCH_SHARED_MODELS ?? path.join(root, '..', 'shared', 'models'),
);
const tfliteWasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-tflite', 'wasm');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '31' },
    build: { type: 'string', default: 'auto' },
    sample: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const ours = chooseRuntimeBuild(values.build as RuntimeBuild);

const skip = missingTfliteReference();
if (skip) throw new Error(`cannot run the bench: ${skip}`);
if (!existsSync(ours.path)) throw new Error(`${ours.path} missing: run npm run build:firmware`);

/** The bytes of one input: int8 noise, or floats in [0, 1) for a float input (the sample's). */
function input(file: string, seed: number): Uint8Array {
  const g = readTflite(new Uint8Array(readFileSync(file))).subgraphs[0];
  const t = g.tensors[g.inputs[0]];
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.type === 'float32')
    return new Uint8Array(
      Float32Array.from({ length: count }, (_, i) => ((i * 37 + seed) % 255) / 255).buffer,
    );
  if (t.type !== 'int8') throw new Error(`${file}: input type ${t.type} is not benchmarked`);
  return Uint8Array.from({ length: count }, (_, i) => ((i + 1) * 2654435761 + seed) >>> 24);
}

/**
 * Runs in the page (plain JavaScript: the Node-side transpiler's helpers do not exist there).
 * Drives our runtime through the same C exports core/runtime uses.
 */
const pageScript = `
tfweb.tflite_web_api.setWasmPath('/tflite/');
window.qbCompare = async ({ modelUrl, oursUrl, input, rounds }) => {
  const model = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const x = Uint8Array.from(atob(input), (c) => c.charCodeAt(0));
  const { instance } = await WebAssembly.instantiateStreaming(fetch(oursUrl), {});
  const e = instance.exports;
  const mem = () => new Uint8Array(e.memory.buffer);
  e.qb_wasm_reset();
  const it = e.qb_wasm_alloc(e.qb_interpreter_size());
  const mp = e.qb_wasm_alloc(model.length);
  mem().set(model, mp);
  if (e.qb_load(it, mp, model.length) !== 0) throw new Error('our runtime did not load the model');
  const arenaBytes = Math.max(e.qb_arena_required(it), 16);
  if (e.qb_set_arena(it, e.qb_wasm_alloc(arenaBytes), arenaBytes) !== 0) throw new Error('arena');
  const info = e.qb_wasm_alloc(e.qb_wasm_info_bytes());
  e.qb_output_info(it, 0, info);
  const outBytes = new DataView(e.memory.buffer).getUint32(info + 32, true);
  const ip = e.qb_wasm_alloc(x.length);
  const op = e.qb_wasm_alloc(outBytes);
  mem().set(x, ip);
  const oursOnce = () => {
    if (e.qb_set_input(it, 0, ip, x.length) !== 0) throw new Error('set input');
    if (e.qb_invoke(it) !== 0) throw new Error('invoke');
  };

  const runner = await tfweb.TFLiteWebModelRunner.create(model.slice().buffer, { numThreads: 1 });
  const tin = runner.getInputs()[0];
  const tout = runner.getOutputs()[0];
  if (tin.data().byteLength !== x.length) throw new Error('TFLite input takes ' + tin.data().byteLength + ' bytes');
  const tfliteOnce = () => {
    const d = tin.data();
    new Uint8Array(d.buffer, d.byteOffset, d.byteLength).set(x);
    if (!runner.infer()) throw new Error('TFLite infer() failed');
  };

  oursOnce();
  e.qb_get_output(it, 0, op, outBytes);
  tfliteOnce();
  const ro = new Int8Array(e.memory.buffer, op, outBytes);
  const rt = tout.data();
  let maxDiff = 0;
  if (tout.dataType === 'int8') for (let i = 0; i < ro.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ro[i] - rt[i]));
  else {
    const a = new Float32Array(e.memory.buffer, op, outBytes / 4);
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - rt[i]));
  }

  const perCall = (fn, ms = 100) => {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) { fn(); n++; }
    return (performance.now() - t0) / n;
  };
  // V8 first runs wasm from its baseline compiler and tiers hot functions up to the
  // optimizing one after a while; a second of calls lets both runtimes reach their top tier.
  perCall(oursOnce, 1000);
  perCall(tfliteOnce, 1000);
  // Tier-up finishes on a background thread; the fastest of a few probes is the settled speed.
  const settled = (fn) => Math.min(perCall(fn), perCall(fn), perCall(fn));
  const oursBlock = Math.max(3, Math.ceil(20 / settled(oursOnce)));
  const tfliteBlock = Math.max(3, Math.ceil(20 / settled(tfliteOnce)));
  const time = (fn, n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (performance.now() - t0) / n;
  };
  const oursMs = [];
  const tfliteMs = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      oursMs.push(time(oursOnce, oursBlock));
      tfliteMs.push(time(tfliteOnce, tfliteBlock));
    } else {
      tfliteMs.push(time(tfliteOnce, tfliteBlock));
      oursMs.push(time(oursOnce, oursBlock));
    }
  }
  runner.cleanUp();
  return { oursMs, tfliteMs, oursBlock, tfliteBlock, maxDiff, outputType: tout.dataType };
};
`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const work = mkdtempSync(path.join(os.tmpdir(), 'qb-bench-wasm-'));
const models: Array<{ name: string; file: string }> = [
  {
    name: 'pretrainedResnet_quant.tflite',
    file: path.join(modelsDir, 'pretrainedResnet_quant.tflite'),
  },
  { name: 'kws_ref_model.tflite', file: path.join(modelsDir, 'kws_ref_model.tflite') },
  { name: 'ad01_int8.tflite', file: path.join(modelsDir, 'ad01_int8.tflite') },
];
const files = new Map<string, string>();
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  let file: string | undefined;
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title>');
    return;
  }
  if (url.pathname.startsWith('/tflite/') && /^[\w.]+$/.test(url.pathname.slice(8)))
    file = path.join(tfliteWasmDir, url.pathname.slice(8));
  else file = files.get(url.pathname);
  if (!file || !existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  const type = file.endsWith('.wasm')
    ? 'application/wasm'
    : file.endsWith('.js')
      ? 'text/javascript'
      : 'application/octet-stream';
  res.writeHead(200, { 'content-type': type }).end(readFileSync(file));
});
try {
  const sample = values.sample ?? sampleInt8Export(work);
  models.push({ name: 'fashion-mnist-cnn int8 export', file: sample });
  files.set('/ours.wasm', ours.path);
  models.forEach((m, i) => files.set(`/model/${i}.tflite`, m.file));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const browser = await launchChromium();
  const results = [];
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.addScriptTag({ url: '/tflite/tflite_web_api_client.js' });
    await page.addScriptTag({ content: pageScript });
    for (const [i, m] of models.entries()) {
      const bytes = input(m.file, i);
      const r = (await page.evaluate(
        (a) => (globalThis as unknown as { qbCompare(x: unknown): Promise<unknown> }).qbCompare(a),
        {
          modelUrl: `/model/${i}.tflite`,
          oursUrl: '/ours.wasm',
          input: Buffer.from(bytes).toString('base64'),
          rounds,
        },
      )) as {
        oursMs: number[];
        tfliteMs: number[];
        oursBlock: number;
        tfliteBlock: number;
        maxDiff: number;
        outputType: string;
      };
      const oursMs = median(r.oursMs);
      const tfliteMs = median(r.tfliteMs);
      results.push({
        model: m.name,
        oursMsMedian: Number(oursMs.toFixed(4)),
        tfliteMsMedian: Number(tfliteMs.toFixed(4)),
        ratioOursOverTfliteSpeed: Number((tfliteMs / oursMs).toFixed(3)),
        oursMsRange: [Math.min(...r.oursMs), Math.max(...r.oursMs)].map((x) =>
          Number(x.toFixed(4)),
        ),
        tfliteMsRange: [Math.min(...r.tfliteMs), Math.max(...r.tfliteMs)].map((x) =>
          Number(x.toFixed(4)),
        ),
        inferencesPerBlock: { ours: r.oursBlock, tflite: r.tfliteBlock },
        outputMaxDiff: r.maxDiff,
        outputType: r.outputType,
      });
    }
  } finally {
    await browser.close();
  }
  console.log(
    JSON.stringify(
      {
        bench: 'runtime-wasm',
        page: 'one headless Chromium page, both runtimes, A/B alternating blocks',
        ours: `${path.relative(root, ours.path)} (${ours.build} build)`,
        tflite:
          'tfjs-tflite 0.0.1-alpha.10 TFLiteWebModelRunner (XNNPACK delegate, single-threaded SIMD build), numThreads 1',
        rounds,
        ratio: 'TFLite ms / ours ms per inference (above 1: ours faster)',
        results,
      },
      null,
      2,
    ),
  );
} finally {
  server.close();
  rmSync(work, { recursive: true, force: true });
}
