import { SerialPort } from 'serialport';
import { DeviceError } from '../errors';
import { TransportEvents, type Transport, type TransportOptions } from '../transport';

/**
 * A local serial port. Opening it must not reset the board: boards such as the Arduino
 * Uno reset when DTR rises, so HUPCL is cleared and DTR is left alone.
 */
export async function openSerial(path: string, options: TransportOptions = {}): Promise<Transport> {
  const port = new SerialPort({ path, baudRate: options.baudRate ?? 115200, autoOpen: false, hupcl: false });
  await withTimeout(
    new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve()))),
    options.openTimeoutMs ?? 3000,
    path,
  ).catch((err: unknown) => {
    throw new DeviceError('DEVICE_OPEN_FAILED', `could not open serial port ${path}: ${(err as Error).message}`, {
      hint: 'check the path with `quantbench boards`, that no other program holds the port, and your permissions (dialout group)',
      cause: err,
    });
  });
  const events = new TransportEvents();
  port.on('data', (chunk: Buffer) => events.emitData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  port.on('error', (err: Error) => events.emitClose(err));
  port.on('close', (err?: Error | null) => events.emitClose(err ?? undefined));
  return {
    port: path,
    onData: (l) => events.onData(l),
    onClose: (l) => events.onClose(l),
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (events.isClosed) return reject(new Error('port closed'));
        port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err) => (err ? reject(err) : resolve()));
      }),
    close: () =>
      new Promise<void>((resolve) => {
        events.emitClose();
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms opening ${what}`)), ms);
    promise.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e: unknown) => { clearTimeout(timer); reject(e as Error); },
    );
  });
}
