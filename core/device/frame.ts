import { cobsDecode, cobsEncode } from './cobs';
import { crc32 } from './crc32';
import { CRC_BYTES, HEADER_BYTES, PACKET_OVERHEAD, PROTOCOL_VERSION } from './protocol';

/** One decoded packet (docs/protocol.md, "Framing"). */
export interface Packet {
  version: number;
  type: number;
  seq: number;
  flags: number;
  payload: Uint8Array;
}

/** Packet -> wire bytes: COBS(header | payload | crc32) followed by 0x00. */
export function encodeFrame(type: number, seq: number, flags: number, payload: Uint8Array, version = PROTOCOL_VERSION): Uint8Array {
  const packet = new Uint8Array(PACKET_OVERHEAD + payload.length);
  const view = new DataView(packet.buffer);
  packet[0] = version;
  packet[1] = type;
  view.setUint16(2, seq, true);
  packet[4] = flags;
  view.setUint16(5, payload.length, true);
  packet.set(payload, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + payload.length, crc32(packet.subarray(0, HEADER_BYTES + payload.length)), true);
  const encoded = cobsEncode(packet);
  const frame = new Uint8Array(encoded.length + 1);
  frame.set(encoded);
  return frame;
}

/** Decodes one frame body (without the 0x00); undefined when it is damaged. */
export function decodeFrame(body: Uint8Array): Packet | undefined {
  const packet = cobsDecode(body);
  if (!packet || packet.length < PACKET_OVERHEAD) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const length = view.getUint16(5, true);
  if (length !== packet.length - PACKET_OVERHEAD) return undefined;
  if (crc32(packet.subarray(0, packet.length - CRC_BYTES)) !== view.getUint32(packet.length - CRC_BYTES, true)) return undefined;
  return {
    version: packet[0]!,
    type: packet[1]!,
    seq: view.getUint16(2, true),
    flags: packet[4]!,
    payload: packet.slice(HEADER_BYTES, HEADER_BYTES + length),
  };
}

/**
 * Splits a byte stream into packets. Anything that does not decode (boot banners, the half
 * of a frame cut by a reset, corrupted frames) is counted and skipped: the next 0x00
 * starts afresh, which is how the link resynchronises.
 */
export class FrameReader {
  private buffer = new Uint8Array(1024);
  private length = 0;
  private overflow = false;
  /** Bytes between delimiters that did not decode to a packet. */
  dropped = 0;

  constructor(private readonly maxFrameBytes = 1 << 17) {}

  push(chunk: Uint8Array): Packet[] {
    const packets: Packet[] = [];
    for (const byte of chunk) {
      if (byte === 0) {
        if (this.length > 0 && !this.overflow) {
          const packet = decodeFrame(this.buffer.subarray(0, this.length));
          if (packet) packets.push(packet);
          else this.dropped++;
        } else if (this.overflow) this.dropped++;
        this.length = 0;
        this.overflow = false;
        continue;
      }
      if (this.length >= this.maxFrameBytes) {
        this.overflow = true;
        continue;
      }
      if (this.length === this.buffer.length) {
        const grown = new Uint8Array(this.buffer.length * 2);
        grown.set(this.buffer);
        this.buffer = grown;
      }
      this.buffer[this.length++] = byte;
    }
    return packets;
  }
}
