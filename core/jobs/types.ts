/** What a job's code receives inside its worker thread. */
export interface JobContext<P = unknown> {
  jobId: string;
  params: P;
  /** Aborted when the user cancels; long loops check it between steps. */
  signal: AbortSignal;
  /** fraction in 0..1, or null while the amount of work is unknown. */
  progress(step: string, fraction: number | null, message?: string): void;
  log(line: string): void;
  /** Tells the starting thread a fact it may need even if this thread is later killed (a run id). */
  publish(key: string, value: unknown): void;
}

export type JobHandler<P = unknown, R = unknown> = (ctx: JobContext<P>) => Promise<R>;

/** Where a job kind's code lives: loaded only inside the worker that runs it. */
export interface JobModule {
  /** Absolute path or file URL of a module. */
  module: string;
  /** Name of the exported JobHandler. */
  export: string;
}

export type WorkerMessage =
  | { type: 'progress'; step: string; fraction: number | null; message?: string }
  | { type: 'log'; line: string }
  | { type: 'publish'; key: string; value: unknown }
  | { type: 'result'; result: unknown }
  | { type: 'error'; error: { name: string; code: string; message: string; hint?: string } };

export interface WorkerInput {
  jobId: string;
  job: JobModule;
  params: unknown;
}
