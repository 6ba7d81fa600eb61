import path from 'node:path';
import { locateResources, type ResourceLocations } from '../app/resources';
import type { JobModule } from './types';

/**
 * Every module whose handler runs in a job worker, by name. From source the worker loads the
 * TypeScript file through tsx; from a bundle (the CLI, the Electron app) it loads the
 * `job-<name>.mjs` that scripts/build-bundles.mjs builds from the same entry, so no
 * TypeScript is compiled at run time. A new kind of job adds one line here.
 */
export const JOB_SOURCES = {
  compress: { source: 'core/handlers/compress-job.ts', export: 'compressJob' },
  fineTune: { source: 'core/handlers/finetune-job.ts', export: 'fineTuneJob' },
  floatEval: { source: 'core/handlers/float-eval-job.ts', export: 'floatEvalJob' },
} as const satisfies Record<string, { source: string; export: string }>;

export type JobName = keyof typeof JOB_SOURCES;

/** The bundled file of a job module, relative to the bundle folder. */
export function bundledJobFile(name: JobName): string {
  return `job-${name}.mjs`;
}

export function jobModule(name: JobName, where: ResourceLocations = locateResources()): JobModule {
  const entry = JOB_SOURCES[name];
  const module = where.bundleDir ? path.join(where.bundleDir, bundledJobFile(name)) : path.join(where.appRoot, entry.source);
  return { module, export: entry.export };
}

/** The worker thread's entry: the tsx boot file from source, the bundled worker otherwise. */
export function defaultWorkerEntry(where: ResourceLocations = locateResources()): string {
  return where.bundleDir ? path.join(where.bundleDir, 'worker.mjs') : path.join(where.appRoot, 'core', 'jobs', 'worker-boot.mjs');
}
