import os from 'node:os';
import { contract, parseParams, type Params, type Result } from './api/contract';
import { isMethodName, type MethodName } from './api/methods';
import { ContractError } from './api/contract';
import { probeBackends } from './app/backends';
import { EventHub } from './app/events';
import { appVersion } from './app/version';

export interface ServiceOptions {
  dataDir: string;
  face: 'electron' | 'serve' | 'cli';
}

type Handlers = { [M in MethodName]: (params: Params<M>) => Promise<Result<M>> };

/**
 * The core service: every method any face offers is implemented here once. Faces call
 * `invoke` with untrusted input; it checks the method name and parses the parameters.
 */
export class Service {
  readonly events = new EventHub();
  private readonly handlers: Handlers;

  constructor(readonly options: ServiceOptions) {
    this.handlers = {
      'app.info': async () => ({
        name: 'Quantbench' as const,
        version: appVersion(),
        dataDir: options.dataDir,
        platform: os.platform(),
        arch: os.arch(),
        node: process.versions.node,
        backends: probeBackends(),
        face: options.face,
      }),
    };
  }

  async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    return this.invoke(method, params) as Promise<Result<M>>;
  }

  /** Entry point for faces: validates the method name and the parameters first. */
  async invoke(method: unknown, params: unknown): Promise<unknown> {
    if (!isMethodName(method)) {
      throw new ContractError(`unknown method ${JSON.stringify(method)}`);
    }
    const parsed = parseParams(method, params);
    const handler = this.handlers[method] as (p: unknown) => Promise<unknown>;
    const result = await handler(parsed);
    return contract[method].result.parse(result);
  }
}

export function createService(options: ServiceOptions): Service {
  return new Service(options);
}
