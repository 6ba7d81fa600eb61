import { randomUUID } from 'node:crypto';
import os from 'node:os';
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
  /** Null while the job waits in the queue. */
  worker: Worker | null;
  cancelled: boolean;
  startedAt: number;
  /** Starts the thread; called when a slot frees up. */
  launch: () => void;
  /** Settles a job cancelled before its thread started. */
  dropQueued: () => void;
}

/** Leaves one core to the faces' own thread (UI, WebSocket, serial I/O). */
export function defaultMaxConcurrentJobs(): number {
  const fromEnv = Number(process.env.QUANTBENCH_MAX_JOBS);
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return fromEnv;
  return Math.max(1, os.availableParallelism() - 1);
}

/**
 * A job's JavaScript heap may take its share of half the machine's memory; a runaway job then
 * fails with JOB_OUT_OF_MEMORY instead of taking the whole app (and the other jobs) with it.
 */
export function defaultJobHeapMb(maxConcurrent: number): number {
  const fromEnv = Number(process.env.QUANTBENCH_JOB_HEAP_MB);
  if (Number.isFinite(fromEnv) && fromEnv >= 64) return fromEnv;
  return Math.max(512, Math.floor(os.totalmem() / 2 / 1024 / 1024 / maxConcurrent));
}

export interface JobManagerOptions {
  events: EventHub;
  /** The worker entry; by default the tsx boot file from source, the bundled worker from a bundle. */
  workerEntry?: string;
  /** How long a cancelled job may take to stop by itself before its thread is terminated. */
  cancelGraceMs?: number;
  /** Jobs running at once; more wait in a queue. Default: cores - 1 (QUANTBENCH_MAX_JOBS). */
  maxConcurrent?: number;
  /** Heap limit of each job's thread in MiB (QUANTBENCH_JOB_HEAP_MB). */
  maxHeapMb?: number;
}

/**
 * Runs heavy work (calibration, evaluation, fine-tuning) in worker threads so no face's
 * main thread ever blocks, forwards progress as onJobProgress events with an estimate of
 * the time left, and cancels within a second even if the job never looks at its signal.
 */
export class JobManager {
  private readonly jobs = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private readonly workerEntry: string;
  private readonly cancelGraceMs: number;
  readonly maxConcurrent: number;
  readonly maxHeapMb: number;

  constructor(private readonly options: JobManagerOptions) {
    this.workerEntry = options.workerEntry ?? defaultWorkerEntry();
    this.cancelGraceMs = options.cancelGraceMs ?? 800;
    this.maxConcurrent = options.maxConcurrent ?? defaultMaxConcurrentJobs();
    this.maxHeapMb = options.maxHeapMb ?? defaultJobHeapMb(this.maxConcurrent);
  }

  /** `params` may be a function of the new job's id, for jobs that name their outputs after it. */
  start<R = unknown>(
    kind: string,
    job: JobModule,
    params: unknown,
    onLog?: (line: string, jobId: string) => void,
  ): RunningJob<R> {
    const jobId = randomUUID();
    const resolved =
      typeof params === 'function' ? (params as (id: string) => unknown)(jobId) : params;
    const published = new Map<string, unknown>();
    let launch = () => {};
    let dropQueued = () => {};
    const entry: Entry = {
      kind,
      worker: null,
      cancelled: false,
      startedAt: Date.now(),
      launch: () => launch(),
      dropQueued: () => dropQueued(),
    };
    this.jobs.set(jobId, entry);

    const done = new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.jobs.delete(jobId);
        this.startQueued();
        fn();
      };
      dropQueued = () => settle(() => reject(new JobCancelledError(kind, jobId)));
      launch = () => {
        entry.startedAt = Date.now();
        const worker = new Worker(this.workerEntry, {
          workerData: { jobId, job, params: resolved },
          resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb },
        });
        entry.worker = worker;
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
              settle(() =>
                reject(
                  entry.cancelled
                    ? new JobCancelledError(kind, jobId)
                    : new JobFailedError(kind, message.error),
                ),
              );
              break;
          }
        });
        worker.on('error', (error) => {
          const code = (error as NodeJS.ErrnoException).code;
          settle(() =>
            reject(
              code === 'ERR_WORKER_OUT_OF_MEMORY'
                ? new QuantbenchError(
                    'JOB_OUT_OF_MEMORY',
                    `${kind} job ${jobId} ran out of its ${this.maxHeapMb} MiB heap`,
                    {
                      hint: 'use a smaller evaluation limit or dataset slice, or raise QUANTBENCH_JOB_HEAP_MB',
                    },
                  )
                : error,
            ),
          );
        });
        worker.on('exit', (code) => {
          settle(() =>
            reject(
              entry.cancelled
                ? new JobCancelledError(kind, jobId)
                : new QuantbenchError(
                    'JOB_CRASHED',
                    `${kind} job ${jobId} stopped without a result (worker exit code ${code})`,
                  ),
            ),
          );
        });
      };
    });
    if (this.active() < this.maxConcurrent) entry.launch();
    else {
      this.queue.push(jobId);
      this.options.events.emit('onJobProgress', {
        jobId,
        kind,
        step: 'queued',
        fraction: null,
        message: `waiting: ${this.active()} job(s) running, at most ${this.maxConcurrent} at once`,
        etaSeconds: null,
      });
    }
    return { jobId, kind, done, published };
  }

  /** Asks the job to stop; terminates its thread if it has not stopped within the grace period. */
  cancel(jobId: string): boolean {
    const entry = this.jobs.get(jobId);
    if (!entry) return false;
    entry.cancelled = true;
    const worker = entry.worker;
    if (!worker) {
      this.queue.splice(this.queue.indexOf(jobId), 1);
      entry.dropQueued();
      return true;
    }
    worker.postMessage({ type: 'cancel' });
    const timer = setTimeout(() => void worker.terminate(), this.cancelGraceMs);
    worker.once('exit', () => clearTimeout(timer));
    return true;
  }

  /** Jobs with a thread, then jobs waiting for one. */
  running(): { jobId: string; kind: string; queued: boolean }[] {
    return [...this.jobs].map(([jobId, e]) => ({ jobId, kind: e.kind, queued: e.worker === null }));
  }

  async shutdown(): Promise<void> {
    for (const jobId of this.queue.splice(0)) this.jobs.get(jobId)?.dropQueued();
    await Promise.all([...this.jobs.values()].map((e) => e.worker?.terminate()));
    this.jobs.clear();
  }

  private active(): number {
    let n = 0;
    for (const e of this.jobs.values()) if (e.worker) n++;
    return n;
  }

  private startQueued(): void {
    while (this.queue.length > 0 && this.active() < this.maxConcurrent) {
      const next = this.jobs.get(this.queue.shift()!);
      next?.launch();
    }
  }

  private progressEvent(
    jobId: string,
    entry: Entry,
    message: Extract<WorkerMessage, { type: 'progress' }>,
  ): JobProgress {
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
