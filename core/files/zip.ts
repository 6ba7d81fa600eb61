import { crc32, inflateRawSync } from 'node:zlib';
import { QuantbenchError } from '../errors';

/**
 * Reads zip archives from users (.keras, .npz, .qbx) without trusting them: every entry is
 * inflated with a hard output limit, must inflate to exactly its declared size and match its
 * CRC-32, and the declared sizes together must fit a budget, so a few hundred kilobytes cannot
 * claim gigabytes of memory (a zip bomb). Layout: PKWARE APPNOTE 6.3.x, sections 4.3 and 4.5.3.
 */
export class ZipError extends QuantbenchError {
  /** The message without the file name, for readers that report under their own error class. */
  readonly problem: string;
  constructor(code: string, file: string, problem: string, hint: string) {
    super(code, `${file}: ${problem}`, { hint });
    this.problem = problem;
  }
}

export interface ZipLimits {
  /** The archive may inflate to at most this multiple of its own size... */
  maxRatio: number;
  /** ...but always to this many bytes, since small archives of text compress well... */
  floorBytes: number;
  /** ...and never to more than this. */
  maxBytes: number;
}

const MiB = 1024 * 1024;

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * Model weights and images compress a few times at most; a ratio of 100 leaves wide room for
 * heavily pruned weights while refusing deflate's ~1000:1 bombs.
 * QUANTBENCH_ZIP_MAX_RATIO and QUANTBENCH_ZIP_MAX_BYTES override the defaults.
 */
export function zipLimits(): ZipLimits {
  return {
    maxRatio: envNumber('QUANTBENCH_ZIP_MAX_RATIO', 100),
    floorBytes: 16 * MiB,
    maxBytes: Math.min(envNumber('QUANTBENCH_ZIP_MAX_BYTES', 2048 * MiB), 2 ** 31 - 1),
  };
}

interface CentralEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const REPACK = 'Save or copy the archive again; it is damaged or was not written by a zip tool';

function readEntries(bytes: Uint8Array, file: string): CentralEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (problem: string) => new ZipError('ZIP_INVALID', file, `is not a readable zip archive: ${problem}`, REPACK);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record');
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || view.getUint32(locator, true) !== 0x07064b50) throw bad('zip64 locator missing');
    const z64 = Number(view.getBigUint64(locator + 8, true));
    if (z64 + 56 > bytes.length || view.getUint32(z64, true) !== 0x06064b50) throw bad('zip64 directory missing');
    count = Number(view.getBigUint64(z64 + 32, true));
    cdOffset = Number(view.getBigUint64(z64 + 48, true));
  }
  const entries: CentralEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== 0x02014b50) throw bad(`central directory entry ${n} is cut short`);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    if (p + 46 + nameLength + extraLength > bytes.length) throw bad(`central directory entry ${n} is cut short`);
    const entry: CentralEntry = {
      flags: view.getUint16(p + 8, true),
      method: view.getUint16(p + 10, true),
      crc: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localOffset: view.getUint32(p + 42, true),
      name: new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength)),
    };
    // Zip64 extra field: the 64-bit values follow in this order, only for fields set to ~0.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const length = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > Math.min(e + 4 + length, extraEnd)) throw bad(`zip64 field of ${entry.name} is cut short`);
          const v = Number(view.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (entry.size === 0xffffffff) entry.size = next();
        if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
        if (entry.localOffset === 0xffffffff) entry.localOffset = next();
      }
      e += 4 + length;
    }
    entries.push(entry);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The archive's entries, checked and inflated; `wanted` skips entries the caller ignores. */
export function readZip(
  bytes: Uint8Array,
  file: string,
  options: { limits?: ZipLimits; wanted?: (name: string) => boolean } = {},
): Map<string, Uint8Array> {
  const limits = options.limits ?? zipLimits();
  const entries = readEntries(bytes, file).filter((e) => !e.name.endsWith('/') && (options.wanted?.(e.name) ?? true));
  const budget = Math.min(limits.maxBytes, Math.max(limits.floorBytes, limits.maxRatio * bytes.length));
  const declared = entries.reduce((sum, e) => sum + e.size, 0);
  if (declared > budget) {
    throw new ZipError(
      'ZIP_TOO_LARGE',
      file,
      `its entries declare ${declared} bytes uncompressed, more than the ${budget} bytes allowed for a ${bytes.length}-byte archive`,
      'A genuine archive this compressible is unlikely; raise QUANTBENCH_ZIP_MAX_RATIO or QUANTBENCH_ZIP_MAX_BYTES if it is one',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Uint8Array>();
  for (const entry of entries) {
    const where = `entry ${JSON.stringify(entry.name)}`;
    const fail = (code: string, problem: string) => new ZipError(code, file, `${where} ${problem}`, REPACK);
    if (out.has(entry.name)) throw fail('ZIP_INVALID', 'appears twice');
    if (entry.flags & 1) throw fail('ZIP_UNSUPPORTED', 'is encrypted');
    const local = entry.localOffset;
    if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50) throw fail('ZIP_INVALID', 'has no local header where the directory says');
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + entry.compressedSize > bytes.length) throw fail('ZIP_INVALID', 'is cut short');
    const data = bytes.subarray(start, start + entry.compressedSize);
    let content: Uint8Array;
    if (entry.method === 0) {
      content = data;
    } else if (entry.method === 8) {
      try {
        // One byte over the declared size is enough to tell a lying header from an honest one.
        content = inflateRawSync(data, { maxOutputLength: entry.size + 1 });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') throw fail('ZIP_TOO_LARGE', `inflates to more than its declared ${entry.size} bytes`);
        throw fail('ZIP_INVALID', `does not inflate (${code ?? 'corrupt deflate stream'})`);
      }
    } else {
      throw fail('ZIP_UNSUPPORTED', `uses compression method ${entry.method}; only stored and deflate are read`);
    }
    if (content.length !== entry.size) throw fail('ZIP_INVALID', `holds ${content.length} bytes, not the ${entry.size} its header declares`);
    if (crc32(content) >>> 0 !== entry.crc) throw fail('ZIP_CRC_MISMATCH', 'fails its CRC-32 check');
    out.set(entry.name, content);
  }
  return out;
}
