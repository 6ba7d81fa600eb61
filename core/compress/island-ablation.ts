import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../data/index';
import type { FloatIsland } from '../fit/fit-report';
import { formatError } from '../errors';
import { evaluateInt8 } from './evaluate-int8';
import { exportTflite } from './export-tflite';
import type { CompressProgress, CompressResult } from './pipeline';
import type { PolicyDecision } from './policy';
import { quantizeGraph } from './quantize';
import type { QuantizeStep } from './recipe';

export interface IslandAblationInput {
  result: CompressResult;
  step: QuantizeStep;
  recipeName: string;
  islands: FloatIsland[];
  /** The run's own int8 accuracy on `data`: every island float. */
  accuracy: number;
  data: Dataset;
  classes: number;
  /** Folder the ablated models are written to. */
  dir: string;
  progress: (p: CompressProgress) => void;
  signal?: AbortSignal;
  /** Threads for the evaluations, this one included (default: the idle cores). */
  threads?: number;
}

/** The policy map with `layers` int8 and every other decision as it was. */
function withInt8(policies: Map<string, PolicyDecision>, layers: string[]): Map<string, PolicyDecision> {
  const out = new Map(policies);
  for (const l of layers) out.set(l, { policy: 'int8', reason: 'float island ablation: quantized int8 to measure what float buys' });
  return out;
}

/**
 * What each float island buys in accuracy, by measurement: the run's graph is quantized again
 * with that island's layers int8 (the calibration, weights and every other policy unchanged),
 * exported, and scored on the run's evaluation samples with the runtime that scored the run.
 * Returns the islands with accuracyBought filled in; islands the policy did not create
 * (float for another reason) are left unmeasured with a note saying so.
 */
export async function measureIslandAccuracy(input: IslandAblationInput): Promise<FloatIsland[]> {
  const { result, data, progress } = input;
  const samples = `${data.count} samples of ${data.name}`;
  // A model left by an earlier run into the same folder would pass for one of this run's.
  if (existsSync(input.dir))
    for (const f of readdirSync(input.dir)) if (/^island-\d+\.tflite$/.test(f)) rmSync(path.join(input.dir, f));
  const out: FloatIsland[] = [];
  for (const [index, island] of input.islands.entries()) {
    input.signal?.throwIfAborted();
    const chosen = island.layers.filter((l) => result.policies.get(l)?.policy === 'float');
    if (!chosen.length) {
      out.push({ ...island, accuracyNote: 'not measured: no layer of this island is float by the quantize policy' });
      continue;
    }
    const label = chosen.join(', ');
    const step = (done: number, total: number) =>
      progress({
        stage: 'islands',
        fraction: (index + done / Math.max(1, total)) / input.islands.length,
        message: `${label} int8`,
      });
    step(0, 1);
    try {
      const model = quantizeGraph(result.graph, withInt8(result.policies, chosen), result.calibration!, input.step);
      const bytes = exportTflite(model, `Quantbench ${input.recipeName}, float island ${label} int8`);
      mkdirSync(input.dir, { recursive: true });
      const file = path.join(input.dir, `island-${index + 1}.tflite`);
      writeFileSync(file, bytes);
      const scored = await evaluateInt8(bytes, data, {
        name: file,
        classes: input.classes,
        signal: input.signal,
        threads: input.threads,
        onBatch: step,
      });
      const accuracyIslandInt8 = scored.metric.accuracy!;
      out.push({
        ...island,
        accuracyBought: input.accuracy - accuracyIslandInt8,
        accuracyIslandInt8,
        accuracyIslandFloat: input.accuracy,
        accuracySamples: scored.metric.samples,
        islandInt8Model: file,
        accuracyNote: `int8 accuracy with ${label} float less with ${label} int8 (${path.basename(file)}), same calibration, on ${samples} in the wasm runtime`,
      });
    } catch (error) {
      if (input.signal?.aborted) throw error;
      out.push({ ...island, accuracyNote: `not measured: quantizing ${label} int8 failed: ${formatError(error)}` });
    }
  }
  return out;
}
