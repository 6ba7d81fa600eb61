/**
 * Instructions per inference of the Cortex-M4 build (QEMU mps2-an386) for ResNet-8, KWS and
 * ad01 (../shared/models) and the sample model's int8 export, with instructions per MAC
 * (MACs of the CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED layers, as `quantbench
 * inspect` counts them). Prints one JSON document.
 *
 *   node --import tsx bench/runtime-qemu.ts
 *
 * QEMU runs with -icount shift=N: every instruction advances virtual time by 2^N ns, and
 * SysTick counts the 25 MHz processor clock in that virtual time, so one tick is
 * 40 / 2^N instructions and counts repeat exactly run to run. Each model runs at shift 0
 * and shift 1 in the same run: the tick ratio (expected 2.0) checks that the count tracks
 * executed instructions rather than wall time, and the image's calibration loop (2,000,000
 * instructions, counted) gives the ticks-to-instructions factor itself. Resolution: one tick.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectTflite, readTflite, type TfliteModel } from '../core/tflite';
import { sampleInt8Export } from './sample-int8';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modelsDir = path.resolve(
  process.env.QUANTBENCH_SHARED_MODELS ?? path.join(root, '..', 'shared', 'models'),
);
const CALIBRATION_INSTRUCTIONS = 2_000_000;

function make(args: string[]): void {
  const r = spawnSync('make', ['-s', '-C', path.join(root, 'resources', 'firmware'), ...args], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`make ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

/** Multiply-accumulates of the convolution and fully connected layers (inspectTflite's count). */
const macOps = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'TRANSPOSE_CONV']);
function macs(model: TfliteModel): number {
  return inspectTflite(model)
    .ops.filter((o) => macOps.has(o.op))
    .reduce((n, o) => n + o.macs, 0);
}

/** A fixed input: the count does not depend on values (no data-dependent branches to speak of). */
function fixedInput(model: TfliteModel, file: string): Uint8Array {
  const g = model.subgraphs[0];
  const t = g.tensors[g.inputs[0]];
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.type === 'float32')
    return new Uint8Array(
      Float32Array.from({ length: count }, (_, i) => ((i * 37) % 255) / 255).buffer,
    );
  if (t.type !== 'int8' && t.type !== 'uint8') throw new Error(`${file}: input type ${t.type}`);
  return new Uint8Array(count).map((_, i) => (i * 37) & 0xff);
}

function ticks(elf: string, shift: number): { ticks: number; calibration: number; wallMs: number } {
  const start = process.hrtime.bigint();
  const r = spawnSync(
    'qemu-system-arm',
    [
      '-M',
      'mps2-an386',
      '-nographic',
      '-monitor',
      'none',
      '-icount',
      `shift=${shift}`,
      '-semihosting-config',
      'enable=on,target=native',
      '-serial',
      'stdio',
      '-kernel',
      elf,
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const m = /ticks (\d+)/.exec(r.stdout ?? '');
  const c = /calibration (\d+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m || !c)
    throw new Error(`QEMU run of ${elf} failed:\n${r.stdout}${r.stderr}`);
  return { ticks: Number(m[1]), calibration: Number(c[1]), wallMs };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'qb-bench-qemu-'));
try {
  make(['mps2']);
  const models = [
    {
      name: 'pretrainedResnet_quant.tflite',
      file: path.join(modelsDir, 'pretrainedResnet_quant.tflite'),
    },
    { name: 'kws_ref_model.tflite', file: path.join(modelsDir, 'kws_ref_model.tflite') },
    { name: 'ad01_int8.tflite', file: path.join(modelsDir, 'ad01_int8.tflite') },
    { name: 'fashion-mnist-cnn int8 export', file: sampleInt8Export(work) },
  ];
  const results = models.map(({ name, file: modelPath }) => {
    const model = readTflite(new Uint8Array(readFileSync(modelPath)));
    const g = model.subgraphs[0];
    const inputPath = path.join(work, `${name.replace(/\W/g, '_')}.in`);
    writeFileSync(inputPath, fixedInput(model, modelPath));
    const elfName = name.replace(/\W/g, '_');
    make(['selftest', `MODEL=${modelPath}`, `INPUT=${inputPath}`, `NAME=bench_${elfName}`]);
    const elf = path.join(root, 'build', 'firmware', 'mps2', 'selftest', `bench_${elfName}.elf`);
    const s0 = ticks(elf, 0);
    const s0again = ticks(elf, 0);
    const s1 = ticks(elf, 1);
    // the loop is timed to one tick, so the factor is rounded to the nearest instruction
    const instructionsPerTick = Math.round(CALIBRATION_INSTRUCTIONS / s0.calibration);
    const instructions = Math.round(s0.ticks * instructionsPerTick);
    const modelMacs = macs(model);
    return {
      model: name,
      ops: g.operators.length,
      macs: modelMacs,
      systickTicks: s0.ticks,
      instructionsPerTick,
      calibrationTicks: s0.calibration,
      instructions,
      macsPerInstruction: Number((modelMacs / instructions).toFixed(4)),
      instructionsPerMac: Number((instructions / modelMacs).toFixed(2)),
      repeatable: s0.ticks === s0again.ticks,
      shift1OverShift0: Number((s1.ticks / s0.ticks).toFixed(4)),
      qemuWallMs: Math.round(s0.wallMs),
    };
  });
  console.log(
    JSON.stringify(
      {
        bench: 'runtime-qemu',
        board: 'qemu-system-arm -M mps2-an386 (Cortex-M4F), -icount shift=0',
        build:
          'arm-none-eabi-gcc -O2 -mcpu=cortex-m4 -mfloat-abi=hard, Cortex-M4 DSP kernels (four-pixel SMLAD conv, four-filter fully connected, 3x3 depthwise on int16 planes, SMLAD/SMLABB depthwise otherwise, ADD/SUB in assembly), reference kernels for the rest',
        results,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
