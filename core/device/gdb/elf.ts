import { readFileSync } from 'node:fs';
import { FirmwareImageError } from './errors';

/** One run of bytes to place in target memory, at its load (physical) address. */
export interface LoadSegment {
  address: number;
  data: Uint8Array;
}

export interface FirmwareImage {
  path: string;
  machine: number;
  entry: number;
  /** PT_LOAD segments with file contents, sorted by address; .bss-only segments are left out. */
  segments: LoadSegment[];
}

const EM_ARM = 40;
const PT_LOAD = 1;

/**
 * Reads the loadable segments of a 32-bit little-endian ELF executable, as a debugger's
 * `load` does: each PT_LOAD at its physical address (p_paddr), so initialised data goes
 * to its flash copy and not to the RAM address it runs at.
 */
export function readElf(path: string, bytes: Uint8Array = new Uint8Array(readFileSync(path))): FirmwareImage {
  const bad = (what: string, hint = 'pass the .elf the firmware build wrote (for example build/firmware/stm32f4/nucleo-f446re/board.elf)') =>
    new FirmwareImageError('FIRMWARE_NOT_ELF', `${path}: ${what}`, { hint });
  if (bytes.length < 52 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw bad('not an ELF file (no \\x7fELF magic)');
  }
  if (bytes[4] !== 1) throw bad('is a 64-bit ELF; microcontroller images are 32-bit');
  if (bytes[5] !== 1) throw bad('is big-endian; only little-endian images are supported');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, true);
  if (type !== 2) throw bad(`is not an executable (e_type ${type}); link it first`);
  const machine = view.getUint16(18, true);
  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  if (phnum === 0) throw bad('has no program headers');
  if (phentsize < 32 || phoff + phnum * phentsize > bytes.length) throw bad('program header table runs past the end of the file');

  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (view.getUint32(at, true) !== PT_LOAD) continue;
    const offset = view.getUint32(at + 4, true);
    const paddr = view.getUint32(at + 12, true);
    const filesz = view.getUint32(at + 16, true);
    if (filesz === 0) continue;
    if (offset + filesz > bytes.length) throw bad(`segment ${i} (${filesz} bytes at file offset ${offset}) runs past the end of the file`);
    segments.push({ address: paddr, data: bytes.subarray(offset, offset + filesz) });
  }
  if (segments.length === 0) throw bad('has no loadable segment with contents');
  segments.sort((a, b) => a.address - b.address);
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1]!;
    if (prev.address + prev.data.length > segments[i]!.address) {
      throw bad(`segments at 0x${hex(prev.address)} and 0x${hex(segments[i]!.address)} overlap`);
    }
  }
  return { path, machine, entry, segments };
}

export function isArm(image: FirmwareImage): boolean {
  return image.machine === EM_ARM;
}

export function hex(n: number, width = 8): string {
  return (n >>> 0).toString(16).padStart(width, '0');
}
