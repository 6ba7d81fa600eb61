import os from 'node:os';
import type { Result } from '../api/contract';
import { probeBackends } from '../app/backends';
import { appVersion } from '../app/version';
import { latestSchemaVersion } from '../store/migrations/index';
import type { HandlerContext } from './context';

export function appHandlers(ctx: HandlerContext) {
  return {
    'app.info': async (): Promise<Result<'app.info'>> => ({
      name: 'Quantbench' as const,
      version: appVersion(),
      dataDir: ctx.dataDir,
      schemaVersion: latestSchemaVersion,
      platform: os.platform(),
      arch: os.arch(),
      node: process.versions.node,
      backends: probeBackends(),
      face: ctx.face,
    }),
  };
}
