import { loadRecipe, PRESET_NAMES } from '../../compress/recipe';
import { overallFraction } from '../../compress/pipeline';
import { runCompressJob, type CompressReport } from '../../compress/run';
import { openStore } from '../../store/index';
import { initBackend } from '../../train/backend';
import { numberOption, stringOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { emit } from '../output';
import { resolveBoardProfile } from '../../fit/boards';
import { formatFit } from '../../fit/fit-report';
import { progressReporter } from '../progress';

/** "1/255" or a plain number. */
function parseScale(raw: string): number {
  const m = /^\s*([\d.eE+-]+)\s*\/\s*([\d.eE+-]+)\s*$/.exec(raw);
  const value = m ? Number(m[1]) / Number(m[2]) : Number(raw);
  if (!Number.isFinite(value) || value === 0)
    throw new UsageError(`--input-scale must be a number such as 0.00392 or 1/255, got "${raw}"`);
  return value;
}

function pct(v: number | undefined): string {
  return v === undefined ? '-' : `${(v * 100).toFixed(2)}%`;
}

function human(r: CompressReport): string {
  const metric = (m: { accuracy?: number; mse?: number }) =>
    m.accuracy !== undefined ? pct(m.accuracy) : `mse ${m.mse?.toPrecision(5)}`;
  const rows = r.layers.map((l) =>
    [
      l.name.padEnd(24),
      l.type.padEnd(20),
      l.policy.padEnd(6),
      (l.sparsity === null ? '' : pct(l.sparsity)).padStart(8),
      (l.uniqueValues === null ? '' : String(l.uniqueValues)).padStart(7),
      (l.sqnrDb === null ? '' : l.sqnrDb.toFixed(1)).padStart(7),
      (l.rmseOverScale === null ? '' : l.rmseOverScale.toFixed(2)).padStart(6),
      l.flagged ? ' !' : '',
    ].join(' '),
  );
  return [
    ...(r.runId !== undefined ? [`run          ${r.runId}`] : []),
    `model        ${r.model}`,
    `recipe       ${r.recipe.name}`,
    `float        ${metric(r.float)} on ${r.float.samples} samples of ${r.data}`,
    `int8         ${metric(r.int8)} (${r.int8.evaluatedWith})`,
    ...(r.fineTune
      ? [
          `fine-tune    ${r.fineTune.steps} steps on ${r.fineTune.samples} samples of ${r.fineTune.data}, best epoch ${r.fineTune.bestEpoch}/${r.fineTune.epochs} (validation ${pct(r.fineTune.bestValAccuracy ?? undefined)})`,
        ]
      : []),
    `sizes        float ${r.sizes.floatParamsBytes} B, .tflite ${r.sizes.tfliteBytes} B, gzip ${r.sizes.tfliteGzipBytes} B, packed clusters ${r.sizes.clusterPackedBytes} B, sparse ${r.sizes.sparseBytes} B`,
    `guarantees   ${r.guarantees.ok ? 'hold (pruned weights 0, <= k values, float layers float)' : 'BROKEN'}`,
    ...formatFit(r.fit),
    '',
    `${'layer'.padEnd(24)} ${'type'.padEnd(20)} policy sparsity  values  sqnrdB  rmse/s`,
    ...rows,
    ...(r.removedLayers.length
      ? [
          '',
          'no op in the export (they compute nothing at inference):',
          ...r.removedLayers.map((l) => `  ${l.name} (${l.kerasClass}): ${l.reason}`),
        ]
      : []),
    ...(r.autoExcluded.length
      ? [
          '',
          'reverted to float by autoExclude:',
          ...r.autoExcluded.map((a) => `  ${a.layer}: ${a.reason}`),
        ]
      : []),
    ...(r.warnings.length ? ['', 'warnings:', ...r.warnings.map((w) => `  ${w}`)] : []),
    '',
    `wrote ${Object.values(r.files).join(', ')}`,
  ].join('\n');
}

export const compressCommand: CliCommand = {
  name: 'compress',
  usage: `Usage: quantbench compress MODEL --recipe FILE|PRESET --data SPEC --out DIR [options]

Runs a compression recipe on a Keras model and writes DIR/model.tflite, DIR/model_data.h and
.c (the model as a C array, with its arena size, input/output shapes and quantization, ops),
DIR/tflm_resolver.h (a TFLite Micro op resolver with exactly the model's ops),
DIR/model.keras (the pruned and clustered float model) and DIR/report.json (per-layer
report, sizes, fit report, float and int8 accuracy). For each float island the recipe keeps,
DIR/islands/island-N.tflite is the model with that island int8 instead; the fit report gives
the accuracy the island buys (int8 accuracy less that model's, on the same samples: the
first 2,000 of the evaluation set at most).

  --recipe FILE|PRESET      a .yaml/.json recipe (docs/recipes.md) or a preset:
                            ${PRESET_NAMES.join(', ')}
  --data SPEC               labelled data to evaluate on (and to calibrate on when
                            --calib-data is not given): fashion-mnist:test, idx:..., npz:...
  --calib-data SPEC         representative samples for calibration
  --input-scale S           multiply raw samples by S first (e.g. 1/255)
  --eval-samples N          evaluate on at most N samples of --data
  --out DIR                 where the files go (created)
  --board NAME              judge RAM and flash against a board profile (nucleo-f446re,
                            nucleo-f411re, nano33ble, ... or one from DATA_DIR/boards.json);
                            stops with exit 1 before evaluating when the model does not fit
  --no-record               do not record the run in the experiment store
  --json                    print report.json on stdout`,
  valueOptions: ['recipe', 'data', 'calib-data', 'input-scale', 'eval-samples', 'out', 'board'],
  flags: ['no-record'],
  synonyms: { limit: 'eval-samples', 'eval-limit': 'eval-samples' },
  async run(ctx) {
    const model = ctx.positionals[0];
    if (!model) throw new UsageError('give the Keras model to compress');
    const recipe = stringOption(ctx.options, 'recipe');
    if (!recipe)
      throw new UsageError(
        `--recipe FILE|PRESET is required (presets: ${PRESET_NAMES.join(', ')})`,
      );
    const data = stringOption(ctx.options, 'data');
    if (!data) throw new UsageError('--data SPEC is required');
    const out = stringOption(ctx.options, 'out');
    if (!out) throw new UsageError('--out DIR is required');
    const scale = stringOption(ctx.options, 'input-scale');
    const evalSamples = numberOption(ctx.options, 'eval-samples');
    if (evalSamples !== undefined && (!Number.isInteger(evalSamples) || evalSamples <= 0))
      throw new UsageError('--eval-samples must be a positive integer');

    const boardName = stringOption(ctx.options, 'board');
    const board = boardName === undefined ? undefined : resolveBoardProfile(boardName, ctx.dataDir);

    const parsed = loadRecipe(recipe);
    const fineTunes = parsed.steps.some((s) => s.step === 'fineTune');
    await initBackend();
    const bar = progressReporter(ctx);
    const store = ctx.options['no-record'] === true ? undefined : openStore(ctx.dataDir);
    let report: CompressReport;
    try {
      report = await runCompressJob({
        model,
        recipe: parsed,
        data,
        calibData: stringOption(ctx.options, 'calib-data'),
        inputScale: scale === undefined ? undefined : parseScale(scale),
        evalSamples,
        out,
        onProgress: (p) =>
          bar.update(
            overallFraction(p.stage, p.fraction, fineTunes),
            p.message ? `${p.stage} ${p.message}` : p.stage,
          ),
        signal: ctx.signal,
        store,
        board,
      });
    } finally {
      bar.done();
      store?.close();
    }
    emit(ctx, report, () => human(report));
    return 0;
  },
};
