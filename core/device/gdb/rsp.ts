import net from 'node:net';
import { GdbError } from './errors';

/**
 * A client for the GDB remote serial protocol over TCP: the interface OpenOCD, pyOCD,
 * J-Link GDB Server, st-util and QEMU's gdbstub all serve. Packets are `$data#cs`,
 * acknowledged with `+` (or `-` to ask for a resend) until both sides agree on
 * QStartNoAckMode. All-stop mode only: one request, one reply.
 */
export class GdbRemote {
  readonly address: string;
  /** What the server said to qSupported, `name` -> value (`+`, `-` or `name=value`). */
  features = new Map<string, string>();
  /** The largest packet the server accepts (qSupported PacketSize), in bytes. */
  packetSize = 400;
  private socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private closed: Error | undefined;
  private noAck = false;
  private timeoutMs: number;

  private constructor(address: string, socket: net.Socket, timeoutMs: number) {
    this.address = address;
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed ??= new Error('the server closed the connection');
      this.wake();
    });
    socket.on('error', (error) => {
      this.closed = error;
      this.wake();
    });
  }

  /** Connects to HOST:PORT and agrees on features (qSupported, no-ack mode where offered). */
  static async connect(address: string, options: { timeoutMs?: number } = {}): Promise<GdbRemote> {
    const { host, port } = parseAddress(address);
    const timeoutMs = options.timeoutMs ?? 5000;
    const hint = 'start the GDB server (openocd, pyocd gdbserver, JLinkGDBServer, st-util, qemu -gdb) and check the address';
    const deadline = Date.now() + timeoutMs;
    let socket: net.Socket | undefined;
    // A server that is still starting refuses connections for a moment: retry until the deadline.
    while (!socket) {
      try {
        socket = await openSocket(host, port, Math.max(100, deadline - Date.now()));
      } catch (error) {
        const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        if (!refused || Date.now() + 100 >= deadline) {
          throw new GdbError('GDB_CONNECT_FAILED', `GDB server ${address}: ${(error as Error).message}`, { hint, cause: error });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const remote = new GdbRemote(address, socket, timeoutMs);
    try {
      await remote.handshake();
    } catch (error) {
      remote.close();
      throw error;
    }
    return remote;
  }

  private async handshake(): Promise<void> {
    const reply = await this.request('qSupported:multiprocess-;swbreak+;hwbreak+;qRelocInsn-;xmlRegisters=arm');
    for (const item of reply.split(';')) {
      if (!item) continue;
      const eq = item.indexOf('=');
      if (eq > 0) this.features.set(item.slice(0, eq), item.slice(eq + 1));
      else this.features.set(item.replace(/[+\-?]$/, ''), item.slice(-1));
    }
    const size = this.features.get('PacketSize');
    if (size && /^[0-9a-f]+$/i.test(size)) this.packetSize = Math.max(64, parseInt(size, 16));
    if (this.features.get('QStartNoAckMode') === '+' && (await this.request('QStartNoAckMode')) === 'OK') this.noAck = true;
  }

  supports(feature: string): boolean {
    return this.features.get(feature) === '+';
  }

  /** Sends one packet and returns the reply's data (without `$`, `#` and checksum). */
  async request(data: string | Uint8Array): Promise<string> {
    const payload = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    const frame = Buffer.concat([Buffer.from('$'), payload, Buffer.from(`#${hexByte(checksum(payload))}`)]);
    const name = describe(payload);
    for (let attempt = 0; ; attempt++) {
      this.socket.write(frame);
      if (this.noAck) break;
      const ack = await this.readAck(name);
      if (ack === '+') break;
      if (attempt >= 3) throw new GdbError('GDB_PROTOCOL', `GDB server ${this.address}: ${name} was refused (-) ${attempt + 1} times`, { hint: 'check nothing else is connected to the server and the link is not lossy' });
    }
    return this.readPacket(name);
  }

  /** Sends a packet whose reply does not come now (`c` in all-stop mode). */
  async send(data: string): Promise<void> {
    const payload = Buffer.from(data, 'latin1');
    this.socket.write(Buffer.concat([Buffer.from('$'), payload, Buffer.from(`#${hexByte(checksum(payload))}`)]));
    if (!this.noAck) await this.readAck(describe(payload));
  }

  close(): void {
    this.closed ??= new Error('closed');
    this.socket.destroy();
  }

  private async readAck(name: string): Promise<'+' | '-'> {
    for (;;) {
      // Stray notifications and a late resent packet's ack can come first; skip to the ack.
      const dollar = this.buffer.indexOf(0x24);
      const end = dollar < 0 ? this.buffer.length : dollar;
      const at = this.buffer.subarray(0, end).findIndex((b) => b === 0x2b || b === 0x2d);
      if (at >= 0) {
        const c = this.buffer[at] === 0x2b ? '+' : '-';
        this.buffer = this.buffer.subarray(at + 1);
        return c;
      }
      // A reply with no ack before it: the server had the packet.
      if (dollar >= 0) return '+';
      await this.more(name);
    }
  }

  private async readPacket(name: string): Promise<string> {
    for (;;) {
      const start = this.buffer.indexOf(0x24);
      if (start >= 0) {
        const hash = this.buffer.indexOf(0x23, start + 1);
        if (hash >= 0 && this.buffer.length >= hash + 3) {
          const body = this.buffer.subarray(start + 1, hash);
          const sent = parseInt(this.buffer.subarray(hash + 1, hash + 3).toString('latin1'), 16);
          this.buffer = this.buffer.subarray(hash + 3);
          if (!this.noAck && sent !== checksum(body)) {
            this.socket.write('-');
            continue;
          }
          if (!this.noAck) this.socket.write('+');
          const text = expandRunLength(body);
          // `O` packets are console output a server may send before the real reply.
          if (/^O[0-9a-f]+$/i.test(text) && name !== 'qC') continue;
          return text;
        }
      }
      await this.more(name);
    }
  }

  private more(name: string): Promise<void> {
    if (this.closed) {
      return Promise.reject(new GdbError('GDB_CONNECTION_LOST', `GDB server ${this.address}: ${this.closed.message} while waiting for the reply to ${name}`, { hint: 'the server may have stopped or only accept one client; restart it and retry' }));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(new GdbError('GDB_TIMEOUT', `GDB server ${this.address}: no reply to ${name} within ${this.timeoutMs} ms`, { hint: 'the target may be running or the probe disconnected; check the server log' }));
      }, this.timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(address.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || !(port > 0 && port < 65536)) {
    throw new GdbError('GDB_BAD_ADDRESS', `"${address}" is not a GDB server address`, { hint: 'give HOST:PORT, for example localhost:3333 (OpenOCD) or localhost:1234 (QEMU -gdb tcp::1234)' });
  }
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
}

/** Escapes `#`, `$`, `}` and `*` for binary packets (X, vFlashWrite). */
export function escapeBinary(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0x23 || b === 0x24 || b === 0x7d || b === 0x2a) out.push(0x7d, b ^ 0x20);
    else out.push(b);
  }
  return Uint8Array.from(out);
}

/** Undoes `}` escapes in a binary reply (qXfer). */
export function unescapeBinary(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7d && i + 1 < text.length) out.push(text.charCodeAt(++i) ^ 0x20);
    else out.push(c & 0xff);
  }
  return Uint8Array.from(out);
}

/** `X*n` repeats X a further n - 29 times (n is printable). */
function expandRunLength(body: Uint8Array): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === 0x2a && out.length > 0 && i + 1 < body.length) {
      out += out[out.length - 1]!.repeat(body[++i]! - 29);
    } else if (c === 0x7d && i + 1 < body.length) {
      // keep the escape for unescapeBinary; RLE never applies to the escaped byte itself
      out += String.fromCharCode(c, body[++i]!);
    } else {
      out += String.fromCharCode(c);
    }
  }
  return out;
}

function describe(payload: Uint8Array): string {
  const text = Buffer.from(payload.subarray(0, 24)).toString('latin1');
  const m = /^(v[A-Za-z]+|q[A-Za-z]+|Q[A-Za-z]+|[A-Za-z?])/.exec(text);
  return m ? `'${m[1]}'` : 'a packet';
}

export function hexByte(n: number): string {
  return n.toString(16).padStart(2, '0');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
