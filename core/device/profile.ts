import { inspectTflite, readTflite } from '../tflite';
import { builtinOperatorName } from '../tflite/schema';
import type { Board } from './board';
import { DeviceError } from './errors';

/** One operator as the board timed it, named from the model file. */
export interface DeviceProfileOp {
  index: number;
  /** TFLite builtin name, e.g. CONV_2D. */
  op: string;
  /** Name of the operator's first output tensor in the .tflite (the exporter names it after its layer). */
  output: string;
  cycles: number;
  /** cycles at the board's clock. */
  us: number;
  /** Fraction of the summed cycles. */
  share: number;
  /** Multiply-accumulates of one inference (core/tflite inspection). */
  macs: number;
  /** Where the first output lives: arena byte offset and size (a constant output has no arena place). */
  outputOffset: number | null;
  outputBytes: number;
}

export interface DeviceProfile {
  runs: number;
  cpuHz: number;
  /** Fastest plain inference: the whole-inference figure. */
  invokeCycles: number;
  invokeUs: number;
  /** Fastest profiled inference with the profiler's own cost taken out; the operators add up to it. */
  profiledCycles: number;
  /** Sum of the per-operator cycles. */
  sumCycles: number;
  /** sumCycles / invokeCycles: how well the parts account for the whole. */
  sumOverWhole: number;
  ops: DeviceProfileOp[];
}

/** PROFILE on the loaded model, with names and MACs from the same .tflite bytes. */
export async function profileOnBoard(board: Board, model: Uint8Array, modelPath: string, runs?: number): Promise<DeviceProfile> {
  const cpuHz = board.hello!.cpuHz;
  const raw = await board.profile(runs);
  const inspection = inspectTflite(readTflite(model));
  if (inspection.ops.length !== raw.ops.length) {
    throw new DeviceError('DEVICE_PROFILE_MISMATCH', `board on ${board.port} profiled ${raw.ops.length} operators, ${modelPath} has ${inspection.ops.length}`, {
      hint: 'push the model again: the board may hold a different model',
    });
  }
  const sumCycles = raw.ops.reduce((n, o) => n + o.cycles, 0);
  const ops = raw.ops.map((o): DeviceProfileOp => {
    const summary = inspection.ops[o.index];
    const outputTensor = summary?.outputs[0];
    return {
      index: o.index,
      op: builtinOperatorName(o.code),
      output: outputTensor !== undefined ? inspection.tensors[outputTensor]?.name ?? '' : '',
      cycles: o.cycles,
      us: (o.cycles * 1e6) / cpuHz,
      share: sumCycles ? o.cycles / sumCycles : 0,
      macs: summary?.macs ?? 0,
      outputOffset: o.outputConst ? null : o.outputOffset,
      outputBytes: o.outputBytes,
    };
  });
  return {
    runs: raw.runs,
    cpuHz,
    invokeCycles: raw.invokeCycles,
    invokeUs: raw.invokeUs,
    profiledCycles: raw.profiledCycles,
    sumCycles,
    sumOverWhole: raw.invokeCycles ? sumCycles / raw.invokeCycles : 0,
    ops,
  };
}
