import { GdbError } from './errors';
import { hex, isArm, readElf, type FirmwareImage, type LoadSegment } from './elf';
import { escapeBinary, GdbRemote, toHex, unescapeBinary } from './rsp';

export interface FlashOptions {
  /** HOST:PORT of the GDB server. */
  gdb: string;
  /** A monitor command (sent with qRcmd) that resets the target after loading, e.g.
   * `reset run` (OpenOCD), `reset` (pyOCD), `system_reset` (QEMU). Without it the
   * core starts from the image's vector table: SP, PC and xPSR are written. */
  resetCommand?: string;
  /** Leave the core halted after loading and verifying. */
  noRun?: boolean;
  timeoutMs?: number;
  onProgress?: (event: FlashProgress) => void;
}

export interface FlashProgress {
  phase: 'erase' | 'write' | 'verify';
  done: number;
  total: number;
}

export interface MemoryRegion {
  type: 'ram' | 'rom' | 'flash';
  start: number;
  length: number;
  blockSize?: number;
}

export interface FlashResult {
  image: string;
  server: string;
  bytes: number;
  segments: Array<{ address: string; bytes: number; via: 'flash' | 'memory' }>;
  /** How the written bytes were checked: the server's CRC (qCRC) or reading them back. */
  verifiedBy: 'qCRC' | 'read-back';
  /** How the core was started. */
  start: 'vector-table' | 'monitor' | 'halted';
  entry: string;
  stack: string;
  ms: number;
}

/**
 * Loads an ELF through a GDB server the way `gdb -ex load` would, without gdb: each
 * loadable segment goes through vFlashErase/vFlashWrite/vFlashDone where the server's
 * memory map says flash, and through X (binary) or M (hex) memory writes elsewhere;
 * then every byte is checked (qCRC, or read back with m), and the core is started from
 * the image's vector table (or by a monitor reset command) and the server detached.
 */
export async function flashImage(imagePath: string, options: FlashOptions): Promise<FlashResult> {
  const started = Date.now();
  const image = readElf(imagePath);
  if (!isArm(image)) {
    throw new GdbError('FIRMWARE_NOT_ARM', `${imagePath}: not an ARM image (e_machine ${image.machine})`, { hint: 'flash a Cortex-M image built by make -C resources/firmware' });
  }
  const vectors = vectorTable(image);
  const remote = await GdbRemote.connect(options.gdb, { timeoutMs: options.timeoutMs ?? 10_000 });
  try {
    // The stop reason also confirms the target is halted and the server answers.
    await remote.request('?');
    const map = await readMemoryMap(remote);
    const total = image.segments.reduce((n, s) => n + s.data.length, 0);
    const done = { bytes: 0 };
    const segments: FlashResult['segments'] = [];
    const flashSegments = image.segments.filter((s) => regionOf(map, s)?.type === 'flash');
    if (flashSegments.length > 0) {
      await eraseFlash(remote, map, flashSegments, options);
      for (const s of flashSegments) {
        await writeFlash(remote, s, (n) => progress(options, 'write', (done.bytes += n), total));
        segments.push({ address: `0x${hex(s.address)}`, bytes: s.data.length, via: 'flash' });
      }
      expectOk(remote, 'vFlashDone', await remote.request('vFlashDone'));
    }
    const useX = await probeBinaryWrite(remote);
    for (const s of image.segments) {
      if (flashSegments.includes(s)) continue;
      const region = regionOf(map, s);
      if (region?.type === 'rom') {
        throw new GdbError('GDB_READ_ONLY', `${options.gdb}: ${image.path} segment at 0x${hex(s.address)} falls in read-only memory (0x${hex(region.start)}..0x${hex(region.start + region.length)}) in the server's memory map`, { hint: 'the image was linked for another board; check the linker script' });
      }
      await writeMemory(remote, s, useX, (n) => progress(options, 'write', (done.bytes += n), total));
      segments.push({ address: `0x${hex(s.address)}`, bytes: s.data.length, via: 'memory' });
    }
    const verifiedBy = await verify(remote, image, options, total);

    let start: FlashResult['start'] = 'halted';
    if (!options.noRun) {
      if (options.resetCommand) {
        await monitor(remote, options.resetCommand);
        start = 'monitor';
      } else {
        await startFromVectors(remote, vectors);
        start = 'vector-table';
      }
      // Detaching resumes the core on every server named above (QEMU, OpenOCD, pyOCD,
      // J-Link, st-util); a server that refuses it gets an explicit continue.
      const reply = await remote.request('D');
      if (reply !== 'OK') await remote.send('c');
    }
    return {
      image: image.path,
      server: options.gdb,
      bytes: total,
      segments,
      verifiedBy,
      start,
      entry: `0x${hex(vectors.pc)}`,
      stack: `0x${hex(vectors.sp)}`,
      ms: Date.now() - started,
    };
  } finally {
    remote.close();
  }
}

function progress(options: FlashOptions, phase: FlashProgress['phase'], done: number, total: number): void {
  options.onProgress?.({ phase, done, total });
}

/** Initial SP and reset handler: the first two words of the lowest loaded segment. */
export function vectorTable(image: FirmwareImage): { sp: number; pc: number } {
  const first = image.segments[0]!;
  if (first.data.length < 8) throw new GdbError('FIRMWARE_NO_VECTORS', `${image.path}: the first segment (0x${hex(first.address)}) is too short to hold a vector table`, { hint: 'link the vector table first in the image (KEEP(*(.isr_vector)) at the start of .text)' });
  const view = new DataView(first.data.buffer, first.data.byteOffset, 8);
  const sp = view.getUint32(0, true);
  const pc = view.getUint32(4, true);
  if ((pc & 1) !== 1 || (sp & 3) !== 0) {
    throw new GdbError('FIRMWARE_NO_VECTORS', `${image.path}: the words at 0x${hex(first.address)} (SP 0x${hex(sp)}, reset 0x${hex(pc)}) are not a Cortex-M vector table`, { hint: 'link the vector table first in the image; the reset handler address must have its Thumb bit set' });
  }
  return { sp, pc };
}

async function readMemoryMap(remote: GdbRemote): Promise<MemoryRegion[]> {
  if (!remote.supports('qXfer:memory-map:read')) return [];
  const xml = new TextDecoder().decode(await readXfer(remote, 'memory-map', ''));
  return parseMemoryMap(xml);
}

export function parseMemoryMap(xml: string): MemoryRegion[] {
  const regions: MemoryRegion[] = [];
  const re = /<memory\s+([^>]*?)(\/>|>([\s\S]*?)<\/memory>)/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const attr = (name: string) => new RegExp(`${name}\\s*=\\s*"([^"]*)"`).exec(m![1]!)?.[1];
    const type = attr('type');
    const start = Number(attr('start'));
    const length = Number(attr('length'));
    if ((type !== 'ram' && type !== 'rom' && type !== 'flash') || !Number.isFinite(start) || !Number.isFinite(length)) continue;
    const block = /<property\s+name\s*=\s*"blocksize"\s*>\s*([^<\s]+)\s*<\/property>/.exec(m[3] ?? '')?.[1];
    regions.push({ type, start, length, blockSize: block === undefined ? undefined : Number(block) });
  }
  return regions;
}

function regionOf(map: MemoryRegion[], s: LoadSegment): MemoryRegion | undefined {
  return map.find((r) => s.address >= r.start && s.address < r.start + r.length);
}

async function readXfer(remote: GdbRemote, object: string, annex: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const chunk = Math.max(256, remote.packetSize - 16);
  for (;;) {
    const reply = await remote.request(`qXfer:${object}:read:${annex}:${offset.toString(16)},${chunk.toString(16)}`);
    if (reply.startsWith('E') || reply === '') throw new GdbError('GDB_PROTOCOL', `${remote.address}: reading ${object} ${annex} failed (${reply || 'not supported'})`, { hint: 'the server advertised this object but did not serve it; check its version' });
    const data = unescapeBinary(reply.slice(1));
    parts.push(data);
    offset += data.length;
    if (reply[0] === 'l') break;
  }
  return Buffer.concat(parts);
}

async function eraseFlash(remote: GdbRemote, map: MemoryRegion[], segments: LoadSegment[], options: FlashOptions): Promise<void> {
  // Whole blocks covering every segment, merged so no block is erased twice.
  const spans: Array<[number, number]> = [];
  for (const s of segments) {
    const region = regionOf(map, s)!;
    const block = region.blockSize && region.blockSize > 0 ? region.blockSize : region.length;
    const from = region.start + Math.floor((s.address - region.start) / block) * block;
    const to = region.start + Math.ceil((s.address + s.data.length - region.start) / block) * block;
    const last = spans[spans.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else spans.push([from, to]);
  }
  const total = spans.reduce((n, [a, b]) => n + b - a, 0);
  let done = 0;
  for (const [from, to] of spans) {
    expectOk(remote, 'vFlashErase', await remote.request(`vFlashErase:${from.toString(16)},${(to - from).toString(16)}`));
    done += to - from;
    progress(options, 'erase', done, total);
  }
}

async function writeFlash(remote: GdbRemote, s: LoadSegment, advance: (n: number) => void): Promise<void> {
  for (let at = 0; at < s.data.length; ) {
    const header = Buffer.from(`vFlashWrite:${(s.address + at).toString(16)}:`, 'latin1');
    const { escaped, taken } = fitEscaped(s.data.subarray(at), remote.packetSize - header.length - 8);
    expectOk(remote, 'vFlashWrite', await remote.request(Buffer.concat([header, escaped])));
    at += taken;
    advance(taken);
  }
}

async function probeBinaryWrite(remote: GdbRemote): Promise<boolean> {
  // A zero-length X is the documented probe: OK if the server takes binary writes.
  const reply = await remote.request('X0,0:');
  return reply === 'OK';
}

async function writeMemory(remote: GdbRemote, s: LoadSegment, useX: boolean, advance: (n: number) => void): Promise<void> {
  for (let at = 0; at < s.data.length; ) {
    const address = (s.address + at).toString(16);
    let reply: string;
    let taken: number;
    if (useX) {
      const header = Buffer.from(`X${address},`, 'latin1');
      const fit = fitEscaped(s.data.subarray(at), remote.packetSize - header.length - 16);
      taken = fit.taken;
      reply = await remote.request(Buffer.concat([header, Buffer.from(`${taken.toString(16)}:`, 'latin1'), fit.escaped]));
    } else {
      taken = Math.min(s.data.length - at, Math.floor((remote.packetSize - address.length - 16) / 2));
      reply = await remote.request(`M${address},${taken.toString(16)}:${toHex(s.data.subarray(at, at + taken))}`);
    }
    expectOk(remote, `writing ${taken} bytes at 0x${address}`, reply);
    at += taken;
    advance(taken);
  }
}

/** As many bytes as fit in `room` once escaped. */
function fitEscaped(data: Uint8Array, room: number): { escaped: Uint8Array; taken: number } {
  let size = 0;
  let taken = 0;
  while (taken < data.length) {
    const b = data[taken]!;
    const cost = b === 0x23 || b === 0x24 || b === 0x7d || b === 0x2a ? 2 : 1;
    if (size + cost > room) break;
    size += cost;
    taken++;
  }
  return { escaped: escapeBinary(data.subarray(0, taken)), taken };
}

async function verify(remote: GdbRemote, image: FirmwareImage, options: FlashOptions, total: number): Promise<FlashResult['verifiedBy']> {
  let done = 0;
  // qCRC checks a whole segment in one round trip; servers without it answer empty.
  const first = image.segments[0]!;
  const probe = await remote.request(`qCRC:${first.address.toString(16)},${first.data.length.toString(16)}`);
  if (/^C[0-9a-f]+$/i.test(probe)) {
    for (const s of image.segments) {
      const reply = s === first ? probe : await remote.request(`qCRC:${s.address.toString(16)},${s.data.length.toString(16)}`);
      const got = parseInt(reply.slice(1), 16) >>> 0;
      const want = gdbCrc32(s.data);
      if (!reply.startsWith('C') || got !== want) {
        throw new GdbError('FLASH_VERIFY_FAILED', `${options.gdb}: ${image.path} segment at 0x${hex(s.address)} does not match after writing (target CRC 0x${hex(got)}, image 0x${hex(want)})`, { hint: 'the flash may be write-protected or the image linked for other memory; erase the chip and retry' });
      }
      progress(options, 'verify', (done += s.data.length), total);
    }
    return 'qCRC';
  }
  for (const s of image.segments) {
    const chunk = Math.max(64, Math.floor((remote.packetSize - 8) / 2));
    for (let at = 0; at < s.data.length; at += chunk) {
      const n = Math.min(chunk, s.data.length - at);
      const address = s.address + at;
      const reply = await remote.request(`m${address.toString(16)},${n.toString(16)}`);
      if (!/^([0-9a-f]{2})*$/i.test(reply) || reply.length === 0) {
        throw new GdbError('FLASH_VERIFY_FAILED', `${options.gdb}: reading back ${n} bytes at 0x${hex(address)} failed (${reply})`, { hint: 'the memory may not be readable by the debugger; check the server log' });
      }
      const got = Buffer.from(reply, 'hex');
      const want = s.data.subarray(at, at + n);
      const diff = got.findIndex((b, i) => b !== want[i]);
      if (got.length !== n || diff >= 0) {
        const where = address + (diff >= 0 ? diff : got.length);
        throw new GdbError('FLASH_VERIFY_FAILED', `${options.gdb}: ${image.path} reads back different at 0x${hex(where)} (target 0x${hex(got[diff] ?? 0, 2)}, image 0x${hex(want[diff] ?? 0, 2)})`, { hint: 'the memory there is not writable by the debugger (flash without a flash driver, or ROM); use a server that programs flash (OpenOCD, pyOCD, J-Link, st-util)' });
      }
      progress(options, 'verify', (done += n), total);
    }
  }
  return 'read-back';
}

/** The CRC gdb's qCRC uses: CRC-32 (0x04c11db7), MSB first, seed 0xffffffff, no final xor. */
export function gdbCrc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

async function monitor(remote: GdbRemote, command: string): Promise<void> {
  let reply = await remote.request(`qRcmd,${toHex(Buffer.from(command, 'utf8'))}`);
  // Output comes as O packets before the final OK; the client skips those.
  if (reply === '') throw new GdbError('GDB_NO_MONITOR', `${remote.address}: the server has no monitor commands (qRcmd unsupported)`, { hint: 'leave out the reset command: the core is then started from the image vector table' });
  if (reply.startsWith('E')) throw new GdbError('GDB_MONITOR_FAILED', `${remote.address}: monitor "${command}" failed (${reply})`, { hint: 'check the command against the server documentation' });
  while (reply !== 'OK' && /^[0-9a-f]*$/i.test(reply)) reply = await remote.request('');
}

async function startFromVectors(remote: GdbRemote, vectors: { sp: number; pc: number }): Promise<void> {
  const numbers = await registerNumbers(remote);
  const word = (n: number) => toHex(Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff));
  // xPSR first: the Thumb bit (24) must be set before the core runs from the new PC.
  expectOk(remote, 'writing xPSR', await remote.request(`P${numbers.xpsr.toString(16)}=${word(0x01000000)}`));
  expectOk(remote, 'writing SP', await remote.request(`P${numbers.sp.toString(16)}=${word(vectors.sp)}`));
  expectOk(remote, 'writing PC', await remote.request(`P${numbers.pc.toString(16)}=${word(vectors.pc & ~1)}`));
}

/**
 * Register numbers for SP, PC and xPSR from the server's target description (numbering
 * follows the XML: regnum where given, else one more than the previous register); the
 * classic ARM numbering (13, 15, 25) when the server has none.
 */
async function registerNumbers(remote: GdbRemote): Promise<{ sp: number; pc: number; xpsr: number }> {
  const fallback = { sp: 13, pc: 15, xpsr: 25 };
  if (!remote.supports('qXfer:features:read')) return fallback;
  const found: Record<string, number> = {};
  let next = 0;
  const visit = async (annex: string, depth: number): Promise<void> => {
    const xml = new TextDecoder().decode(await readXfer(remote, 'features', annex));
    const re = /<xi:include\s+href="([^"]+)"\s*\/>|<reg\s+([^>]*?)\/?>/g;
    for (let m = re.exec(xml); m; m = re.exec(xml)) {
      if (m[1]) {
        if (depth < 4) await visit(m[1], depth + 1);
        continue;
      }
      const name = /name="([^"]+)"/.exec(m[2]!)?.[1]?.toLowerCase();
      const regnum = /regnum="(\d+)"/.exec(m[2]!)?.[1];
      const number = regnum === undefined ? next : Number(regnum);
      next = number + 1;
      if (name && !(name in found)) found[name] = number;
    }
  };
  await visit('target.xml', 0);
  return {
    sp: found.sp ?? fallback.sp,
    pc: found.pc ?? fallback.pc,
    xpsr: found.xpsr ?? found.cpsr ?? fallback.xpsr,
  };
}

function expectOk(remote: GdbRemote, what: string, reply: string): void {
  if (reply === 'OK') return;
  throw new GdbError('GDB_COMMAND_FAILED', `${remote.address}: ${what} failed (${reply === '' ? 'not supported by the server' : reply})`, {
    hint: reply === '' ? 'this server lacks a command the loader needs; try OpenOCD or pyOCD' : 'check the target is halted and the address is writable',
  });
}
