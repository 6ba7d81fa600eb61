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
  /** Ports the listing returned or this service launched: the windows may always use these. */
  knownPorts: Set<string>;
  /** Hosts of network boards the user added in the Boards screen (lower case). */
  remoteHosts: Set<string>;
  /** Absolute files the user picked or dropped in a window (Service.allowPath). */
  allowedPaths: Set<string>;
}
