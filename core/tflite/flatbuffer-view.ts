/**
 * Bounds-checked access to flatbuffer tables. The `flatbuffers` package trusts its input;
 * a corrupt model must give an error, never an out-of-range read or a quadratic blow-up,
 * so every offset is checked here and the number of decoded elements is capped.
 * Layout reference: https://flatbuffers.dev/internals/ (uoffset = u32, soffset = i32, voffset = u16).
 */
export class FlatbufferBoundsError extends Error {}

export class FlatbufferView {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** Elements left to decode; a valid file never needs more than a few per byte. */
  private budget: number;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = 8 * bytes.byteLength + 4096;
  }

  private check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || size < 0 || pos + size > this.bytes.byteLength) {
      throw new FlatbufferBoundsError(
        `${what} at offset ${pos} (+${size} bytes) lies outside the file (${this.bytes.byteLength} bytes)`,
      );
    }
  }

  spend(elements: number, what: string): void {
    this.budget -= elements;
    if (this.budget < 0)
      throw new FlatbufferBoundsError(`${what}: the file references far more data than it holds`);
  }

  u8(pos: number): number {
    this.check(pos, 1, 'byte');
    return this.view.getUint8(pos);
  }
  i8(pos: number): number {
    this.check(pos, 1, 'byte');
    return this.view.getInt8(pos);
  }
  u16(pos: number): number {
    this.check(pos, 2, 'uint16');
    return this.view.getUint16(pos, true);
  }
  i32(pos: number): number {
    this.check(pos, 4, 'int32');
    return this.view.getInt32(pos, true);
  }
  u32(pos: number): number {
    this.check(pos, 4, 'uint32');
    return this.view.getUint32(pos, true);
  }
  f32(pos: number): number {
    this.check(pos, 4, 'float32');
    return this.view.getFloat32(pos, true);
  }
  i64(pos: number): bigint {
    this.check(pos, 8, 'int64');
    return this.view.getBigInt64(pos, true);
  }
  u64(pos: number): bigint {
    this.check(pos, 8, 'uint64');
    return this.view.getBigUint64(pos, true);
  }

  /** Follows the uoffset stored at `pos`. */
  deref(pos: number): number {
    return pos + this.u32(pos);
  }

  rootTable(): Table {
    return this.table(this.deref(0), 'root table');
  }

  table(pos: number, what: string): Table {
    this.check(pos, 4, what);
    const vtable = pos - this.i32(pos);
    this.check(vtable, 4, `${what} vtable`);
    const vtableSize = this.u16(vtable);
    const tableSize = this.u16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0)
      throw new FlatbufferBoundsError(`${what}: vtable size ${vtableSize} is invalid`);
    this.check(vtable, vtableSize, `${what} vtable`);
    this.check(pos, tableSize, what);
    this.spend(1, what);
    return new Table(this, pos, vtable, vtableSize, tableSize, what);
  }

  /** Position of the first element and the element count of the vector at `pos`. */
  vector(pos: number, elementSize: number, what: string): { start: number; length: number } {
    const length = this.u32(pos);
    const start = pos + 4;
    this.check(start, length * elementSize, what);
    this.spend(length, what);
    return { start, length };
  }
}

export class Table {
  constructor(
    readonly fb: FlatbufferView,
    readonly pos: number,
    private readonly vtable: number,
    private readonly vtableSize: number,
    private readonly tableSize: number,
    readonly what: string,
  ) {}

  /** Absolute position of field `slot`, or 0 when the field is absent. */
  field(slot: number, size: number): number {
    const entry = 4 + 2 * slot;
    if (entry + 2 > this.vtableSize) return 0;
    const offset = this.fb.u16(this.vtable + entry);
    if (offset === 0) return 0;
    if (offset + size > this.tableSize) {
      throw new FlatbufferBoundsError(
        `${this.what}: field ${slot} at +${offset} overruns the table (${this.tableSize} bytes)`,
      );
    }
    return this.pos + offset;
  }

  has(slot: number): boolean {
    return this.field(slot, 0) !== 0;
  }

  bool(slot: number, dflt = false): boolean {
    const p = this.field(slot, 1);
    return p ? this.fb.u8(p) !== 0 : dflt;
  }
  i8(slot: number, dflt = 0): number {
    const p = this.field(slot, 1);
    return p ? this.fb.i8(p) : dflt;
  }
  u8(slot: number, dflt = 0): number {
    const p = this.field(slot, 1);
    return p ? this.fb.u8(p) : dflt;
  }
  i32(slot: number, dflt = 0): number {
    const p = this.field(slot, 4);
    return p ? this.fb.i32(p) : dflt;
  }
  u32(slot: number, dflt = 0): number {
    const p = this.field(slot, 4);
    return p ? this.fb.u32(p) : dflt;
  }
  f32(slot: number, dflt = 0): number {
    const p = this.field(slot, 4);
    return p ? this.fb.f32(p) : dflt;
  }
  i64(slot: number): bigint {
    const p = this.field(slot, 8);
    return p ? this.fb.i64(p) : 0n;
  }
  u64(slot: number): bigint {
    const p = this.field(slot, 8);
    return p ? this.fb.u64(p) : 0n;
  }

  private refTarget(slot: number): number {
    const p = this.field(slot, 4);
    return p ? this.fb.deref(p) : 0;
  }

  table(slot: number, what: string): Table | null {
    const p = this.refTarget(slot);
    return p ? this.fb.table(p, what) : null;
  }

  string(slot: number, what: string): string | null {
    const p = this.refTarget(slot);
    if (!p) return null;
    const { start, length } = this.fb.vector(p, 1, what);
    return decoder.decode(this.fb.bytes.subarray(start, start + length));
  }

  bytes(slot: number, what: string): Uint8Array | null {
    const p = this.refTarget(slot);
    if (!p) return null;
    const { start, length } = this.fb.vector(p, 1, what);
    return this.fb.bytes.slice(start, start + length);
  }

  i32s(slot: number, what: string): number[] | null {
    const p = this.refTarget(slot);
    if (!p) return null;
    const { start, length } = this.fb.vector(p, 4, what);
    const out = new Array<number>(length);
    for (let i = 0; i < length; i++) out[i] = this.fb.i32(start + 4 * i);
    return out;
  }

  f32s(slot: number, what: string): number[] | null {
    const p = this.refTarget(slot);
    if (!p) return null;
    const { start, length } = this.fb.vector(p, 4, what);
    const out = new Array<number>(length);
    for (let i = 0; i < length; i++) out[i] = this.fb.f32(start + 4 * i);
    return out;
  }

  i64s(slot: number, what: string): bigint[] | null {
    const p = this.refTarget(slot);
    if (!p) return null;
    const { start, length } = this.fb.vector(p, 8, what);
    const out = new Array<bigint>(length);
    for (let i = 0; i < length; i++) out[i] = this.fb.i64(start + 8 * i);
    return out;
  }

  tables(slot: number, what: string): Table[] {
    const p = this.refTarget(slot);
    if (!p) return [];
    const { start, length } = this.fb.vector(p, 4, what);
    const out = new Array<Table>(length);
    for (let i = 0; i < length; i++)
      out[i] = this.fb.table(this.fb.deref(start + 4 * i), `${what}[${i}]`);
    return out;
  }
}

const decoder = new TextDecoder('utf-8');
