/**
 * A small reader for the FlatBuffers binary format, enough to walk a .tflite file without a schema
 * compiler or the flatbuffers package. It knows no schema: the caller names each field by its slot
 * (src/convert/tflite-schema.ts) and says what type it has.
 *
 * Input is untrusted. Every position is checked against the bytes before it is read: a table's
 * vtable and inline fields, an offset's target, a vector's or string's whole extent (its length
 * times the element size, in float arithmetic, so no product wraps). Offsets (uoffset_t) are
 * unsigned, so each points forward from where it is stored; the reader follows only the offsets
 * its caller asks for, and never recurses, so a file cannot make it loop. Vectors are checked as
 * a whole when they are found and their elements are read on demand, so finding one allocates
 * nothing in proportion to its length: a caller reads the length, checks it against its own caps,
 * and only then builds anything (src/convert/tflite-read.ts does).
 *
 * All failures are {@link ConvertError}s with code `E_CONVERT_FLATBUFFER`, one line, naming the
 * byte offset and the table or field by the caller's schema names; nothing from the file is
 * quoted (the file identifier goes through {@link quote}).
 * @packageDocumentation
 */
import { ConvertError } from '../errors.js';
import { quote } from '../text.js';

const TWO_32 = 2 ** 32;
/** Largest high word of a 64-bit value that still converts to a safe JS integer. */
const MAX_SAFE_HI = 0x1fffff;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Sizes of the scalars a field or vector element can have. */
type ScalarSize = 1 | 2 | 4 | 8;

/** A buffer of FlatBuffers data: bounded scalar reads at absolute positions, and the root table. */
export class FlatBuffer {
  /** A view over exactly {@link bytes}, for the scalar reads. */
  private readonly view: DataView;

  /**
   * @param bytes the whole buffer (a view of a larger one is fine: positions count from its start).
   * @param format what the buffer should be ('TFLite'), for messages.
   * @param checkAlignment also refuse what the FlatBuffers verifier finds misaligned: a scalar off
   *   a multiple of its size, a table, vector or string off 4. Tests of a writer turn it on; a
   *   reader needs no alignment, since every read goes through a DataView.
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly format: string,
    readonly checkAlignment = false,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes in the buffer. */
  get length(): number {
    return this.bytes.length;
  }

  /** The 4 characters after the root offset (one per byte), or undefined when the buffer is shorter than 8 bytes. */
  identifier(): string | undefined {
    return this.length < 8 ? undefined : String.fromCharCode(...this.bytes.subarray(4, 8));
  }

  /** Refuses a buffer whose {@link identifier} is not `expected`, saying it is not a `format` file. */
  expectIdentifier(expected: string): void {
    const id = this.identifier();
    if (id === expected) return;
    const found = id === undefined ? `only ${this.length} bytes, too few for a file identifier` : `file identifier ${quote(id)}`;
    throw new ConvertError('E_CONVERT_FLATBUFFER', `not a ${this.format} file: it has ${found}, where a ${this.format} file has ${quote(expected)}`);
  }

  /** The root table, named `name` in messages. */
  root(name: string): FbTable {
    return new FbTable(this, this.target(0, `table ${name}`), name);
  }

  /** Throws a {@link ConvertError} `E_CONVERT_FLATBUFFER` about this buffer. */
  fail(message: string): never {
    throw new ConvertError('E_CONVERT_FLATBUFFER', `invalid ${this.format} flatbuffer: ${message}; the file is truncated, corrupt or not a ${this.format} file`);
  }

  /** Refuses `size` bytes at `pos` unless they lie in the buffer (and, if checked, are aligned to `align`). */
  check(pos: number, size: number, what: string, align = 1): void {
    if (!(pos >= 0 && size >= 0 && pos + size <= this.length)) {
      this.fail(`${what} at byte ${pos} needs ${size} bytes but the file has ${this.length}`);
    }
    if (this.checkAlignment && pos % align !== 0) this.fail(`${what} at byte ${pos} is not aligned to ${align} bytes`);
  }

  /** Where the offset (uoffset_t) stored at `pos` points, checked to leave room for a 4-byte header there. */
  target(pos: number, what: string): number {
    this.check(pos, 4, `offset to ${what}`, 4);
    const to = pos + this.view.getUint32(pos, true);
    this.check(to, 4, what, 4);
    return to;
  }

  // The scalar reads take positions already checked: a table's fields and a vector's elements are
  // checked as a whole, once. A position outside would make DataView throw a RangeError.
  /** The uint8 at `pos`. */
  u8(pos: number): number { return this.view.getUint8(pos); }
  /** The int8 at `pos`. */
  i8(pos: number): number { return this.view.getInt8(pos); }
  /** The little-endian uint16 at `pos`. */
  u16(pos: number): number { return this.view.getUint16(pos, true); }
  /** The little-endian int16 at `pos`. */
  i16(pos: number): number { return this.view.getInt16(pos, true); }
  /** The little-endian uint32 at `pos`. */
  u32(pos: number): number { return this.view.getUint32(pos, true); }
  /** The little-endian int32 at `pos`. */
  i32(pos: number): number { return this.view.getInt32(pos, true); }
  /** The little-endian float32 at `pos`. */
  f32(pos: number): number { return this.view.getFloat32(pos, true); }
  /** The little-endian float64 at `pos`. */
  f64(pos: number): number { return this.view.getFloat64(pos, true); }

  /** An unsigned 64-bit value, refused beyond 2^53 (where a JS number would round it). */
  u64(pos: number, what: string): number {
    const hi = this.u32(pos + 4);
    if (hi > MAX_SAFE_HI) this.fail(`${what} at byte ${pos} is ${BigInt.asUintN(64, this.view.getBigUint64(pos, true))}, beyond the exactly representable integers (2^53)`);
    return hi * TWO_32 + this.u32(pos);
  }

  /** A signed 64-bit value, refused beyond ±2^53. */
  i64(pos: number, what: string): number {
    const hi = this.i32(pos + 4);
    if (hi > MAX_SAFE_HI || hi < -MAX_SAFE_HI - 1) this.fail(`${what} at byte ${pos} is ${this.view.getBigInt64(pos, true)}, beyond the exactly representable integers (2^53)`);
    return hi * TWO_32 + this.u32(pos);
  }

  /** `bytes` as UTF-8 text, refused if they are not valid UTF-8. */
  text(bytes: Uint8Array, what: string): string {
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail(`${what} is not valid UTF-8 text`);
    }
  }
}

/**
 * A table: fields read by slot, an absent field (slot past the vtable, or offset 0) reading as the
 * default the caller gives, as FlatBuffers' generated code does.
 */
export class FbTable {
  private readonly vtable: number;
  private readonly vtableSize: number;
  private readonly tableSize: number;

  /**
   * Checks the table's header: its vtable (found through the soffset at `pos`, which may point
   * either way) lies in the buffer with a sane size, and so does its inline part.
   */
  constructor(
    readonly fb: FlatBuffer,
    readonly pos: number,
    readonly name: string,
  ) {
    fb.check(pos, 4, `table ${name}`, 4);
    this.vtable = pos - fb.i32(pos);
    fb.check(this.vtable, 4, `vtable of table ${name} (at byte ${pos})`, 2);
    this.vtableSize = fb.u16(this.vtable);
    this.tableSize = fb.u16(this.vtable + 2);
    if (this.vtableSize < 4 || this.vtableSize % 2 !== 0) fb.fail(`vtable of table ${name} at byte ${this.vtable} has size ${this.vtableSize}, not an even number of at least 4 bytes`);
    fb.check(this.vtable, this.vtableSize, `vtable of table ${name}`);
    if (this.tableSize < 4) fb.fail(`table ${name} at byte ${pos} has size ${this.tableSize}, less than its own 4-byte header`);
    fb.check(pos, this.tableSize, `table ${name}`);
  }

  /** Position of the field in `slot` (`size` bytes, inside the table), or 0 when the field is absent. */
  private field(slot: number, size: ScalarSize): number {
    const entry = 4 + 2 * slot;
    if (entry >= this.vtableSize) return 0;
    const offset = this.fb.u16(this.vtable + entry);
    if (offset === 0) return 0;
    if (offset < 4 || offset + size > this.tableSize) {
      this.fb.fail(`field ${slot} of table ${this.name} at byte ${this.pos} lies at offset ${offset}, outside the table's ${this.tableSize} bytes`);
    }
    if (this.fb.checkAlignment && (this.pos + offset) % size !== 0) this.fb.fail(`field ${slot} of table ${this.name} at byte ${this.pos + offset} is not aligned to ${size} bytes`);
    return this.pos + offset;
  }

  /** True when the field in `slot` is present. */
  has(slot: number): boolean {
    const entry = 4 + 2 * slot;
    return entry < this.vtableSize && this.fb.u16(this.vtable + entry) !== 0;
  }

  // Scalar fields: the value in `slot`, or `fallback` (the schema's default) when it is absent.
  /** A `bool` field. */
  bool(slot: number, fallback = false): boolean { const p = this.field(slot, 1); return p ? this.fb.u8(p) !== 0 : fallback; }
  /** A `byte` field (enums such as TensorType are bytes). */
  int8(slot: number, fallback = 0): number { const p = this.field(slot, 1); return p ? this.fb.i8(p) : fallback; }
  /** A `ubyte` field (a union's type). */
  uint8(slot: number, fallback = 0): number { const p = this.field(slot, 1); return p ? this.fb.u8(p) : fallback; }
  /** A `short` field. */
  int16(slot: number, fallback = 0): number { const p = this.field(slot, 2); return p ? this.fb.i16(p) : fallback; }
  /** A `ushort` field. */
  uint16(slot: number, fallback = 0): number { const p = this.field(slot, 2); return p ? this.fb.u16(p) : fallback; }
  /** An `int` field. */
  int32(slot: number, fallback = 0): number { const p = this.field(slot, 4); return p ? this.fb.i32(p) : fallback; }
  /** A `uint` field. */
  uint32(slot: number, fallback = 0): number { const p = this.field(slot, 4); return p ? this.fb.u32(p) : fallback; }
  /** A `float` field. */
  float32(slot: number, fallback = 0): number { const p = this.field(slot, 4); return p ? this.fb.f32(p) : fallback; }
  /** A `double` field. */
  float64(slot: number, fallback = 0): number { const p = this.field(slot, 8); return p ? this.fb.f64(p) : fallback; }

  /** A `ulong` field, refused beyond 2^53. */
  uint64(slot: number, fallback = 0): number {
    const p = this.field(slot, 8);
    return p ? this.fb.u64(p, `field ${slot} of table ${this.name}`) : fallback;
  }

  /** A `long` field, refused beyond ±2^53. */
  int64(slot: number, fallback = 0): number {
    const p = this.field(slot, 8);
    return p ? this.fb.i64(p, `field ${slot} of table ${this.name}`) : fallback;
  }

  /** Where the offset field in `slot` points, or undefined when it is absent. */
  private target(slot: number, what: string): number | undefined {
    const p = this.field(slot, 4);
    return p ? this.fb.target(p, what) : undefined;
  }

  /** The sub-table in `slot` (named `name` in messages), or undefined. */
  table(slot: number, name: string): FbTable | undefined {
    const t = this.target(slot, `table ${name}`);
    return t === undefined ? undefined : new FbTable(this.fb, t, name);
  }

  /**
   * The vector in `slot`, of elements `elemSize` bytes each (4 for tables and strings, a struct's
   * size for structs), checked to lie in the buffer as a whole; undefined when absent.
   */
  vector(slot: number, elemSize: number, name: string): FbVector | undefined {
    const t = this.target(slot, `vector ${name}`);
    return t === undefined ? undefined : FbVector.at(this.fb, t, elemSize, name);
  }

  /**
   * The bytes of the string in `slot` (a view, without its NUL terminator, which is checked), or
   * undefined when absent. Decode them with {@link FlatBuffer.text} once their length is checked.
   */
  stringBytes(slot: number, name: string): Uint8Array | undefined {
    const t = this.target(slot, `string ${name}`);
    if (t === undefined) return undefined;
    const n = this.fb.u32(t);
    this.fb.check(t + 4, n + 1, `string ${name} (${n} bytes and a NUL)`);
    if (this.fb.u8(t + 4 + n) !== 0) this.fb.fail(`string ${name} at byte ${t} does not end in a NUL byte`);
    return this.fb.bytes.subarray(t + 4, t + 4 + n);
  }
}

/**
 * A vector found in a buffer: its length, and its elements read by index. The whole extent was
 * checked when it was found; each read checks its index.
 */
export class FbVector {
  private constructor(
    readonly fb: FlatBuffer,
    /** Position of the first element. */
    readonly start: number,
    readonly length: number,
    readonly elemSize: number,
    readonly name: string,
  ) {}

  /** The vector whose length prefix is at `pos` (checked: its elements lie in the buffer). */
  static at(fb: FlatBuffer, pos: number, elemSize: number, name: string): FbVector {
    const length = fb.u32(pos);
    // Float arithmetic: 2^32 elements of 8 bytes is 2^35, exact, and far past any buffer.
    fb.check(pos + 4, length * elemSize, `vector ${name} of ${length} elements`, elemSize === 2 || elemSize === 8 ? elemSize : 1);
    return new FbVector(fb, pos + 4, length, elemSize, name);
  }

  /** Position of element `i` (a struct's first byte, for reading its fields with the buffer's scalar reads). */
  at(i: number): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.length)) this.fb.fail(`index ${i} is outside vector ${this.name} of ${this.length} elements`);
    return this.start + i * this.elemSize;
  }

  /** Element `i` of a `[byte]`. */
  int8(i: number): number { return this.fb.i8(this.at(i)); }
  /** Element `i` of a `[ubyte]`. */
  uint8(i: number): number { return this.fb.u8(this.at(i)); }
  /** Element `i` of an `[int]`. */
  int32(i: number): number { return this.fb.i32(this.at(i)); }
  /** Element `i` of a `[uint]`. */
  uint32(i: number): number { return this.fb.u32(this.at(i)); }
  /** Element `i` of a `[float]`. */
  float32(i: number): number { return this.fb.f32(this.at(i)); }

  /** Element `i` of a `[long]`, refused beyond ±2^53. */
  int64(i: number): number {
    return this.fb.i64(this.at(i), `element ${i} of vector ${this.name}`);
  }

  /** Element `i` of a vector of tables, named `name` in messages. */
  table(i: number, name: string): FbTable {
    return new FbTable(this.fb, this.fb.target(this.at(i), `table ${name}`), name);
  }

  /** The elements' bytes, as a view of the buffer (no copy). */
  bytes(): Uint8Array {
    return this.fb.bytes.subarray(this.start, this.start + this.length * this.elemSize);
  }
}

/**
 * A table with no fields, for an absent table whose fields should read as their defaults (as
 * FlatBuffers' generated code reads an operator's missing options). A real 12-byte flatbuffer:
 * root offset 8, a 4-byte vtable (size 4, table size 4), then the table, 4 bytes past its vtable.
 */
export const EMPTY_TABLE: FbTable = new FlatBuffer(Uint8Array.of(8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0), 'empty').root('empty');
