/**
 * Base class for every error Quantbench reports to a user. `code` is stable and
 * machine-readable; `hint` says what to do about it. Faces (CLI, IPC, WebSocket)
 * serialise these fields so the same words reach the user everywhere.
 */
export class QuantbenchError extends Error {
  readonly code: string;
  readonly hint?: string;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

export interface SerializedError {
  name: string;
  code: string;
  message: string;
  hint?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof QuantbenchError) {
    return { name: error.name, code: error.code, message: error.message, hint: error.hint };
  }
  if (error instanceof Error) {
    // Errors from the API contract and from Node carry a string code of their own.
    const code = (error as { code?: unknown }).code;
    return { name: error.name, code: typeof code === 'string' ? code : 'INTERNAL', message: error.message };
  }
  return { name: 'Error', code: 'INTERNAL', message: String(error) };
}

/** One line for a terminal: the message, then what to do. */
export function formatError(error: unknown): string {
  const e = serializeError(error);
  return e.hint ? `${e.message} (${e.hint})` : e.message;
}
