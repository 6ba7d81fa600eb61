/**
 * The int8 half of `quantbench compress`'s evaluate stage, old way against new, and then the
 * whole stage before and after, in one process on the same exported model and the same
 * Fashion-MNIST test images. Prints JSON.
 *
 *   node --import tsx bench/compress-evaluate.ts [--model FILE] [--samples N] [--rounds R]
 *     [--stage-rounds R] [--before-wasm FILE]
 *
 * Old: one Interpreter, setInput / invoke / getOutput per sample (what run.ts did before).
 * New: BatchRunner on 256-sample batches, with one thread and with one thread per core
 * (compress itself takes fewer when other work keeps cores busy). Rounds alternate the order
 * of the three so that load from other processes hits each alike; the figure is the median
 * seconds per pass over the samples.
 * Every pass must give the same accuracy, checked here. --model defaults to the sample's
 * int8 export (bench/sample-int8.ts); pass the model.tflite of a compress run to time the
 * recipe's own export (the one the issue names: prune50-cluster16-int8-keep-rescaling-float).
 *
 * The stage (--stage-rounds, default 2; 0 skips it): the sample's float model with tfjs and
 * the int8 model in the runtime on the same samples, as compress does. Before: tfjs's own
 * wasm FusedBatchNorm, the float half and then the int8 half (the calling thread taking a
 * share of each batch), with the runtime build --before-wasm names (say, a
 * qb_runtime_simd.wasm built from a commit before the float-island kernels; default the
 * current one). After: evaluateFloatAndInt8, compress's own stage. Rounds alternate the
 * order; both ways must give the same float and int8 figures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  FusedBatchNorm,
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
} from '@tensorflow/tfjs';
import { evaluateFloatAndInt8, evaluateInt8 } from '../core/compress/evaluate-int8';
import { openDataset } from '../core/data/index';
import { evaluateFloat } from '../core/eval/index';
import { loadModel } from '../core/model/index';
import { initBackend } from '../core/train/backend';
import { replacedWasmKernels } from '../core/train/wasm-kernels';
import { argmaxRows } from '../core/eval/metrics';
import {
  BatchRunner,
  Runtime,
  decodeOutput,
  defaultEvaluationThreads,
  encodeInput,
} from '../core/runtime';
import { sampleInt8Export } from './sample-int8';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    samples: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
    'stage-rounds': { type: 'string', default: '2' },
    'before-wasm': { type: 'string' },
    'float-model': {
      type: 'string',
      default: path.join(
        import.meta.dirname,
        '..',
        'resources',
        'samples',
        'fashion-mnist-cnn.keras',
      ),
    },
  },
});
const work = mkdtempSync(path.join(os.tmpdir(), 'qb-bench-eval-'));
try {
  const file = values.model ?? sampleInt8Export(work);
  const bytes = new Uint8Array(readFileSync(file));
  const probe = await Runtime.load(bytes, { name: file });
  const inputShape = probe.inputs[0].shape.slice(1);
  const data = await openDataset('fashion-mnist:test', {
    inputShape,
    limit: Number(values.samples),
  });
  const batches: Array<{ x: Float32Array; y: Int32Array; size: number }> = [];
  for await (const b of data.batches(256))
    batches.push({ x: b.x.slice(), y: Int32Array.from(b.y), size: b.size });
  const size = inputShape.reduce((a, b) => a * b, 1);

  const perSample = async () => {
    const interpreter = await Runtime.load(bytes, { name: file });
    let correct = 0;
    for (const b of batches)
      for (let i = 0; i < b.size; i++) {
        const x = b.x.subarray(i * size, (i + 1) * size);
        interpreter.setInput(0, encodeInput(x, interpreter.inputs[0], 'sample'));
        interpreter.invoke();
        const out = decodeOutput(interpreter.getOutput(0), interpreter.outputs[0]);
        if (argmaxRows(out, 1, out.length)[0] === b.y[i]) correct++;
      }
    interpreter.dispose();
    return correct;
  };
  const batched = (threads: number) => async () => {
    const runner = await BatchRunner.create(bytes, { name: file, threads });
    const classes = runner.output.shape.reduce((a, b) => a * b, 1);
    let correct = 0;
    for (const b of batches) {
      const predicted = argmaxRows(await runner.run(b.x, b.size), b.size, classes);
      for (let i = 0; i < b.size; i++) if (predicted[i] === b.y[i]) correct++;
    }
    await runner.close();
    return correct;
  };
  const threads = os.availableParallelism();
  const ways: Array<[string, () => Promise<number>]> = [
    ['perSample', perSample],
    ['batch1Thread', batched(1)],
    [`batch${threads}Threads`, batched(threads)],
  ];
  const seconds = new Map<string, number[]>(ways.map(([n]) => [n, []]));
  const correct = new Set<number>();
  for (let r = 0; r < Number(values.rounds); r++) {
    const order = r % 2 === 0 ? ways : [...ways].reverse();
    for (const [name, fn] of order) {
      const t0 = performance.now();
      correct.add(await fn());
      seconds.get(name)!.push((performance.now() - t0) / 1000);
    }
  }
  if (correct.size !== 1) throw new Error(`accuracy differs between ways: ${[...correct]}`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(seconds.get('perSample')!);

  // The whole stage, before and after.
  const stageRounds = Number(values['stage-rounds']);
  const stage: Record<string, number[]> = { before: [], after: [] };
  const figures = new Set<string>();
  if (stageRounds > 0) {
    const backend = await initBackend();
    const floatModel = (await loadModel(values['float-model'])).model;
    const classes = 10;
    const ours = getKernel(FusedBatchNorm, 'wasm');
    const theirs = replacedWasmKernels.get(FusedBatchNorm);
    const useKernel = (k: KernelConfig | undefined) => {
      if (!k) return;
      unregisterKernel(FusedBatchNorm, 'wasm');
      registerKernel(k);
    };
    const before = async () => {
      if (backend === 'wasm') useKernel(theirs);
      const forced = process.env.QUANTBENCH_RUNTIME_WASM;
      if (values['before-wasm']) process.env.QUANTBENCH_RUNTIME_WASM = values['before-wasm'];
      try {
        const f = await evaluateFloat(floatModel, data);
        const i = await evaluateInt8(bytes, data, { name: file, classes });
        return JSON.stringify([f.task === 'classification' ? f.accuracy : f.mse, i.metric]);
      } finally {
        if (forced === undefined) delete process.env.QUANTBENCH_RUNTIME_WASM;
        else process.env.QUANTBENCH_RUNTIME_WASM = forced;
        if (backend === 'wasm') useKernel(ours);
      }
    };
    const after = async () => {
      const r = await evaluateFloatAndInt8(floatModel, bytes, data, { name: file, classes });
      return JSON.stringify([
        r.float.task === 'classification' ? r.float.accuracy : r.float.mse,
        r.int8.metric,
      ]);
    };
    for (let r = 0; r < stageRounds; r++) {
      const order: Array<['before' | 'after', () => Promise<string>]> = [
        ['before', before],
        ['after', after],
      ];
      for (const [name, fn] of r % 2 === 0 ? order : order.reverse()) {
        const t0 = performance.now();
        figures.add(await fn());
        stage[name].push((performance.now() - t0) / 1000);
      }
    }
    if (figures.size !== 1)
      throw new Error(`the stage's figures differ before and after: ${[...figures]}`);
  }
  console.log(
    JSON.stringify(
      {
        bench: 'compress-evaluate',
        model: file,
        runtime: `${probe.runtime.path} (${probe.runtime.build})`,
        samples: data.count,
        rounds: Number(values.rounds),
        cores: os.availableParallelism(),
        defaultEvaluationThreadsNow: defaultEvaluationThreads(),
        loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
        accuracy: [...correct][0] / data.count,
        results: ways.map(([name]) => ({
          way: name,
          medianSeconds: Number(median(seconds.get(name)!).toFixed(3)),
          speedupOverPerSample: Number((base / median(seconds.get(name)!)).toFixed(3)),
        })),
        ...(stageRounds > 0
          ? {
              stage: {
                floatModel: values['float-model'],
                beforeRuntime: values['before-wasm'] ?? 'the current build',
                figures: JSON.parse([...figures][0]!),
                rounds: stageRounds,
                beforeSeconds: stage.before.map((v) => Number(v.toFixed(2))),
                afterSeconds: stage.after.map((v) => Number(v.toFixed(2))),
                speedup: Number((median(stage.before) / median(stage.after)).toFixed(2)),
              },
            }
          : {}),
      },
      null,
      2,
    ),
  );
  probe.dispose();
} finally {
  rmSync(work, { recursive: true, force: true });
}
