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
}
