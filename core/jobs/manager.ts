import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { JobProgress } from '../api/contract';
import type { EventHub } from '../app/events';
import { QuantbenchError } from '../errors';
import { defaultWorkerEntry } from './registry';
import type { JobModule, WorkerMessage } from './types';

export class JobCancelledError extends QuantbenchError {
  constructor(kind: string, jobId: string) {
    super('JOB_CANCELLED', `${kind} job ${jobId} was cancelled`);
  }
}

export class JobFailedError extends QuantbenchError {
  constructor(kind: string, error: { code: string; message: string; hint?: string }) {
    super(error.code, error.message, { hint: error.hint });
    this.name = `JobFailedError(${kind})`;
  }
}

export interface RunningJob<R = unknown> {
  jobId: string;
  kind: string;
  /** Settles with the job's result, or rejects with JobCancelledError / the job's own error. */
  done: Promise<R>;
  /** What the job published while it ran, kept after it ends (or is killed). */
  published: Map<string, unknown>;
}

interface Entry {
  kind: string;
  worker: Worker;
  cancelled: boolean;
  startedAt: number;
}

export interface JobManagerOptions {
  events: EventHub;
  /** The worker entry; by default the tsx boot file from source, the bundled worker from a bundle. */
  workerEntry?: string;
  /** How long a cancelled job may take to stop by itself before its thread is terminated. */
  cancelGraceMs?: number;
}

/**
 * Runs heavy work (calibration, evaluation, fine-tuning) in worker threads so no face's
 * main thread ever blocks, forwards progress as onJobProgress events with an estimate of
 * the time left, and cancels within a second even if the job never looks at its signal.
 */
export class JobManager {
  private readonly jobs = new Map<string, Entry>();
  private readonly workerEntry: string;
  private readonly cancelGraceMs: number;

  constructor(private readonly options: JobManagerOptions) {
    this.workerEntry = options.workerEntry ?? defaultWorkerEntry();
    this.cancelGraceMs = options.cancelGraceMs ?? 800;
  }

  /** `params` may be a function of the new job's id, for jobs that name their outputs after it. */
  start<R = unknown>(kind: string, job: JobModule, params: unknown, onLog?: (line: string, jobId: string) => void): RunningJob<R> {
    const jobId = randomUUID();
    const resolved = typeof params === 'function' ? (params as (id: string) => unknown)(jobId) : params;
    const worker = new Worker(this.workerEntry, { workerData: { jobId, job, params: resolved } });
    const entry: Entry = { kind, worker, cancelled: false, startedAt: Date.now() };
    this.jobs.set(jobId, entry);
    const published = new Map<string, unknown>();

    const done = new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.jobs.delete(jobId);
        fn();
      };
      worker.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'progress':
            this.options.events.emit('onJobProgress', this.progressEvent(jobId, entry, message));
            break;
          case 'log':
            onLog?.(message.line, jobId);
            break;
          case 'publish':
            published.set(message.key, message.value);
            break;
          case 'result':
            settle(() => resolve(message.result as R));
            break;
          case 'error':
            settle(() => reject(entry.cancelled ? new JobCancelledError(kind, jobId) : new JobFailedError(kind, message.error)));
            break;
        }
      });
      worker.on('error', (error) => settle(() => reject(error)));
      worker.on('exit', (code) => {
        settle(() =>
          reject(
            entry.cancelled
              ? new JobCancelledError(kind, jobId)
              : new QuantbenchError('JOB_CRASHED', `${kind} job ${jobId} stopped without a result (worker exit code ${code})`),
          ),
        );
      });
    });
    return { jobId, kind, done, published };
  }

  /** Asks the job to stop; terminates its thread if it has not stopped within the grace period. */
  cancel(jobId: string): boolean {
    const entry = this.jobs.get(jobId);
    if (!entry) return false;
    entry.cancelled = true;
    entry.worker.postMessage({ type: 'cancel' });
    const timer = setTimeout(() => void entry.worker.terminate(), this.cancelGraceMs);
    entry.worker.once('exit', () => clearTimeout(timer));
    return true;
  }

  running(): { jobId: string; kind: string }[] {
    return [...this.jobs].map(([jobId, e]) => ({ jobId, kind: e.kind }));
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((e) => e.worker.terminate()));
    this.jobs.clear();
  }

  private progressEvent(jobId: string, entry: Entry, message: Extract<WorkerMessage, { type: 'progress' }>): JobProgress {
    const elapsed = (Date.now() - entry.startedAt) / 1000;
    const f = message.fraction;
    const fraction = f === null ? null : Math.min(1, Math.max(0, f));
    return {
      jobId,
      kind: entry.kind,
      step: message.step,
      fraction,
      message: message.message,
      etaSeconds: fraction && fraction > 0 ? (elapsed * (1 - fraction)) / fraction : null,
    };
  }
}
