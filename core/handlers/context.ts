import type { EventHub } from '../app/events';
import type { JobManager } from '../jobs/manager';
import type { Store } from '../store/index';

/** What every handler group gets from the service: shared, lazily opened resources. */
export interface HandlerContext {
  dataDir: string;
  face: 'electron' | 'serve' | 'cli';
  events: EventHub;
  store(): Store;
  jobs(): JobManager;
  /** Jobs that run on the service's own thread (board I/O), cancelled through their controller. */
  inlineJobs: Map<string, AbortController>;
}
