import type { EventName, MethodName } from './methods';

/** Messages on the WebSocket (serve mode) and the Electron IPC envelope. */
export interface CallRequest {
  id: number;
  method: MethodName;
  params: unknown;
}

export interface WireError {
  name: string;
  code: string;
  message: string;
  hint?: string;
}

export type CallResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: WireError };

export interface EventMessage {
  event: EventName;
  payload: unknown;
}

/** An error thrown on the calling side, carrying what the core said. */
export class RemoteError extends Error {
  readonly code: string;
  readonly hint?: string;
  constructor(error: WireError) {
    super(error.message);
    this.name = error.name;
    this.code = error.code;
    this.hint = error.hint;
  }
}
