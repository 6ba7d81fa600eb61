// Runs inside a job worker thread: the float model's evaluation that compress reports beside
// the int8 one, started with the compression so that it runs on a second core meanwhile.
import type { FloatHalfParams } from '../compress/evaluate-int8';
import { openDataset } from '../data/index';
import { evaluateFloat, type FloatEvalResult } from '../eval/index';
import type { JobContext } from '../jobs/types';
import { loadModel } from '../model/index';
import { initBackend } from '../train/backend';

export async function floatEvalJob(ctx: JobContext<FloatHalfParams>): Promise<FloatEvalResult> {
  const p = ctx.params;
  await initBackend();
  const model = (await loadModel(p.model)).model;
  const data = await openDataset(p.data, {
    inputShape: p.inputShape,
    preprocessing: p.preprocessing,
    limit: p.limit,
  });
  return evaluateFloat(model, data, {
    signal: ctx.signal,
    onProgress: ({ done, total }) => ctx.progress('float', done / total, `${done}/${total}`),
  });
}
