// Runs inside a job worker thread: a compression from start to recorded run.
import { overallFraction } from '../compress/pipeline';
import { runCompressJob } from '../compress/run';
import { parseRecipe, preset } from '../compress/recipe';
import type { JobContext } from '../jobs/types';
import { openStore } from '../store/index';
import { initBackend } from '../train/backend';

export interface CompressJobParams {
  dataDir: string;
  model: string;
  recipe: string | Record<string, unknown>;
  data: string;
  calibData?: string;
  inputScale?: number;
  evalLimit?: number;
  out: string;
}

export interface CompressJobResult {
  runId?: number;
  floatAccuracy?: number;
  int8Accuracy?: number;
  tfliteBytes: number;
}

export async function compressJob(ctx: JobContext<CompressJobParams>): Promise<CompressJobResult> {
  const p = ctx.params;
  const recipe =
    typeof p.recipe === 'string' ? preset(p.recipe) : parseRecipe(p.recipe, 'the recipe');
  const fineTunes = recipe.steps.some((s) => s.step === 'fineTune');
  // As the CLI does: the fastest backend, with the gradient kernels fine-tuning needs.
  await initBackend();
  const store = openStore(p.dataDir);
  try {
    const report = await runCompressJob({
      model: p.model,
      recipe,
      data: p.data,
      calibData: p.calibData,
      inputScale: p.inputScale,
      evalSamples: p.evalLimit,
      out: p.out,
      store,
      signal: ctx.signal,
      onRunStarted: (runId) => ctx.publish('runId', runId),
      onProgress: (progress) => {
        ctx.progress(
          progress.stage,
          overallFraction(progress.stage, progress.fraction, fineTunes),
          progress.message,
        );
      },
    });
    for (const w of report.warnings) ctx.log(`warning: ${w}`);
    if (report.fineTune) {
      const f = report.fineTune;
      ctx.log(
        `fine-tuned ${f.steps} steps on ${f.samples} samples of ${f.data}: best epoch ${f.bestEpoch} of ${f.epochs}` +
          (f.bestValAccuracy === null
            ? ''
            : `, validation ${(f.bestValAccuracy * 100).toFixed(2)}%`),
      );
    }
    return {
      runId: report.runId,
      floatAccuracy: report.float.accuracy,
      int8Accuracy: report.int8.accuracy,
      tfliteBytes: report.sizes.tfliteBytes,
    };
  } finally {
    store.close();
  }
}
