import type { DeviceProfile } from '../../device/profile';
import { pushModel, type PushResult } from '../../device/push';
import { numberOption, stringOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { emit } from '../output';

export const pushCommand: CliCommand = {
  name: 'push',
  usage: `Usage: quantbench push MODEL.tflite --port PORT|URL [--bench N] [--eval --data SPEC --limit N]
                       [--profile] [--input-scale S] [--baud N] [--json]

PORT is a serial path (/dev/ttyACM0, COM3, the path \`quantbench board virtual\` prints) or
a URL for a board behind ser2net: tcp://HOST:PORT or rfc2217://HOST:PORT.

  --bench N      time N runs on the board (after one warm-up): min/median/p95/max
  --eval         run the dataset on the board and compare every output with the desktop
                 int8 result of the same file (must agree 100%)
  --data SPEC    dataset spec (fashion-mnist:test, idx:IMAGES,LABELS, npz:FILE, ...) or
                 random[:SEED] for seeded inputs without labels
  --limit N      at most N samples
  --profile      time every operator on the board (fastest of 3 to 50 runs) and print a table
                 of cycles, share and arena placement per operator, with the sum held
                 against the whole inference
  --input-scale S  multiply raw samples by S first (e.g. 0.00392156862745098 for 1/255),
                 as for \`quantbench compress\`
  --baud N       serial baud rate (default 115200)`,
  valueOptions: ['port', 'bench', 'data', 'limit', 'baud', 'input-scale'],
  flags: ['eval', 'profile'],
  async run(ctx) {
    const model = ctx.positionals[0];
    if (!model) throw new UsageError('say which model to push');
    const port = stringOption(ctx.options, 'port');
    if (!port) throw new UsageError('--port is required (see `quantbench boards`)');
    const evaluate = ctx.options.eval === true;
    const data = stringOption(ctx.options, 'data');
    if (evaluate && !data) throw new UsageError('--eval needs --data SPEC');
    if (data && !evaluate) throw new UsageError('--data is used with --eval');
    const result = await pushModel({
      port,
      model,
      bench: numberOption(ctx.options, 'bench'),
      data: evaluate ? data : undefined,
      limit: numberOption(ctx.options, 'limit'),
      inputScale: numberOption(ctx.options, 'input-scale'),
      baudRate: numberOption(ctx.options, 'baud'),
      profile: ctx.options.profile === true,
      onLog: ctx.json ? undefined : (line) => ctx.stderr.write(line + '\n'),
    });
    emit(ctx, result, () => describe(result));
    return result.eval && result.eval.agreement < 1 ? 1 : 0;
  },
};

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`;
}

function describe(r: PushResult): string {
  const lines = [
    `board     ${r.board.name} (${r.board.cpu}, ${(r.board.cpuHz / 1e6).toFixed(0)} MHz), firmware ${r.board.firmware}, ${r.port}`,
    `model     ${r.model.path}: ${r.model.bytes} bytes, arena ${r.model.arenaBytes} bytes`,
    `upload    ${r.upload.seconds.toFixed(2)} s, ${(r.upload.bytesPerSecond / 1024).toFixed(1)} KiB/s${r.upload.rewinds ? `, ${r.upload.rewinds} resends` : ''}`,
  ];
  if (r.bench) {
    lines.push(`latency   median ${r.bench.medianUs} µs (${r.bench.medianCycles} cycles), min ${r.bench.us.min}, p95 ${r.bench.us.p95}, max ${r.bench.us.max} µs over ${r.bench.runs} runs`);
  }
  if (r.eval) {
    const e = r.eval;
    lines.push(`eval      ${e.samples} samples of ${e.data}: accuracy ${pct(e.accuracy)} on the board, ${pct(e.desktopAccuracy)} on the desktop`);
    lines.push(`agreement ${pct(e.agreement)} with the desktop int8 result${e.mismatchCount ? ` (${e.mismatchCount} samples differ)` : ''}`);
    for (const m of e.mismatches) lines.push(`  sample ${m.index}: ${m.differingBytes} output bytes differ, board predicts ${m.devicePrediction}, desktop ${m.desktopPrediction}`);
    const d = e.deviceVsDesktop;
    lines.push(`vs desktop rmse ${d.rmse.toExponential(3)}, mae ${d.mae.toExponential(3)}, l2r ${d.l2r.toExponential(3)}, cos ${d.cos.toFixed(6)}`);
    if (e.deviceVsTruth) {
      const t = e.deviceVsTruth;
      lines.push(`vs truth  acc ${pct(t.acc)}, rmse ${t.rmse.toFixed(4)}, mae ${t.mae.toFixed(4)}, l2r ${t.l2r.toFixed(4)}, cos ${t.cos.toFixed(4)}`);
    }
    lines.push(`latency   mean ${e.meanUs.toFixed(0)} µs per sample (${e.meanCycles.toFixed(0)} cycles) during evaluation`);
  }
  if (r.profile) lines.push(...profileTable(r.profile));
  return lines.join('\n');
}

function profileTable(p: DeviceProfile): string[] {
  const rows = p.ops.map((o) => [
    String(o.index), o.op, o.output, String(o.cycles), o.us.toFixed(1), `${(o.share * 100).toFixed(1)}%`,
    o.outputOffset === null ? 'const' : String(o.outputOffset), String(o.outputBytes),
  ]);
  const head = ['#', 'op', 'output', 'cycles', 'µs', 'share', 'arena at', 'bytes'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  // Text columns left, figures right.
  const line = (cells: string[]) => cells.map((cell, c) => (c === 1 || c === 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  return [
    `profile   ${p.ops.length} operators, fastest of ${p.runs} runs: ${p.sumCycles} cycles summed, ${p.invokeCycles} for the whole inference (${(p.sumOverWhole * 100).toFixed(1)}%)`,
    line(head),
    ...rows.map(line),
  ];
}
