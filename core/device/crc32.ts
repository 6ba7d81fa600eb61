import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * CRC-32/IEEE, reflected, as the firmware computes it; `crc` continues a previous result.
 * zlib's own implementation (Node >= 20.15) rather than a table of our own.
 */
export function crc32(data: Uint8Array, crc = 0): number {
  return zlibCrc32(data, crc) >>> 0;
}
