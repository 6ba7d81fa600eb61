import { connectSocket, socketTransport } from './tcp';
import type { Transport, TransportOptions } from '../transport';

// Telnet (RFC 854/856/858) and COM-PORT-OPTION (RFC 2217) codes.
const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240;
const BINARY = 0, SGA = 3, COM_PORT = 44;
const SET_BAUDRATE = 1, SET_DATASIZE = 2, SET_PARITY = 3, SET_STOPSIZE = 4;
const accepted = new Set([BINARY, SGA, COM_PORT]);

/**
 * Telnet with COM-PORT-OPTION, as ser2net's `telnet(rfc2217)` accepter speaks it. Binary
 * mode both ways keeps CR and 0xFF bytes intact; the line is set to BAUD 8N1.
 */
export async function openRfc2217(url: string, options: TransportOptions = {}): Promise<Transport> {
  const socket = await connectSocket(url, options);
  const baud = options.baudRate ?? 115200;
  const reply: number[] = [];
  const decoder = telnetDecoder((cmd, opt) => {
    if (cmd === DO) reply.push(IAC, accepted.has(opt) ? WILL : WONT, opt);
    else if (cmd === WILL) reply.push(IAC, accepted.has(opt) ? DO : DONT, opt);
  });
  const transport = socketTransport(url, socket, (chunk) => {
    const data = decoder(chunk);
    // Negotiation answers go straight back; they are not part of the serial byte stream.
    if (reply.length) socket.write(Uint8Array.from(reply.splice(0)));
    return data;
  }, escapeIac);
  const sb = (...bytes: number[]) => [IAC, SB, COM_PORT, ...escapeIac(Uint8Array.from(bytes)), IAC, SE];
  socket.write(
    Uint8Array.from([
      IAC, WILL, BINARY, IAC, DO, BINARY, IAC, WILL, SGA, IAC, DO, SGA, IAC, WILL, COM_PORT,
      ...sb(SET_BAUDRATE, (baud >>> 24) & 255, (baud >>> 16) & 255, (baud >>> 8) & 255, baud & 255),
      ...sb(SET_DATASIZE, 8),
      ...sb(SET_PARITY, 1),
      ...sb(SET_STOPSIZE, 1),
    ]),
  );
  return transport;
}

/** Data 0xFF is doubled on a telnet stream. */
export function escapeIac(bytes: Uint8Array): Uint8Array {
  let count = 0;
  for (const b of bytes) if (b === IAC) count++;
  if (count === 0) return bytes;
  const out = new Uint8Array(bytes.length + count);
  let o = 0;
  for (const b of bytes) {
    out[o++] = b;
    if (b === IAC) out[o++] = IAC;
  }
  return out;
}

/** Strips telnet commands from a stream split at arbitrary points; reports DO/WILL/... */
export function telnetDecoder(onOption: (command: number, option: number) => void): (chunk: Uint8Array) => Uint8Array {
  let state: 'data' | 'iac' | 'option' | 'sb' | 'sb-iac' = 'data';
  let command = 0;
  return (chunk) => {
    const out = new Uint8Array(chunk.length);
    let o = 0;
    for (const b of chunk) {
      switch (state) {
        case 'data':
          if (b === IAC) state = 'iac';
          else out[o++] = b;
          break;
        case 'iac':
          if (b === IAC) { out[o++] = IAC; state = 'data'; }
          else if (b === SB) state = 'sb';
          else if (b >= WILL && b <= DONT) { command = b; state = 'option'; }
          else state = 'data';
          break;
        case 'option':
          onOption(command, b);
          state = 'data';
          break;
        case 'sb':
          // Server notifications (line state, modem state, baud echoes) are not needed.
          if (b === IAC) state = 'sb-iac';
          break;
        case 'sb-iac':
          state = b === SE ? 'data' : 'sb';
          break;
      }
    }
    return out.subarray(0, o);
  };
}
