// Runs inside a job worker thread: push a run's .tflite to a board, measure, record.
import { pushModel, type PushResult } from '../device/push';
import type { JobContext } from '../jobs/types';
import { openStore } from '../store/index';

export interface PushJobParams {
  dataDir: string;
  runId: number;
  port: string;
  model: string;
  bench?: number;
  data?: string;
  limit?: number;
}

export interface PushJobResult {
  deviceRunId: number;
  result: PushResult;
}

export async function pushJob(ctx: JobContext<PushJobParams>): Promise<PushJobResult> {
  const p = ctx.params;
  const store = openStore(p.dataDir);
  let boardId: number | undefined;
  try {
    const result = await pushModel({
      port: p.port,
      model: p.model,
      bench: p.bench,
      data: p.data,
      limit: p.limit,
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
      details: JSON.parse(JSON.stringify(result)),
    });
    return { deviceRunId, result };
  } catch (error) {
    // A failed measurement is history too, when we got far enough to know the board.
    if (boardId !== undefined) {
      store.recordDeviceRun({ runId: p.runId, boardId, status: ctx.signal.aborted ? 'cancelled' : 'failed', error: error instanceof Error ? error.message : String(error) });
    }
    throw error;
  } finally {
    store.close();
  }
}
