/**
 * A minimal reader for the protobuf wire format, enough to walk ONNX files without a schema
 * compiler. Input is untrusted: every read is bounds-checked, lengths are checked against the bytes
 * that remain before anything is sliced, and nesting is limited. Skipping and counting allocate
 * nothing; bytes are views of the input, strings copies of bytes that exist, and repeated numbers
 * go into typed arrays the caller sizes with {@link ProtoReader.count}. What a file costs beyond
 * its own size is therefore the caller's to bound, by checking those counts before it builds
 * anything (src/convert/onnx.ts caps each one). All failures are {@link ConvertError}s with code
 * `E_CONVERT_PROTOBUF` and the byte offset of the problem.
 * @packageDocumentation
 */
import { ConvertError } from '../errors.js';

/** Wire types of the protobuf encoding. Groups (3, 4) are deprecated and refused. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32'];

/** Deepest nesting of sub-messages accepted; ONNX needs about 8, recursion in hostile files must stop somewhere. */
export const MAX_PROTO_DEPTH = 32;

const TWO_32 = 2 ** 32;
/** Largest high word of a 64-bit value that still converts to a safe JS integer. */
const MAX_SAFE_HI = 0x1fffff;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * How {@link ProtoReader.count} counts a field: `each` occurrence as one element (messages,
 * strings), or the numbers a repeated `varint` or `fixed32` field holds, packed or not.
 */
export type Repeated = 'each' | 'varint' | 'fixed32';

/**
 * Walks the fields of one message. Typical use:
 * ```ts
 * while (r.next()) {
 *   switch (r.field) {
 *     case 1: name = r.string(); break;
 *     default: r.skip();
 *   }
 * }
 * ```
 * Each value reader checks that the current field has the wire type it needs.
 */
export class ProtoReader {
  /** Field number of the current field (after {@link next} returned true). */
  field = 0;
  /** Wire type of the current field. */
  wire = -1;
  private pos: number;
  /** Byte offset of the current field's key, for error messages. */
  private at = 0;
  private lo = 0;
  private hi = 0;

  /**
   * @param buf the whole buffer; `start`/`end` delimit this message so offsets in errors are absolute.
   * @param message name of the message type, used in error messages.
   */
  constructor(
    private readonly buf: Uint8Array,
    readonly message = 'message',
    private readonly start = 0,
    private readonly end = buf.length,
    private readonly depth = 0,
  ) {
    this.pos = start;
  }

  /** Moves to the next field; false at the end of the message. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    this.at = this.pos;
    this.readVarint();
    if (this.hi !== 0 || this.lo >>> 3 === 0) this.fail(`invalid field key at byte ${this.at}`);
    this.field = this.lo >>> 3;
    this.wire = this.lo & 7;
    if (this.wire === WireType.SGROUP || this.wire === WireType.EGROUP || this.wire > WireType.I32) {
      this.fail(`${this.where()} has wire type ${this.wire} (${WIRE_NAMES[this.wire] ?? 'invalid'}), which this reader does not accept`);
    }
    return true;
  }

  /** Skips the current field's value. */
  skip(): void {
    switch (this.wire) {
      case WireType.VARINT:
        this.readVarint();
        break;
      case WireType.I64:
        this.advance(8);
        break;
      case WireType.LEN:
        this.advance(this.length());
        break;
      default:
        this.advance(4);
    }
  }

  /** A varint as an unsigned integer (uint32, uint64, or a non-negative int64). */
  uint(): number {
    this.expect(WireType.VARINT);
    this.readVarint();
    return this.unsigned64();
  }

  /** A varint as a signed int64 (two's complement), e.g. ONNX dims and integer attributes. */
  int64(): number {
    this.expect(WireType.VARINT);
    this.readVarint();
    return this.signed64();
  }

  /** A varint as a signed int32 / enum: the low 32 bits, as protobuf specifies. */
  int32(): number {
    this.expect(WireType.VARINT);
    this.readVarint();
    return this.lo | 0;
  }

  /** A fixed32 as an unsigned integer. */
  fixed32(): number {
    this.expect(WireType.I32);
    return this.view(this.take(4)).getUint32(0, true);
  }

  /** A fixed32 as a float. */
  float(): number {
    this.expect(WireType.I32);
    return this.view(this.take(4)).getFloat32(0, true);
  }

  /** A fixed64 as an unsigned integer, if it is a safe JS integer. */
  fixed64(): number {
    this.expect(WireType.I64);
    const v = this.view(this.take(8));
    this.lo = v.getUint32(0, true);
    this.hi = v.getUint32(4, true);
    return this.unsigned64();
  }

  /** A fixed64 as a double. */
  double(): number {
    this.expect(WireType.I64);
    return this.view(this.take(8)).getFloat64(0, true);
  }

  /** A length-delimited field's bytes, as a view into the input (no copy). */
  bytes(): Uint8Array {
    this.expect(WireType.LEN);
    return this.take(this.length());
  }

  /** A length-delimited field as UTF-8 text. */
  string(): string {
    const b = this.bytes();
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`${this.where()} is not valid UTF-8 text`);
    }
  }

  /** A reader over the current field's embedded message. */
  sub(message: string): ProtoReader {
    this.expect(WireType.LEN);
    if (this.depth >= MAX_PROTO_DEPTH) this.fail(`messages are nested more than ${MAX_PROTO_DEPTH} deep`);
    const len = this.length();
    const start = this.pos;
    this.advance(len);
    return new ProtoReader(this.buf, `${this.message}.${message}`, start, start + len, this.depth + 1);
  }

  /**
   * How many elements each of `fields` has in the whole message, counted without decoding a value
   * or moving this reader: a caller sizes (and caps) its arrays with the counts before it reads.
   * A packed varint field holds as many numbers as it has bytes below 0x80, a packed fixed32 field
   * a quarter of its length; any malformation is found when the values are read.
   * @param fields field numbers and how to count each.
   * @returns the count of each of `fields`, in order.
   */
  count(fields: readonly (readonly [number, Repeated])[]): number[] {
    const r = new ProtoReader(this.buf, this.message, this.start, this.end, this.depth);
    const counts = fields.map(() => 0);
    while (r.next()) {
      const i = fields.findIndex(([field]) => field === r.field);
      if (i < 0) r.skip();
      else counts[i] += r.elements(fields[i][1]);
    }
    return counts;
  }

  /**
   * Stores a repeated int64 field's value(s), packed or not, in `out` from index `at`, and returns
   * the index after them. `out` is sized by {@link count}, as are the other typed readers' arrays.
   */
  int64s(out: Float64Array, at: number): number {
    return this.repeated(WireType.VARINT, out, at, () => this.int64());
  }

  /** Stores a repeated int32 field's value(s), packed or not, in `out` from `at`; returns the index after them. */
  int32s(out: Int32Array, at: number): number {
    return this.repeated(WireType.VARINT, out, at, () => this.int32());
  }

  /** Stores a repeated float field's value(s), packed or not, in `out` from `at`; returns the index after them. */
  floats(out: Float32Array, at: number): number {
    if (this.wire !== WireType.LEN) return this.repeated(WireType.I32, out, at, () => this.float());
    // Packed: one view over the run, not a slice and a view per value.
    const run = this.take(this.length());
    if (run.length % 4 !== 0) this.fail(`packed ${this.where()} ends inside a value`);
    const view = this.view(run);
    for (let i = 0; i < run.length; i += 4) out[at++] = view.getFloat32(i, true);
    return at;
  }

  /** Throws a {@link ConvertError} naming this message. */
  fail(message: string): never {
    throw new ConvertError('E_CONVERT_PROTOBUF', `invalid ONNX protobuf in ${this.message}: ${message}; the file is corrupt or not an ONNX model`);
  }

  /** Reads one element (`wire` = element type) or, for a packed field, all elements of the current field into `out` from `at`. */
  private repeated(wire: number, out: Float64Array | Float32Array | Int32Array, at: number, readOne: () => number): number {
    if (this.wire !== WireType.LEN) {
      out[at] = readOne();
      return at + 1;
    }
    const end = this.length() + this.pos;
    this.wire = wire;
    while (this.pos < end) out[at++] = readOne();
    // A value straddling the packed field's end is malformed even when bytes follow it.
    if (this.pos !== end) this.fail(`packed ${this.where()} ends inside a value`);
    this.wire = WireType.LEN;
    return at;
  }

  /** The current field's element count for {@link count}, skipping its value. */
  private elements(kind: Repeated): number {
    if (kind === 'each' || this.wire !== WireType.LEN) {
      this.skip();
      return 1;
    }
    const packed = this.take(this.length());
    if (kind === 'fixed32') return Math.floor(packed.length / 4);
    let n = 0;
    for (let i = 0; i < packed.length; i++) if (packed[i] < 0x80) n++;
    return n;
  }

  private expect(wire: number): void {
    if (this.wire !== wire) {
      this.fail(`${this.where()} has wire type ${this.wire} (${WIRE_NAMES[this.wire]}), expected ${wire} (${WIRE_NAMES[wire]})`);
    }
  }

  private length(): number {
    this.readVarint();
    if (this.hi !== 0 || this.lo > this.end - this.pos) {
      this.fail(`length ${this.hi * TWO_32 + this.lo} of ${this.where()} runs past the end of the message (${this.end - this.pos} bytes left)`);
    }
    return this.lo;
  }

  /** The next `n` bytes, as a view. */
  private take(n: number): Uint8Array {
    this.advance(n);
    return this.buf.subarray(this.pos - n, this.pos);
  }

  /** Moves past `n` bytes without making a view of them, as skipping and counting need none. */
  private advance(n: number): void {
    if (n > this.end - this.pos) this.fail(`${this.where()} needs ${n} bytes but only ${this.end - this.pos} remain (truncated?)`);
    this.pos += n;
  }

  private where(): string {
    return `field ${this.field} at byte ${this.at}`;
  }

  private view(b: Uint8Array): DataView {
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Decodes a varint into `lo`/`hi` (the two 32-bit halves of the 64-bit value). */
  private readVarint(): void {
    const at = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail(`varint at byte ${at} is truncated`);
      const b = this.buf[this.pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x7f) >>> 4;
      } else if (i < 9) hi |= (b & 0x7f) << (7 * i - 32);
      else if (b > 1) this.fail(`varint at byte ${at} ${b & 0x80 ? 'is longer than 10 bytes' : 'exceeds 64 bits'}`);
      else hi |= b << 31;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
  }

  private unsigned64(): number {
    if (this.hi > MAX_SAFE_HI) this.tooLarge(BigInt.asUintN(64, this.raw64()));
    return this.hi * TWO_32 + this.lo;
  }

  private signed64(): number {
    if (this.hi < 0x80000000) return this.unsigned64();
    const lo = (~this.lo + 1) >>> 0;
    const hi = (~this.hi + (lo === 0 ? 1 : 0)) >>> 0;
    if (hi > MAX_SAFE_HI) this.tooLarge(BigInt.asIntN(64, this.raw64()));
    return -(hi * TWO_32 + lo);
  }

  private raw64(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  private tooLarge(v: bigint): never {
    return this.fail(`${this.where()}: value ${v} is beyond the exactly representable integers (2^53)`);
  }
}
