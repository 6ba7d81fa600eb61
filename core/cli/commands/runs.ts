import { numberOption, stringOption, UsageError } from '../args';
import type { CliCommand, CliContext } from '../command';
import { emit } from '../output';
import { METRIC_COLUMNS, SORT_COLUMNS } from '../../store/queries/list';
import {
  openStore,
  RUN_STATUSES,
  type ExportFormat,
  type ParetoCost,
  type RunDetail,
  type RunFilter,
  type RunMetricKey,
  type RunSortKey,
  type RunStatus,
  type RunSummary,
  type Store,
} from '../../store/index';
import type { RunComparison } from '../../store/index';

const kebab = (camel: string) => camel.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
const METRIC_KEYS = Object.keys(METRIC_COLUMNS) as RunMetricKey[];
const RANGE_OPTIONS = METRIC_KEYS.flatMap((k) => [`min-${kebab(k)}`, `max-${kebab(k)}`]);
const FILTER_OPTIONS = ['model', 'tag', 'status', 'board', 'recipe', ...RANGE_OPTIONS];

const usage = `Usage: quantbench runs <subcommand> [options] [--json]

Every compression run and board measurement kept in the data directory.

  runs list [filters] [--sort KEY] [--asc] [--limit N] [--offset N]
  runs show ID
  runs compare ID ID [ID...]            2 to 8 runs side by side
  runs pareto [--cost tflite|gzip|latency] [--board NAME] [filters]
  runs export FILE [--format qbx|json|csv|dir] [filters]
  runs import FILE                       a .qbx bundle, export folder or .json, or a quantbench.sqlite
  runs rm ID
  runs tag ID TAG [TAG...] [--remove]
  runs note ID TEXT                      an empty TEXT clears the note
  runs gc [--min-age-hours H]            remove artifact files left by interrupted runs (default 1 h old)

ID is the run number or a uuid prefix of at least 4 characters.

Filters: --model NAME|HASH  --tag TAG  --status ${RUN_STATUSES.join('|')}  --board NAME  --recipe NAME
         --min-METRIC X  --max-METRIC X   METRIC: ${METRIC_KEYS.map(kebab).join(', ')}
Sort keys: ${Object.keys(SORT_COLUMNS).map(kebab).join(', ')} (newest first by default; --asc reverses)`;

export const runsCommand: CliCommand = {
  name: 'runs',
  usage,
  valueOptions: [...FILTER_OPTIONS, 'sort', 'limit', 'offset', 'cost', 'format', 'min-age-hours'],
  flags: ['asc', 'remove'],
  async run(ctx) {
    const [sub, ...args] = ctx.positionals;
    const handler = sub === undefined ? undefined : subcommands[sub];
    if (!handler)
      throw new UsageError(
        sub === undefined ? 'runs needs a subcommand' : `unknown subcommand "runs ${sub}"`,
      );
    const store = openStore(ctx.dataDir);
    try {
      handler(ctx, store, args);
    } finally {
      store.close();
    }
    return 0;
  },
};

type Handler = (ctx: CliContext, store: Store, args: string[]) => void;

const subcommands: Record<string, Handler> = {
  list(ctx, store, args) {
    noExtra(args, 'runs list');
    const sortKey = camelOption(ctx, 'sort') ?? 'id';
    if (!(sortKey in SORT_COLUMNS))
      throw new UsageError(`--sort ${kebab(sortKey)} is not a sort key`);
    const result = store.listRuns({
      filter: filterFrom(ctx),
      sort: { by: sortKey as RunSortKey, direction: ctx.options.asc ? 'asc' : 'desc' },
      limit: numberOption(ctx.options, 'limit') ?? 50,
      offset: numberOption(ctx.options, 'offset') ?? 0,
    });
    emit(ctx, result, () => {
      const shown = result.runs.length
        ? `${result.offset + 1}-${result.offset + result.runs.length}`
        : '0';
      return `${runTable(result.runs)}\n${shown} of ${result.total} runs`;
    });
  },

  show(ctx, store, args) {
    const [ref] = exactly(args, 1, 'runs show ID');
    const run = store.getRun(ref!);
    emit(ctx, run, () => showText(run));
  },

  compare(ctx, store, args) {
    if (args.length < 2) throw new UsageError('runs compare needs 2 to 8 run ids');
    const comparison = store.compareRuns(args);
    emit(ctx, comparison, () => compareText(comparison));
  },

  pareto(ctx, store, args) {
    noExtra(args, 'runs pareto');
    const costName = stringOption(ctx.options, 'cost') ?? 'tflite';
    const costs: Record<string, ParetoCost> = {
      tflite: 'tfliteBytes',
      gzip: 'gzipBytes',
      latency: 'latency',
    };
    const cost = costs[costName];
    if (!cost) throw new UsageError(`--cost must be tflite, gzip or latency, got "${costName}"`);
    const board = stringOption(ctx.options, 'board');
    const filter = filterFrom(ctx);
    // With --cost latency the board names the cost, not a filter.
    if (cost === 'latency') delete filter.board;
    const result = store.paretoFront({ cost, board, filter });
    const unit =
      cost === 'latency'
        ? `µs median on ${board}`
        : cost === 'tfliteBytes'
          ? '.tflite bytes'
          : 'gzip bytes';
    emit(ctx, result, () =>
      [
        table(
          ['ID', 'MODEL', 'RECIPE', 'INT8 ACC', `COST (${unit})`],
          result.front.map((p) => [
            String(p.run.id),
            p.run.modelName,
            p.run.recipeName ?? '',
            percent(p.accuracy),
            String(p.cost),
          ]),
        ),
        `${result.front.length} runs on the front, ${result.dominated} dominated`,
      ].join('\n'),
    );
  },

  export(ctx, store, args) {
    const [file] = exactly(args, 1, 'runs export FILE');
    const format = stringOption(ctx.options, 'format') as ExportFormat | undefined;
    if (format !== undefined && !['qbx', 'json', 'csv', 'dir'].includes(format))
      throw new UsageError(`--format must be qbx, json, csv or dir, got "${format}"`);
    const summary = store.exportToFile(file!, filterFrom(ctx), format);
    emit(
      ctx,
      summary,
      () =>
        `Exported ${summary.runs} runs and ${summary.artifacts} artifacts to ${summary.file} (${summary.format})`,
    );
  },

  import(ctx, store, args) {
    const [file] = exactly(args, 1, 'runs import FILE');
    const result = store.importFrom(file!);
    emit(
      ctx,
      result,
      () =>
        `Imported ${result.runsAdded} runs from ${result.file} (${result.runsSkipped} already present), ` +
        `${result.deviceRunsAdded} device runs, ${result.artifactsAdded} artifact files` +
        (result.artifactsMissing
          ? `; ${result.artifactsMissing} artifact links dropped because the file had no copy`
          : ''),
    );
  },

  rm(ctx, store, args) {
    const [ref] = exactly(args, 1, 'runs rm ID');
    const id = store.resolveRunId(ref!);
    const result = { id, ...store.deleteRun(id) };
    emit(
      ctx,
      result,
      () =>
        `Deleted run ${id} and ${result.removedArtifacts.length} artifact files no other run used`,
    );
  },

  tag(ctx, store, args) {
    if (args.length < 2) throw new UsageError('runs tag needs an id and at least one tag');
    const [ref, ...tags] = args;
    const id = store.resolveRunId(ref!);
    if (ctx.options.remove) for (const t of tags) store.removeTag(id, t);
    else store.addTags(id, tags);
    const run = store.getRun(id);
    emit(ctx, { id, tags: run.tags }, () => `Run ${id} tags: ${run.tags.join(', ') || '(none)'}`);
  },

  note(ctx, store, args) {
    if (args.length < 2)
      throw new UsageError('runs note needs an id and the text (quote it; "" clears the note)');
    const [ref, ...words] = args;
    const id = store.resolveRunId(ref!);
    const text = words.join(' ');
    store.setNotes(id, text === '' ? null : text);
    emit(ctx, { id, notes: text === '' ? null : text }, () =>
      text === '' ? `Cleared the note of run ${id}` : `Run ${id} note: ${text}`,
    );
  },

  gc(ctx, store, args) {
    noExtra(args, 'runs gc');
    const hours = numberOption(ctx.options, 'min-age-hours') ?? 1;
    const result = store.removeOrphanFiles({ minAgeMs: hours * 3_600_000 });
    emit(
      ctx,
      result,
      () => `Removed ${result.removed.length} orphan artifact files, ${result.freedBytes} bytes`,
    );
  },
};

function filterFrom(ctx: CliContext): RunFilter {
  const o = ctx.options;
  const filter: RunFilter = {};
  const model = stringOption(o, 'model');
  if (model !== undefined) filter.model = model;
  const tag = stringOption(o, 'tag');
  if (tag !== undefined) filter.tag = tag;
  const status = stringOption(o, 'status');
  if (status !== undefined) {
    if (!RUN_STATUSES.includes(status as RunStatus))
      throw new UsageError(`--status must be one of ${RUN_STATUSES.join(', ')}, got "${status}"`);
    filter.status = status as RunStatus;
  }
  const board = stringOption(o, 'board');
  if (board !== undefined) filter.board = board;
  const recipe = stringOption(o, 'recipe');
  if (recipe !== undefined) filter.recipeName = recipe;
  for (const key of METRIC_KEYS) {
    const min = numberOption(o, `min-${kebab(key)}`);
    const max = numberOption(o, `max-${kebab(key)}`);
    if (min !== undefined || max !== undefined) (filter.ranges ??= {})[key] = { min, max };
  }
  return filter;
}

function camelOption(ctx: CliContext, name: string): string | undefined {
  return stringOption(ctx.options, name)?.replace(/-([a-z0-9])/g, (_, c: string) =>
    c.toUpperCase(),
  );
}

function exactly(args: string[], n: number, form: string): string[] {
  if (args.length !== n) throw new UsageError(`usage: quantbench ${form}`);
  return args;
}

function noExtra(args: string[], form: string): void {
  if (args.length)
    throw new UsageError(`${form} takes no positional arguments, got "${args.join(' ')}"`);
}

// ---------------------------------------------------------------- text output

const percent = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);
const count = (v: number | null) => (v === null ? '-' : String(v));
const fixed = (v: number | null, digits = 2) => (v === null ? '-' : v.toFixed(digits));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function runTable(runs: RunSummary[]): string {
  return table(
    [
      'ID',
      'MODEL',
      'RECIPE',
      'STATUS',
      'INT8 ACC',
      'DROP',
      'TFLITE B',
      'SPARSITY',
      'TAGS',
      'STARTED',
    ],
    runs.map((r) => [
      String(r.id),
      r.modelName,
      r.recipeName ?? '',
      r.status,
      percent(r.int8Accuracy),
      percent(r.accuracyDrop),
      count(r.tfliteBytes),
      fixed(r.sparsity),
      r.tags.join(','),
      r.startedAt.slice(0, 19).replace('T', ' '),
    ]),
  );
}

function showText(run: RunDetail): string {
  const lines = [
    `Run ${run.id}  ${run.uuid}`,
    `model      ${run.model.name} (${run.model.format}, ${run.model.hash.slice(0, 12)})`,
    `dataset    ${run.dataset ? `${run.dataset.spec} (${run.dataset.sampleCount ?? '?'} samples)` : '-'}`,
    `recipe     ${run.recipeName ?? '-'}  ${JSON.stringify(run.recipe)}`,
    `status     ${run.status}${run.error ? `: ${run.error}` : ''}`,
    `started    ${run.startedAt}   finished ${run.finishedAt ?? '-'}`,
    `accuracy   float ${percent(run.floatAccuracy)}  int8 ${percent(run.int8Accuracy)}  drop ${percent(run.accuracyDrop)}`,
    `size       float ${count(run.floatBytes)} B  tflite ${count(run.tfliteBytes)} B  gzip ${count(run.gzipBytes)} B`,
    `weights    sparsity ${fixed(run.sparsity)}  max distinct values ${count(run.maxDistinctValues)}`,
    `tags       ${run.tags.join(', ') || '-'}`,
    `notes      ${run.notes ?? '-'}`,
  ];
  if (run.layers.length) {
    lines.push('', 'Layers');
    lines.push(
      table(
        ['NAME', 'TYPE', 'POLICY', 'SPARSITY', 'UNIQUE', 'SQNR dB', 'RMSE/SCALE', 'COSINE'],
        run.layers.map((l) => [
          l.name,
          l.type,
          l.policy,
          fixed(l.sparsity),
          count(l.uniqueValues),
          fixed(l.sqnrDb, 1),
          fixed(l.rmseOverScale, 3),
          fixed(l.cosine, 4),
        ]),
      ),
    );
  }
  if (run.artifacts.length) {
    lines.push('', 'Artifacts');
    lines.push(
      table(
        ['ROLE', 'KIND', 'BYTES', 'PATH'],
        run.artifacts.map((a) => [a.role, a.kind, String(a.bytes), a.path]),
      ),
    );
  }
  if (run.deviceRuns.length) {
    lines.push('', 'Device runs');
    lines.push(
      table(
        [
          'BOARD',
          'FIRMWARE',
          'STATUS',
          'MEDIAN µs',
          'P95 µs',
          'ACCURACY',
          'AGREEMENT',
          'ARENA B',
          'UPLOAD B/s',
        ],
        run.deviceRuns.map((d) => [
          d.board.name,
          d.board.firmwareVersion,
          d.status + (d.error ? `: ${d.error}` : ''),
          fixed(d.latencyUs?.median ?? null, 0),
          fixed(d.latencyUs?.p95 ?? null, 0),
          percent(d.accuracy),
          percent(d.agreement),
          count(d.arenaBytes),
          fixed(d.uploadBytesPerSecond, 0),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

function compareText(c: RunComparison): string {
  const head = ['', ...c.runs.map((r) => `run ${r.id}`)];
  const show = (v: unknown) =>
    v === null || v === undefined
      ? '-'
      : typeof v === 'string'
        ? v
        : typeof v === 'number'
          ? String(Number(v.toPrecision(6)))
          : JSON.stringify(v);
  const lines = [
    table(head, [
      ['model', ...c.runs.map((r) => r.modelName)],
      ['recipe', ...c.runs.map((r) => r.recipeName ?? '-')],
      ['status', ...c.runs.map((r) => r.status)],
    ]),
    '',
    'Recipe differences',
    c.recipeDifferences.length
      ? table(
          ['PATH', ...head.slice(1)],
          c.recipeDifferences.map((d) => [d.path, ...d.values.map(show)]),
        )
      : '(recipes are identical)',
    '',
    'Metrics',
    table(
      ['METRIC', ...head.slice(1)],
      c.metrics.map((m) => [
        m.key,
        ...m.values.map((v, i) =>
          v === null
            ? '-'
            : i === 0 || m.deltas[i] === null
              ? show(v)
              : `${show(v)} (${m.deltas[i]! >= 0 ? '+' : ''}${Number(m.deltas[i]!.toPrecision(4))})`,
        ),
      ]),
    ),
  ];
  const differing = c.layers.filter((l) => l.differing.length || l.runs.includes(null));
  lines.push('', `Layers that differ (${differing.length} of ${c.layers.length})`);
  if (differing.length) {
    lines.push(
      table(
        ['LAYER', ...head.slice(1)],
        differing.map((l) => [
          l.name,
          ...l.runs.map((r) =>
            r
              ? `${r.policy} sp=${fixed(r.sparsity)} uniq=${count(r.uniqueValues)} sqnr=${fixed(r.sqnrDb, 1)}`
              : 'absent',
          ),
        ]),
      ),
    );
  }
  if (c.devices.length) {
    lines.push('', 'Median latency on boards (µs)');
    lines.push(
      table(
        ['BOARD', ...head.slice(1)],
        c.devices.map((d) => [
          `${d.board} ${d.firmwareVersion}`,
          ...d.runs.map((r) => fixed(r?.latencyUs?.median ?? null, 0)),
        ]),
      ),
    );
  }
  return lines.join('\n');
}
