import { DeviceError } from './errors';
import type { Transport, TransportOptions } from './transport';
import { openRfc2217 } from './transports/rfc2217';
import { openSerial } from './transports/serial';
import { openTcp } from './transports/tcp';

/** One entry per URL scheme; anything without a scheme is a local serial port path. */
const transports: Record<string, (url: string, options: TransportOptions) => Promise<Transport>> = {
  'tcp:': openTcp,
  'rfc2217:': openRfc2217,
};

export function openTransport(url: string, options: TransportOptions = {}): Promise<Transport> {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return openSerial(url, options);
  const open = transports[scheme];
  if (!open) {
    throw new DeviceError('DEVICE_BAD_URL', `unknown port scheme in ${url}`, {
      hint: `use a serial port path (/dev/ttyACM0, COM3), ${Object.keys(transports).map((s) => `${s}//host:port`).join(' or ')}`,
    });
  }
  return open(url, options);
}
