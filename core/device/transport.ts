/** A byte pipe to a board: a local serial port, a TCP socket, or RFC 2217 through ser2net. */
export interface Transport {
  /** What the user typed (`/dev/ttyACM0`, `tcp://host:port`): every error message names it. */
  readonly port: string;
  write(bytes: Uint8Array): Promise<void>;
  onData(listener: (bytes: Uint8Array) => void): void;
  /** Called once when the link goes away, with the reason when it was not a requested close. */
  onClose(listener: (error?: Error) => void): void;
  close(): Promise<void>;
}

export interface TransportOptions {
  baudRate?: number;
  /** Milliseconds to wait for the port or the socket to open. */
  openTimeoutMs?: number;
}

/** Shared listener bookkeeping for transport implementations. */
export class TransportEvents {
  private dataListeners: ((bytes: Uint8Array) => void)[] = [];
  private closeListeners: ((error?: Error) => void)[] = [];
  private closed = false;

  onData(listener: (bytes: Uint8Array) => void): void {
    this.dataListeners.push(listener);
  }
  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }
  emitData(bytes: Uint8Array): void {
    for (const l of this.dataListeners) l(bytes);
  }
  emitClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l(error);
  }
  get isClosed(): boolean {
    return this.closed;
  }
}
