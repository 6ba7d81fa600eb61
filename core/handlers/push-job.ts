// Push a run's .tflite to a board, measure, record. It runs on the service's own thread:
// the serial port binding receives no data when opened from a worker thread, and the work
// is mostly waiting on the link.
import { pushModel, type PushResult } from '../device/push';
import type { JobContext } from '../jobs/types';
import type { Store } from '../store/index';

export interface PushJobParams {
  runId: number;
  port: string;
  model: string;
  bench?: number;
  data?: string;
  limit?: number;
  profile?: boolean;
}

export interface PushJobResult {
  deviceRunId: number;
  result: PushResult;
}

export async function pushJob(ctx: Omit<JobContext<PushJobParams>, 'publish'>, store: Store): Promise<PushJobResult> {
  const p = ctx.params;
  let boardId: number | undefined;
  try {
    const result = await pushModel({
      port: p.port,
      model: p.model,
      bench: p.bench,
      data: p.data,
      limit: p.limit,
      profile: p.profile,
      signal: ctx.signal,
      onLog: (line) => ctx.log(line),
      onProgress: (stage, fraction) => ctx.progress(stage, fraction),
      onBoard: (hello) => {
        boardId = store.recordBoard({ name: hello.name, firmwareVersion: hello.firmware, port: p.port, cpu: hello.cpu, clockHz: hello.cpuHz }).id;
      },
    });
    const deviceRunId = store.recordDeviceRun({
      runId: p.runId,
      boardId: boardId!,
      status: 'succeeded',
      latencyUs: result.bench?.us,
      cycles: result.bench?.cycles,
      accuracy: result.eval?.accuracy ?? undefined,
      agreement: result.eval?.agreement,
      arenaBytes: result.model.arenaBytes,
      modelBytes: result.model.bytes,
      uploadSeconds: result.upload.seconds,
      uploadBytesPerSecond: result.upload.bytesPerSecond,
      profile: result.profile,
      // The profile has its own table; the rest of the result is kept as it came.
      details: JSON.parse(JSON.stringify({ ...result, profile: undefined })),
    });
    return { deviceRunId, result };
  } catch (error) {
    // A failed measurement is history too, when we got far enough to know the board.
    if (boardId !== undefined) {
      store.recordDeviceRun({ runId: p.runId, boardId, status: ctx.signal.aborted ? 'cancelled' : 'failed', error: error instanceof Error ? error.message : String(error) });
    }
    throw error;
  }
}
