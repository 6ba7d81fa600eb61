import { zipLimits } from '../files/zip';
import { gunzipSync } from 'node:zlib';
import { DatasetError, readDatasetFile } from './errors';
import type { DatasetSource } from './types';

/** IDX as used by MNIST and Fashion-MNIST: http://yann.lecun.com/exdb/mnist/ (big-endian). */
const ELEMENT_TYPES: Record<
  number,
  { name: string; bytes: number; read: (v: DataView, o: number) => number }
> = {
  0x08: { name: 'uint8', bytes: 1, read: (v, o) => v.getUint8(o) },
  0x09: { name: 'int8', bytes: 1, read: (v, o) => v.getInt8(o) },
  0x0b: { name: 'int16', bytes: 2, read: (v, o) => v.getInt16(o) },
  0x0c: { name: 'int32', bytes: 4, read: (v, o) => v.getInt32(o) },
  0x0d: { name: 'float32', bytes: 4, read: (v, o) => v.getFloat32(o) },
  0x0e: { name: 'float64', bytes: 8, read: (v, o) => v.getFloat64(o) },
};

export interface IdxArray {
  file: string;
  shape: number[];
  typeCode: number;
  data: DataView;
}

async function readMaybeGzip(file: string): Promise<Buffer> {
  const raw = readDatasetFile(file, 'IDX file');
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      // Bounded like a zip entry, so a small .gz cannot expand without limit.
      const limits = zipLimits();
      return gunzipSync(raw, { maxOutputLength: Math.min(limits.maxBytes, Math.max(limits.floorBytes, limits.maxRatio * raw.length)) });
    } catch (e) {
      throw new DatasetError(
        `${file} is a damaged gzip file, or expands beyond the size limit (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        'download or copy the file again',
        e,
      );
    }
  }
  return raw;
}

export async function readIdx(file: string): Promise<IdxArray> {
  const buf = await readMaybeGzip(file);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new DatasetError(
      `${file} is not an IDX file (it does not start with two zero bytes)`,
      'pass IDX files such as train-images-idx3-ubyte(.gz)',
    );
  }
  const typeCode = buf[2]!;
  const type = ELEMENT_TYPES[typeCode];
  if (!type)
    throw new DatasetError(
      `${file}: unknown IDX element type 0x${typeCode.toString(16)}`,
      'IDX element types are 0x08, 0x09, 0x0B, 0x0C, 0x0D and 0x0E',
    );
  const rank = buf[3]!;
  if (rank === 0 || buf.length < 4 + 4 * rank)
    throw new DatasetError(
      `${file}: IDX header is truncated`,
      'the file is damaged; copy it again',
    );
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = shape.reduce((a, b) => a * b, 1) * type.bytes;
  const body = 4 + 4 * rank;
  if (buf.length - body !== expected) {
    throw new DatasetError(
      `${file}: IDX header says shape [${shape.join(', ')}] (${expected} bytes of ${type.name}) but the file holds ${buf.length - body} bytes of data`,
      'the file is truncated or not IDX; copy it again',
    );
  }
  return { file, shape, typeCode, data: new DataView(buf.buffer, buf.byteOffset + body, expected) };
}

function decode(a: IdxArray, start: number, count: number): Float32Array {
  const type = ELEMENT_TYPES[a.typeCode]!;
  const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
  const out = new Float32Array(count * per);
  const first = start * per;
  if (a.typeCode === 0x08) {
    const bytes = new Uint8Array(a.data.buffer, a.data.byteOffset + first, out.length);
    out.set(bytes);
    return out;
  }
  for (let i = 0; i < out.length; i++) out[i] = type.read(a.data, (first + i) * type.bytes);
  return out;
}

/** An images file and a labels file with one label per image. */
export async function openIdx(imagesFile: string, labelsFile: string): Promise<DatasetSource> {
  const [images, labels] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  if (labels.shape[0] !== images.shape[0]) {
    throw new DatasetError(
      `${labelsFile} has ${labels.shape[0]} labels but ${imagesFile} has ${images.shape[0]} images`,
      'pass the labels file that belongs to these images',
    );
  }
  const classLabels = labels.shape.length === 1 && labels.typeCode <= 0x0c;
  return {
    files: [imagesFile, labelsFile],
    sampleShape: images.shape.slice(1),
    count: images.shape[0]!,
    labelKind: classLabels ? 'class' : 'target',
    labelShape: labels.shape.slice(1),
    notices: [],
    async read(start, count) {
      const x = decode(images, start, count);
      const y = decode(labels, start, count);
      return { x, y: classLabels ? Int32Array.from(y) : y };
    },
  };
}
