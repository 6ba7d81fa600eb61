import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../app/version';
import { boardProfiles, type BoardProfile } from '../device/known-boards';
import { planArena, type ArenaPlan, type PlannedTensor } from './arena-plan';
import { elfSize } from './elf-size';
import { FitError } from './errors';

/** A run of float32 activations between a DEQUANTIZE and a QUANTIZE (or the model's float input). */
export interface FloatIsland {
  /** Layers whose tensors the island holds, in graph order. */
  layers: string[];
  /** Op indices the island spans. */
  ops: [number, number];
  /** Float bytes the island holds at its busiest op (tensors computed in place counted once). */
  floatBytes: number;
  /** floatBytes less what the same tensors take in int8. */
  extraBytes: number;
  /** The arena's peak falls inside this island, so it sets the arena size. */
  atPeak: boolean;
  /**
   * Accuracy the island buys, as a fraction (0.012 = 1.2 points): the run's int8 accuracy less
   * that of the same export with this island's layers int8 (same calibration, same evaluation
   * samples, same runtime). Negative when int8 scores better. null when not measured, and
   * accuracyNote says why: never estimated.
   */
  accuracyBought: number | null;
  /** Accuracy of the export with this island int8 instead of float. */
  accuracyIslandInt8: number | null;
  /** The run's own int8 accuracy (this island float) on the same samples. */
  accuracyIslandFloat: number | null;
  /** How many evaluation samples both were scored on. */
  accuracySamples: number | null;
  /** That export, kept so the figure can be checked (quantbench eval) or the model pushed. */
  islandInt8Model: string | null;
  /** How accuracyBought was measured, or why it was not. */
  accuracyNote: string;
}

/** An island's accuracy fields before a run measures them on its evaluation data. */
export const UNMEASURED_ISLAND = {
  accuracyBought: null,
  accuracyIslandInt8: null,
  accuracyIslandFloat: null,
  accuracySamples: null,
  islandInt8Model: null,
  accuracyNote: 'not measured: no evaluation data (compress --data measures it)',
} as const satisfies Partial<FloatIsland>;

export interface FitTensor {
  name: string;
  type: string;
  shape: number[];
  bytes: number;
  offset: number;
}

export interface BoardFit {
  id: string;
  name: string;
  ramBytes: number;
  flashBytes: number;
  fits: boolean;
  /** Free bytes left (negative: short by). */
  ramMarginBytes: number;
  flashMarginBytes: number;
  /** "fits ..." or "does not fit ... by N KB". */
  verdict: string;
}

export interface FitReport {
  /** Runtime planner's arena (qb_arena_required): what `push` reports on the board. */
  arenaBytes: number;
  scratchBytes: number;
  /** The interpreter's own state (sizeof qb_interpreter), static RAM beside the arena. */
  interpreterBytes: number;
  /** The op with the most tensor bytes alive (the greedy plan's arena is at least that), and those tensors. */
  peak: { op: number; opName: string; tensors: FitTensor[] };
  flash: {
    modelBytes: number;
    /** text + data of the firmware image built for the board's core; null when there is none. */
    firmwareBytes: number | null;
    firmwareImage: string | null;
    totalBytes: number;
  };
  ram: { totalBytes: number };
  floatIslands: FloatIsland[];
  board?: BoardFit;
  /** The verdict on every built-in profile, for a view at a glance. */
  boards: BoardFit[];
  notes: string[];
}

const align = (n: number) => (n + 15) & ~15;
const alive = (t: PlannedTensor, op: number) => t.firstUse <= op && op <= t.lastUse;

/** Bytes held by `tensors` at `op`; tensors sharing an offset (in place) count once. */
function heldAt(tensors: PlannedTensor[], op: number, size: (t: PlannedTensor) => number): number {
  const byOffset = new Map<number, number>();
  for (const t of tensors)
    if (alive(t, op)) byOffset.set(t.offset, Math.max(byOffset.get(t.offset) ?? 0, size(t)));
  let sum = 0;
  for (const v of byOffset.values()) sum += v;
  return sum;
}

function peakOf(plan: ArenaPlan): FitReport['peak'] {
  let best = -1;
  let op = 0;
  for (let i = 0; i < plan.ops.length; i++) {
    const high = heldAt(plan.tensors, i, (t) => align(t.bytes));
    if (high > best) {
      best = high;
      op = i;
    }
  }
  const tensors = plan.tensors
    .filter((t) => alive(t, op))
    .sort((a, b) => a.offset - b.offset)
    .map(({ name, type, shape, bytes, offset }) => ({ name, type, shape, bytes, offset }));
  return { op, opName: plan.ops[op] ?? '', tensors };
}

/** Layer a tensor belongs to: the exporter names tensors LAYER or LAYER/part. */
const layerOf = (tensor: string) => tensor.split('/')[0];

function floatIslands(plan: ArenaPlan, peakOp: number, floatLayers: ReadonlySet<string>): FloatIsland[] {
  const lastOp = plan.ops.length;
  // Graph inputs and outputs are float because the model's interface is, not because of an island.
  const floats = plan.tensors.filter((t) => t.type === 'float32' && t.firstUse >= 0 && t.lastUse < lastOp);
  // Float tensors chained through an op belong to one island: consecutive lifetimes touch.
  floats.sort((a, b) => a.firstUse - b.firstUse || a.index - b.index);
  const groups: PlannedTensor[][] = [];
  for (const t of floats) {
    const g = groups.find((x) => x.some((o) => o.lastUse === t.firstUse || (o.firstUse <= t.firstUse && t.firstUse <= o.lastUse)));
    if (g) g.push(t);
    else groups.push([t]);
  }
  return groups.map((g) => {
    const first = Math.min(...g.map((t) => t.firstUse));
    const last = Math.max(...g.map((t) => t.lastUse));
    let floatBytes = 0;
    let extraBytes = 0;
    for (let op = first; op <= last; op++) {
      const held = heldAt(g, op, (t) => align(t.bytes));
      if (held > floatBytes) {
        floatBytes = held;
        extraBytes = held - heldAt(g, op, (t) => align(t.bytes / 4));
      }
    }
    const names = [...new Set(g.map((t) => layerOf(t.name)))];
    const chosen = names.filter((n) => floatLayers.has(n));
    return {
      layers: chosen.length ? chosen : names,
      ops: [first, last] as [number, number],
      floatBytes,
      extraBytes,
      atPeak: first <= peakOp && peakOp <= last,
      ...UNMEASURED_ISLAND,
    };
  });
}

/** The firmware image measured for a board's core: the Cortex-M4 bench firmware for M4F boards. */
export function firmwareImageFor(core: BoardProfile['core']): string | null {
  if (core !== 'cortex-m4f') return null;
  return path.join(projectRoot, 'build', 'firmware', 'mps2', 'board.elf');
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

function judge(board: BoardProfile, ramBytes: number, flashBytes: number): BoardFit {
  const ramMarginBytes = board.ramBytes - ramBytes;
  const flashMarginBytes = board.flashBytes - flashBytes;
  const fits = ramMarginBytes >= 0 && flashMarginBytes >= 0;
  const short = [
    ...(ramMarginBytes < 0 ? [`RAM by ${kb(-ramMarginBytes)} (needs ${ramBytes} B of ${board.ramBytes} B)`] : []),
    ...(flashMarginBytes < 0 ? [`flash by ${kb(-flashMarginBytes)} (needs ${flashBytes} B of ${board.flashBytes} B)`] : []),
  ];
  const verdict = fits
    ? `fits ${board.id}: RAM ${ramBytes} of ${board.ramBytes} B (${kb(ramMarginBytes)} free), flash ${flashBytes} of ${board.flashBytes} B (${kb(flashMarginBytes)} free)`
    : `does not fit ${board.id}: ${short.join(', ')}`;
  return { id: board.id, name: board.name, ramBytes: board.ramBytes, flashBytes: board.flashBytes, fits, ramMarginBytes, flashMarginBytes, verdict };
}

export interface FitOptions {
  board?: BoardProfile;
  /** Layers the quantize policy kept float (the per-layer report), to name islands by. */
  floatLayers?: Iterable<string>;
  name?: string;
}

/**
 * What the model needs on a board, from the runtime's own planner (the wasm build of the
 * firmware code): RAM = arena + interpreter state; flash = model + firmware image.
 */
export async function fitReport(tflite: Uint8Array, options: FitOptions = {}): Promise<FitReport> {
  const plan = await planArena(tflite, options.name);
  const peak = peakOf(plan);
  const notes: string[] = [];
  let firmwareBytes: number | null = null;
  let firmwareImage: string | null = null;
  const core = options.board?.core ?? 'cortex-m4f';
  const image = firmwareImageFor(core);
  if (image && existsSync(image)) {
    firmwareImage = path.relative(projectRoot, image);
    firmwareBytes = elfSize(image).flash;
    notes.push(`firmware: text + data of ${firmwareImage}, the Quantbench bench firmware (runtime, board protocol, startup)`);
  } else if (image) {
    if (options.board)
      throw new FitError('FIRMWARE_IMAGE_MISSING', `the Cortex-M4 firmware image ${image} is not built, so the flash needed on ${options.board.id} is unknown`, {
        hint: 'build it first: npm run build:firmware',
      });
    notes.push('firmware image not built (npm run build:firmware): flash counts the model alone');
  } else if (core === 'host') {
    notes.push('the virtual board keeps the model in its own storage: flash counts the model alone');
  } else {
    notes.push(`no Quantbench firmware build for ${core} here: flash counts the model alone; add your firmware's size`);
  }
  notes.push('RAM counts the arena and the interpreter state; the stack and your application come on top');
  const flashTotal = tflite.length + (firmwareBytes ?? 0);
  const ramTotal = plan.arenaBytes + plan.interpreterBytes;
  const report: FitReport = {
    arenaBytes: plan.arenaBytes,
    scratchBytes: plan.scratch.bytes,
    interpreterBytes: plan.interpreterBytes,
    peak,
    flash: { modelBytes: tflite.length, firmwareBytes, firmwareImage, totalBytes: flashTotal },
    ram: { totalBytes: ramTotal },
    floatIslands: floatIslands(plan, peak.op, new Set(options.floatLayers ?? [])),
    boards: boardProfiles.map((b) => judge(b, ramTotal, flashOn(b.core, tflite.length))),
    notes,
  };
  if (options.board) report.board = judge(options.board, ramTotal, flashTotal);
  return report;
}

/** Flash on a board of this core: the model plus the firmware image built for it, when there is one. */
function flashOn(core: BoardProfile['core'], modelBytes: number): number {
  const image = firmwareImageFor(core);
  return modelBytes + (image && existsSync(image) ? elfSize(image).flash : 0);
}

/** The error `compress --board` stops with when the model does not fit. */
export function doesNotFitError(report: FitReport, model: string): FitError {
  const b = report.board!;
  return new FitError('MODEL_DOES_NOT_FIT', `${model} ${b.verdict}`, {
    hint: 'prune, cluster or quantize further (plain int8 needs no float islands), or choose a board with more memory',
  });
}

/** "buys +1.50 points of accuracy", or the reason there is no figure. */
function bought(i: FloatIsland): string {
  if (i.accuracyBought === null) return `accuracy bought ${i.accuracyNote}`;
  const points = i.accuracyBought * 100;
  return `buys ${points >= 0 ? '+' : ''}${points.toFixed(2)} points of accuracy (${(i.accuracyIslandFloat! * 100).toFixed(2)}% with it float, ${(i.accuracyIslandInt8! * 100).toFixed(2)}% int8, on ${i.accuracySamples} samples)`;
}

/** The fit report as lines for a terminal. */
export function formatFit(r: FitReport): string[] {
  const lines = [
    `arena        ${r.arenaBytes} B (runtime planner; scratch ${r.scratchBytes} B) + interpreter ${r.interpreterBytes} B = RAM ${r.ram.totalBytes} B`,
    `flash        model ${r.flash.modelBytes} B${r.flash.firmwareBytes === null ? '' : ` + firmware ${r.flash.firmwareBytes} B`} = ${r.flash.totalBytes} B`,
    `peak         op ${r.peak.op} ${r.peak.opName}: ${r.peak.tensors.map((t) => `${t.name} ${t.type}[${t.shape.join(',')}] ${t.bytes} B`).join(', ')}`,
    ...r.floatIslands.map(
      (i) =>
        `float island ${i.layers.join(', ')} (ops ${i.ops[0]}-${i.ops[1]}): ${i.floatBytes} B float, +${i.extraBytes} B over int8${i.atPeak ? ', sets the peak' : ''}; ${bought(i)}`,
    ),
  ];
  if (r.board) lines.push(`board        ${r.board.verdict}`);
  return lines;
}
