import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { QuantbenchError } from '../errors';
import { JobFailedError } from './manager';
import { defaultWorkerEntry, jobModule, type JobName } from './registry';
import type { WorkerMessage } from './types';

export interface JobThread<R> {
  /** Settles with the job's result, or rejects with its error (also after stop()). */
  done: Promise<R>;
  /** Ends the thread (a no-op once it has finished). */
  stop(): Promise<void>;
}

/**
 * A job module run in a thread of its own by a job that is itself running: work it starts
 * for later and does not wait for (compress's float evaluation beside its compression
 * stages). Unlike JobManager's jobs these have no queue, no event and no id of their own:
 * the job that starts one reports its progress and must stop it when it ends early.
 */
export function startJobThread<R>(
  name: JobName,
  params: unknown,
  onProgress?: (fraction: number | null, message?: string) => void,
): JobThread<R> {
  const worker = new Worker(defaultWorkerEntry(), {
    workerData: { jobId: `${name}-${randomUUID()}`, job: jobModule(name), params },
  });
  let finished = false;
  let stopped = false;
  const done = new Promise<R>((resolve, reject) => {
    const settle = (fn: () => void) => {
      if (finished) return;
      finished = true;
      fn();
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress?.(message.fraction, message.message);
      else if (message.type === 'result') {
        settle(() => resolve(message.result as R));
        // Its memory (a tfjs backend, a model) is of no more use to anyone.
        void worker.terminate();
      } else if (message.type === 'error')
        settle(() => reject(new JobFailedError(name, message.error)));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) =>
      settle(() =>
        reject(
          stopped
            ? new QuantbenchError('JOB_CANCELLED', `the ${name} thread was stopped`)
            : new QuantbenchError(
                'JOB_CRASHED',
                `the ${name} thread stopped without a result (exit code ${code})`,
              ),
        ),
      ),
    );
  });
  // Whoever awaits `done` sees its error; until then a failure must not count as unhandled.
  done.catch(() => {});
  return {
    done,
    stop: async () => {
      if (finished) return;
      stopped = true;
      await worker.terminate();
    },
  };
}
