import { EventHub } from '../../app/events';
import { numberOption, stringOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { emit } from '../output';
import { JobManager } from '../../jobs/manager';
import { fineTuneJobModule, type FineTuneJobParams, type FineTuneJobResult } from '../../handlers/finetune-job';
import { progressReporter } from '../progress';

const pct = (v: number | null | undefined) => (v == null ? '-' : `${(v * 100).toFixed(2)}%`);

/** `quantbench finetune`: the recipe's prune → cluster → fine-tune → quantize flow, in a worker thread. */
export const finetuneCommand: CliCommand = {
  name: 'finetune',
  usage: [
    'quantbench finetune MODEL --recipe FILE|PRESET --data SPEC --out DIR',
    '                    [--test-data SPEC] [--epochs N] [--batch-size N] [--learning-rate X] [--limit N] [--json]',
    '',
    'Prunes and clusters MODEL as the recipe says, fine-tunes it on --data with the masks,',
    'cluster assignments and (for int8 layers) fake quantization held, then quantizes and writes',
    "DIR/model.tflite and DIR/best.keras. The recipe's fineTune step sets the training; the",
    'options here override its epochs, batch size and learning rate.',
  ].join('\n'),
  valueOptions: [
    'recipe',
    'data',
    'out',
    'test-data',
    'epochs',
    'batch-size',
    'learning-rate',
    'limit',
  ],
  async run(ctx) {
    const model = ctx.positionals[0];
    if (!model) throw new UsageError('finetune needs a MODEL file');
    const recipe = stringOption(ctx.options, 'recipe');
    if (!recipe) throw new UsageError('finetune needs --recipe FILE|PRESET');
    const overrides = Object.fromEntries(
      (
        [
          ['epochs', numberOption(ctx.options, 'epochs')],
          ['batchSize', numberOption(ctx.options, 'batch-size')],
          ['learningRate', numberOption(ctx.options, 'learning-rate')],
        ] as const
      ).filter(([, v]) => v !== undefined),
    );
    const { loadRecipe } = await import('../../compress/recipe');
    const step = loadRecipe(recipe).steps.find((s) => s.step === 'fineTune') ?? {
      step: 'fineTune' as const,
    };
    const params: FineTuneJobParams = {
      model,
      recipe,
      fineTune: { ...step, ...overrides } as FineTuneJobParams['fineTune'],
      data: stringOption(ctx.options, 'data'),
      testData: stringOption(ctx.options, 'test-data'),
      out: stringOption(ctx.options, 'out'),
      limit: numberOption(ctx.options, 'limit'),
    };
    const events = new EventHub();
    const jobs = new JobManager({ events });
    const bar = progressReporter(ctx);
    events.on('onJobProgress', (e) => {
      if (e.fraction !== null) bar.update(e.fraction, e.message ?? e.step, e.etaSeconds);
    });
    const job = jobs.start<FineTuneJobResult>('fineTune', fineTuneJobModule, params, (line) =>
      ctx.stderr.write(`${line}\n`),
    );
    const onAbort = () => jobs.cancel(job.jobId);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await job.done.finally(() => bar.done());
      emit(ctx, result, () =>
        [
          ...result.epochs.map(
            (e) =>
              `epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)} train ${pct(e.accuracy)} validation ${pct(e.valAccuracy)} (${e.seconds.toFixed(0)} s)`,
          ),
          `best epoch ${result.best.epoch + 1} (validation ${pct(result.best.valAccuracy)}) on ${result.backend}`,
          ...(result.int8Accuracy !== undefined
            ? [
                `int8 accuracy ${pct(result.int8Accuracy)} (without fine-tuning ${pct(result.oneShotInt8Accuracy)})`,
              ]
            : []),
          ...(result.guarantees
            ? [
                `guarantees: ${
                  result.guarantees.every((g) => g.ok)
                    ? 'all hold'
                    : `broken in ${result.guarantees
                        .filter((g) => !g.ok)
                        .map((g) => g.layer)
                        .join(', ')}`
                }`,
              ]
            : []),
          ...(result.tflite ? [`wrote ${result.tflite}`] : []),
          ...(result.checkpoint ? [`wrote ${result.checkpoint}`] : []),
        ].join('\n'),
      );
      return result.guarantees && !result.guarantees.every((g) => g.ok) ? 1 : 0;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await jobs.shutdown();
    }
  },
};
