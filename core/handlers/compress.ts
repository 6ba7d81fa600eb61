import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Params, Result } from '../api/contract';
import { QuantbenchError, serializeError } from '../errors';
import { JobCancelledError } from '../jobs/manager';
import { jobModule } from '../jobs/registry';
import type { CompressJobParams, CompressJobResult } from './compress-job';
import type { HandlerContext } from './context';
import { checkFaceDataset } from './face-inputs';

function settleAbandonedRun(ctx: HandlerContext, runId: number, cancelled: boolean, error: unknown): void {
  const store = ctx.store();
  if (store.getRun(runId).status !== 'running') return;
  if (cancelled) store.cancelRun(runId);
  else store.failRun(runId, error);
}

export function compressHandlers(ctx: HandlerContext) {
  return {
    'recipes.presets': async (): Promise<Result<'recipes.presets'>> => {
      const { PRESET_NAMES, preset } = await import('../compress/recipe');
      return PRESET_NAMES.map((name) => ({ name, recipe: preset(name) }));
    },

    'compress.start': async (p: Params<'compress.start'>): Promise<Result<'compress.start'>> => {
      const data = checkFaceDataset(ctx, p.data);
      const calibData = p.calibData === undefined ? undefined : checkFaceDataset(ctx, p.calibData);
      // Refuse a bad recipe or a missing model file now, in words, rather than from a worker later.
      const { parseRecipe, preset } = await import('../compress/recipe');
      if (typeof p.recipe === 'string') preset(p.recipe);
      else parseRecipe(p.recipe, 'the recipe');
      const model = ctx.store().getModel(p.modelId);
      if (!model.sourcePath || !existsSync(model.sourcePath)) {
        throw new QuantbenchError('MODEL_FILE_MISSING', `model #${p.modelId} (${model.name}): its file ${model.sourcePath ?? '(none)'} is gone`, {
          hint: 'import the model again',
        });
      }
      const params: Omit<CompressJobParams, 'out'> = {
        dataDir: ctx.dataDir,
        model: model.sourcePath,
        recipe: p.recipe,
        data,
        calibData,
        inputScale: p.inputScale,
        evalLimit: p.evalLimit,
      };
      const outputs = path.join(ctx.dataDir, 'outputs');
      const running = ctx.jobs().start<CompressJobResult>(
        'compress',
        jobModule('compress'),
        (jobId: string) => ({ ...params, out: path.join(outputs, jobId) }),
        (line, jobId) => ctx.events.emit('onJobLog', { jobId, line }),
      );
      running.done.then(
        (result) => ctx.events.emit('onJobDone', { jobId: running.jobId, kind: 'compress', ok: true, cancelled: false, runId: result.runId }),
        (error: unknown) => {
          const cancelled = error instanceof JobCancelledError;
          const runId = running.published.get('runId') as number | undefined;
          // A job stopped mid-step cannot settle its own run; record what happened to it here.
          if (runId !== undefined) settleAbandonedRun(ctx, runId, cancelled, error);
          ctx.events.emit('onJobDone', { jobId: running.jobId, kind: 'compress', ok: false, cancelled, runId, error: serializeError(error) });
        },
      );
      return { jobId: running.jobId, kind: 'compress' };
    },

    'jobs.cancel': async (p: Params<'jobs.cancel'>): Promise<Result<'jobs.cancel'>> => {
      const inline = ctx.inlineJobs.get(p.jobId);
      if (inline) {
        inline.abort(new Error('cancelled by the user'));
        return { cancelled: true };
      }
      return { cancelled: ctx.jobs().cancel(p.jobId) };
    },
  };
}
