import type { JobDone, JobProgress } from '../../../core/api/contract';
import { api } from './api';

/** Follows one job's events from start to finish for a view. */
export class JobWatch {
  progress = $state<JobProgress | null>(null);
  log = $state<string[]>([]);
  done = $state<JobDone | null>(null);
  private offs: (() => void)[] = [];

  constructor(
    readonly jobId: string,
    onDone?: (done: JobDone) => void,
  ) {
    this.offs.push(
      api.on('onJobProgress', (p) => {
        if (p.jobId !== jobId) return;
        this.progress = p;
        if (p.message) this.log = [...this.log.slice(-199), `${p.step}: ${p.message}`];
      }),
      api.on('onJobLog', (l) => {
        if (l.jobId === jobId) this.log = [...this.log.slice(-199), l.line];
      }),
      api.on('onJobDone', (d) => {
        if (d.jobId !== jobId) return;
        this.done = d;
        this.dispose();
        onDone?.(d);
      }),
    );
  }

  cancel(): Promise<unknown> {
    return api.call('jobs.cancel', { jobId: this.jobId });
  }

  dispose(): void {
    this.offs.forEach((off) => off());
    this.offs = [];
  }
}
