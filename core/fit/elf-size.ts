import { readFileSync } from 'node:fs';
import { FitError } from './errors';

/** What a firmware image occupies, as `arm-none-eabi-size` counts it. */
export interface ElfSize {
  /** Code and constants (allocated, read-only sections). */
  text: number;
  /** Initialised data: stored in flash, copied to RAM at boot. */
  data: number;
  /** Zeroed RAM. */
  bss: number;
  /** text + data: what the image puts in flash. */
  flash: number;
}

const SHF_WRITE = 0x1;
const SHF_ALLOC = 0x2;
const SHT_NOBITS = 8;

/**
 * Sums the allocated sections of a 32-bit little-endian ELF (the Cortex-M builds) from its
 * section headers, the way binutils' `size` does in its default (Berkeley) format.
 * https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.sheader.html
 */
export function elfSize(file: string): ElfSize {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new FitError('FIRMWARE_IMAGE_MISSING', `cannot read the firmware image ${file}: ${(e as Error).message}`, {
      hint: 'build the firmware first: npm run build:firmware',
    });
  }
  const bad = (why: string) =>
    new FitError('FIRMWARE_IMAGE_INVALID', `${file} is not a 32-bit little-endian ELF image: ${why}`, {
      hint: 'rebuild the firmware (npm run build:firmware)',
    });
  if (bytes.length < 52 || bytes.readUInt32BE(0) !== 0x7f454c46) throw bad('no ELF magic');
  if (bytes[4] !== 1 || bytes[5] !== 1) throw bad('not ELFCLASS32/ELFDATA2LSB');
  const shoff = bytes.readUInt32LE(0x20);
  const shentsize = bytes.readUInt16LE(0x2e);
  const shnum = bytes.readUInt16LE(0x30);
  if (shentsize < 40 || shoff + shnum * shentsize > bytes.length) throw bad('section headers outside the file');
  const size: ElfSize = { text: 0, data: 0, bss: 0, flash: 0 };
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const type = bytes.readUInt32LE(at + 4);
    const flags = bytes.readUInt32LE(at + 8);
    const sectionSize = bytes.readUInt32LE(at + 20);
    if (!(flags & SHF_ALLOC)) continue;
    if (type === SHT_NOBITS) size.bss += sectionSize;
    else if (flags & SHF_WRITE) size.data += sectionSize;
    else size.text += sectionSize;
  }
  size.flash = size.text + size.data;
  return size;
}
