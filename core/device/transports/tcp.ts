import net from 'node:net';
import { DeviceError } from '../errors';
import { TransportEvents, type Transport, type TransportOptions } from '../transport';

export function parseHostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const port = Number(parsed.port);
  if (!parsed.hostname || !Number.isInteger(port) || port <= 0) {
    throw new DeviceError('DEVICE_BAD_URL', `${url} is not host:port`, { hint: 'write it as tcp://HOST:PORT or rfc2217://HOST:PORT' });
  }
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port };
}

/** Connects a socket, failing with a message that names the URL. */
export function connectSocket(url: string, options: TransportOptions): Promise<net.Socket> {
  const { host, port } = parseHostPort(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DeviceError('DEVICE_OPEN_FAILED', `could not connect to ${url}: no answer within ${options.openTimeoutMs ?? 3000} ms`, {
        hint: 'check that ser2net (or the board server) runs and the port is reachable',
      }));
    }, options.openTimeoutMs ?? 3000);
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new DeviceError('DEVICE_OPEN_FAILED', `could not connect to ${url}: ${err.message}`, {
        hint: 'check that ser2net (or the board server) runs and the port is reachable',
        cause: err,
      }));
    });
  });
}

/** Wraps a connected socket; `decode`/`encode` let RFC 2217 filter telnet in and out. */
export function socketTransport(
  url: string,
  socket: net.Socket,
  decode: (chunk: Uint8Array) => Uint8Array = (c) => c,
  encode: (bytes: Uint8Array) => Uint8Array = (b) => b,
): Transport {
  const events = new TransportEvents();
  socket.on('data', (chunk: Buffer) => {
    const data = decode(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (data.length) events.emitData(data);
  });
  socket.on('error', (err) => events.emitClose(err));
  socket.on('close', () => events.emitClose(new Error('connection closed by the remote end')));
  return {
    port: url,
    onData: (l) => events.onData(l),
    onClose: (l) => events.onClose(l),
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (events.isClosed) return reject(new Error('connection closed'));
        socket.write(encode(bytes), (err) => (err ? reject(err) : resolve()));
      }),
    close: async () => {
      events.emitClose();
      socket.destroy();
    },
  };
}

/** Raw TCP: the bytes of the serial line, nothing else (ser2net `accepter: tcp,...`). */
export async function openTcp(url: string, options: TransportOptions = {}): Promise<Transport> {
  return socketTransport(url, await connectSocket(url, options));
}
