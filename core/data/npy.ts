import { DatasetError, readDatasetFile } from './errors';
import type { DatasetSource, Labels } from './types';

/**
 * NumPy .npy, format versions 1-3: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * Only C-order arrays of plain numeric dtypes; anything else is reported, not guessed.
 */
export interface NpyArray {
  file: string;
  shape: number[];
  dtype: string;
  /** Decoded lazily per range, so a large array is not copied to float32 all at once. */
  get(start: number, count: number): Float64Array | Float32Array | Int32Array;
  integer: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DTYPES: Record<
  string,
  { bytes: number; integer: boolean; read: (v: DataView, o: number, le: boolean) => number }
> = {
  f4: { bytes: 4, integer: false, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { bytes: 8, integer: false, read: (v, o, le) => v.getFloat64(o, le) },
  f2: { bytes: 2, integer: false, read: (v, o, le) => halfToFloat(v.getUint16(o, le)) },
  i1: { bytes: 1, integer: true, read: (v, o) => v.getInt8(o) },
  u1: { bytes: 1, integer: true, read: (v, o) => v.getUint8(o) },
  b1: { bytes: 1, integer: true, read: (v, o) => v.getUint8(o) },
  i2: { bytes: 2, integer: true, read: (v, o, le) => v.getInt16(o, le) },
  u2: { bytes: 2, integer: true, read: (v, o, le) => v.getUint16(o, le) },
  i4: { bytes: 4, integer: true, read: (v, o, le) => v.getInt32(o, le) },
  u4: { bytes: 4, integer: true, read: (v, o, le) => v.getUint32(o, le) },
  i8: { bytes: 8, integer: true, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  u8: { bytes: 8, integer: true, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
};

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function field(header: string, name: string): string | undefined {
  const m = new RegExp(`['"]${name}['"]\\s*:\\s*('[^']*'|"[^"]*"|True|False|\\([^)]*\\))`).exec(
    header,
  );
  return m?.[1];
}

export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new DatasetError(
      `${file} is not a .npy file (no \\x93NUMPY magic)`,
      'save arrays with numpy.save',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLen > bytes.length)
    throw new DatasetError(
      `${file}: .npy header is truncated`,
      'the file is damaged; save it again',
    );
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = field(header, 'descr')?.slice(1, -1);
  const fortran = field(header, 'fortran_order');
  const shapeText = field(header, 'shape');
  if (!descr || !shapeText || !fortran)
    throw new DatasetError(
      `${file}: .npy header is not a dict with descr, fortran_order and shape`,
      'save arrays with numpy.save',
    );
  if (fortran === 'True')
    throw new DatasetError(
      `${file}: Fortran-ordered arrays are not supported`,
      'save numpy.ascontiguousarray(a) instead',
    );
  const order = descr[0];
  const code = descr.slice(1);
  const dtype = DTYPES[code];
  if (!dtype || (order !== '<' && order !== '>' && order !== '|')) {
    throw new DatasetError(
      `${file}: unsupported .npy dtype ${JSON.stringify(descr.slice(0, 16))}`,
      'convert the array to float32, float64, or an integer type',
    );
  }
  const shape = shapeText
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new DatasetError(
      `${file}: .npy header has a shape that is not a list of non-negative integers`,
      'the file is damaged or not written by numpy.save; save it again',
    );
  const size = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(size * dtype.bytes))
    throw new DatasetError(`${file}: .npy header declares more elements than any file can hold`, 'the file is damaged; save it again');
  const dataStart = headerStart + headerLen;
  if (bytes.length - dataStart < size * dtype.bytes) {
    throw new DatasetError(
      `${file}: header says shape (${shape.join(', ')}) of ${descr} (${size * dtype.bytes} bytes) but only ${bytes.length - dataStart} bytes follow`,
      'the file is truncated; save it again',
    );
  }
  const le = order !== '>';
  const data = new DataView(bytes.buffer, bytes.byteOffset + dataStart, size * dtype.bytes);
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  return {
    file,
    shape,
    dtype: descr,
    integer: dtype.integer,
    get(start, count) {
      const out = new Float64Array(count * per);
      const first = start * per;
      for (let i = 0; i < out.length; i++) out[i] = dtype.read(data, (first + i) * dtype.bytes, le);
      return out;
    },
  };
}

export async function readNpy(file: string): Promise<NpyArray> {
  return parseNpy(readDatasetFile(file, '.npy array'), file);
}

/**
 * Pairs an x array with a y array. Integer y of one value per sample is class labels;
 * float y, or y with more values per sample, is a regression or reconstruction target.
 */
export function pairArrays(x: NpyArray, y: NpyArray, files: string[]): DatasetSource {
  if (x.shape.length < 1 || y.shape.length < 1)
    throw new DatasetError(
      `${x.file}: x and y need a leading sample axis`,
      'save arrays shaped [samples, ...]',
    );
  if (x.shape[0] !== y.shape[0]) {
    throw new DatasetError(
      `${y.file} has ${y.shape[0]} labels but ${x.file} has ${x.shape[0]} samples`,
      'x and y must have the same first dimension',
    );
  }
  const labelShape = y.shape.slice(1);
  const classLabels = y.integer && labelShape.reduce((a, b) => a * b, 1) === 1;
  return {
    files,
    sampleShape: x.shape.slice(1),
    count: x.shape[0]!,
    labelKind: classLabels ? 'class' : 'target',
    labelShape: classLabels ? [] : labelShape,
    notices: [],
    async read(start, count) {
      const xs = Float32Array.from(x.get(start, count));
      const raw = y.get(start, count);
      const ys: Labels = classLabels ? Int32Array.from(raw) : Float32Array.from(raw);
      return { x: xs, y: ys };
    },
  };
}

export async function openNpy(xFile: string, yFile: string): Promise<DatasetSource> {
  const [x, y] = await Promise.all([readNpy(xFile), readNpy(yFile)]);
  return pairArrays(x, y, [xFile, yFile]);
}
