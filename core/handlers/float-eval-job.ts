// Runs inside a job worker thread: the float model's evaluation that compress reports beside
// the int8 one, started with the compression so that it runs on a second core meanwhile.
import { openDataset, type OpenDatasetOptions } from '../data/index';
import { evaluateFloat, type FloatEvalResult } from '../eval/index';
import type { JobContext } from '../jobs/types';
import { loadModel } from '../model/index';
import { initBackend } from '../train/backend';

export interface FloatEvalJobParams {
  /** The .keras or .h5 file, read afresh (the compression changes its own copy). */
  model: string;
  /** The dataset spec and the options compress opened it with, so the samples are the same. */
  data: string;
  inputShape: OpenDatasetOptions['inputShape'];
  preprocessing?: OpenDatasetOptions['preprocessing'];
  limit?: OpenDatasetOptions['limit'];
}

export async function floatEvalJob(ctx: JobContext<FloatEvalJobParams>): Promise<FloatEvalResult> {
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
