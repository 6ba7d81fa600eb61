import path from 'node:path';
import { contract, ContractError, parseParams, type Params, type Result } from './api/contract';
import { isMethodName, type MethodName } from './api/methods';
import { EventHub } from './app/events';
import { appHandlers } from './handlers/app';
import type { HandlerContext } from './handlers/context';
import { boardHandlers } from './handlers/boards';
import { compressHandlers } from './handlers/compress';
import { modelHandlers } from './handlers/models';
import { runHandlers } from './handlers/runs';
import { JobManager } from './jobs/manager';
import type { LaunchedBoard } from './device/launch';
import { openStore, type Store } from './store/index';

export interface ServiceOptions {
  dataDir: string;
  face: 'electron' | 'serve' | 'cli';
}

type Handlers = { [M in MethodName]: (params: Params<M>) => Promise<Result<M>> };

/**
 * The core service: every method any face offers is implemented here once. Faces call
 * `invoke` with untrusted input; it checks the method name and parses the parameters.
 * The store and the job threads are opened on first use, so `quantbench info` stays fast.
 */
export class Service {
  readonly events = new EventHub();
  private readonly handlers: Handlers;
  private storeInstance: Store | null = null;
  private jobManager: JobManager | null = null;
  /** Boards this service started (virtual or QEMU), stopped with it. */
  private readonly launched = new Map<string, { kind: 'virtual' | 'qemu'; board: LaunchedBoard }>();
  private readonly allowedPaths = new Set<string>();

  constructor(readonly options: ServiceOptions) {
    const ctx: HandlerContext = {
      dataDir: options.dataDir,
      face: options.face,
      events: this.events,
      store: () => (this.storeInstance ??= openStore(options.dataDir)),
      jobs: () => (this.jobManager ??= new JobManager({ events: this.events })),
      inlineJobs: new Map(),
      knownPorts: new Set(),
      remoteHosts: new Set(),
      allowedPaths: this.allowedPaths,
    };
    this.handlers = { ...appHandlers(ctx), ...modelHandlers(ctx), ...compressHandlers(ctx), ...runHandlers(ctx), ...boardHandlers(ctx, this.launched) };
  }

  /**
   * A file the user picked in a dialog or dropped on the window: from then on the window may
   * name it in a dataset spec. For faces only; never reachable through `invoke`.
   */
  allowPath(file: string): void {
    this.allowedPaths.add(path.resolve(file));
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

  /**
   * The built-in sample, ready to use: the sample model imported and a virtual board running.
   * Returns the model's id and the board's port.
   */
  async prepareSample(): Promise<{ modelId: number; port: string }> {
    const model = await this.call('models.importSample', {});
    const board = await this.call('boards.launch', { kind: 'virtual' });
    return { modelId: model.id, port: board.path };
  }

  async close(): Promise<void> {
    await Promise.all([...this.launched.values()].map((l) => l.board.stop()));
    this.launched.clear();
    await this.jobManager?.shutdown();
    this.storeInstance?.close();
    this.storeInstance = null;
  }
}

export function createService(options: ServiceOptions): Service {
  return new Service(options);
}
