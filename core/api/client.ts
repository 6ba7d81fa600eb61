import type { EventPayload, Params, Result } from './contract';
import type { EventName, MethodName } from './methods';

/** How a face moves calls and events; Electron's preload and the WebSocket both fit. */
export interface ApiTransport {
  call(method: MethodName, params: unknown): Promise<unknown>;
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
}

export interface ApiClient {
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

export function createApiClient(transport: ApiTransport): ApiClient {
  return {
    call: (method, params) => transport.call(method, params) as Promise<never>,
    on: (event, listener) => transport.subscribe(event, listener as (payload: unknown) => void),
  };
}
