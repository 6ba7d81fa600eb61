import { gzipSync } from 'node:zlib';

/** Writers for the test fixtures: the inverse of each reader, byte for byte per the spec. */

export function idxBytes(typeCode: number, shape: number[], values: ArrayLike<number>): Buffer {
  const bytesPer = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[typeCode]!;
  const buf = Buffer.alloc(4 + 4 * shape.length + values.length * bytesPer);
  buf[2] = typeCode;
  buf[3] = shape.length;
  shape.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  let o = 4 + 4 * shape.length;
  for (let i = 0; i < values.length; i++, o += bytesPer) {
    const v = values[i]!;
    if (typeCode === 0x08) buf.writeUInt8(v, o);
    else if (typeCode === 0x09) buf.writeInt8(v, o);
    else if (typeCode === 0x0b) buf.writeInt16BE(v, o);
    else if (typeCode === 0x0c) buf.writeInt32BE(v, o);
    else if (typeCode === 0x0d) buf.writeFloatBE(v, o);
    else buf.writeDoubleBE(v, o);
  }
  return buf;
}

export const gzip = (b: Buffer) => gzipSync(b);

/** numpy.save format 1.0: magic, version, little-endian header length, padded dict header. */
export function npyBytes(descr: string, shape: number[], values: ArrayLike<number>): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const bytesPer = Number(descr.slice(2));
  const body = Buffer.alloc(values.length * bytesPer);
  const le = descr[0] !== '>';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const o = i * bytesPer;
    const kind = descr.slice(1);
    if (kind === 'f4') body[le ? 'writeFloatLE' : 'writeFloatBE'](v, o);
    else if (kind === 'f8') body[le ? 'writeDoubleLE' : 'writeDoubleBE'](v, o);
    else if (kind === 'u1') body.writeUInt8(v, o);
    else if (kind === 'i4') body[le ? 'writeInt32LE' : 'writeInt32BE'](v, o);
    else if (kind === 'i8') body[le ? 'writeBigInt64LE' : 'writeBigInt64BE'](BigInt(v), o);
    else throw new Error(`test writer does not do ${descr}`);
  }
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}
