/**
 * A small FlatBuffers writer: tables, vectors of scalars or of offsets, and strings, described as
 * plain objects and serialized in one pass. It writes front to back: an object first, then the
 * objects it refers to after it, patching its offsets once they are placed. Offsets (uoffset_t)
 * must point forward, and children placed after their parent always are; each table's vtable is
 * written right before the table (soffset = table - vtable). Every scalar sits on a multiple of its
 * own size from the start of the buffer, which is what the FlatBuffers verifier checks.
 *
 * Written for bench/peers/tflite-writer.ts (no flatbuffers dependency for ~150 lines); it knows no
 * schema, so the caller gives every field's slot and scalar type.
 * @packageDocumentation
 */

/** Inline scalar types, named as in .fbs files. */
export type ScalarType = 'bool' | 'byte' | 'ubyte' | 'short' | 'ushort' | 'int' | 'uint' | 'float' | 'long';

const SIZE: Record<ScalarType, number> = { bool: 1, byte: 1, ubyte: 1, short: 2, ushort: 2, int: 4, uint: 4, float: 4, long: 8 };

/** A table: field slot -> inline scalar or reference to another object. Absent slots are defaults. */
export interface FbTable {
  kind: 'table';
  fields: Map<number, FbField>;
}
/** A scalar field, or an offset to another object. */
export type FbField = { type: ScalarType; value: number } | { ref: FbObject };
/** A vector of scalars; `align` raises the alignment of its first element (`force_align`). */
export interface FbScalarVector {
  kind: 'scalars';
  type: ScalarType;
  values: ArrayLike<number>;
  align?: number;
}
/** Raw bytes as a `[ubyte]` vector, copied as they are. */
export interface FbBytes {
  kind: 'bytes';
  bytes: Uint8Array;
  align?: number;
}
/** A vector of offsets to tables or strings. */
export interface FbRefVector {
  kind: 'refs';
  items: FbObject[];
}
export interface FbString {
  kind: 'string';
  value: string;
}
/** Anything an offset can point to. */
export type FbObject = FbTable | FbScalarVector | FbBytes | FbRefVector | FbString;

/** A table from `[slot, field]` pairs; pairs whose field is undefined are left out (the schema default). */
export function table(entries: [number, FbField | FbObject | undefined][]): FbTable {
  const fields = new Map<number, FbField>();
  for (const [slot, f] of entries) {
    if (f === undefined) continue;
    fields.set(slot, 'kind' in f ? { ref: f } : f);
  }
  return { kind: 'table', fields };
}
/** A scalar field value. */
export const scalar = (type: ScalarType, value: number): FbField => ({ type, value });
export const vector = (type: ScalarType, values: ArrayLike<number>, align?: number): FbScalarVector => ({ kind: 'scalars', type, values, align });
export const bytes = (b: Uint8Array, align?: number): FbBytes => ({ kind: 'bytes', bytes: b, align });
export const refs = (items: FbObject[]): FbRefVector => ({ kind: 'refs', items });
export const string = (value: string): FbString => ({ kind: 'string', value });

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** A growable little-endian byte buffer. */
class ByteBuffer {
  bytes = new Uint8Array(1 << 16);
  view = new DataView(this.bytes.buffer);
  end = 0;

  /** Zero-pads to `pos` (at or past the end) and makes room for `n` more bytes from there. */
  reserve(pos: number, n: number): void {
    if (pos + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(pos + n, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.end));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.end = Math.max(this.end, pos + n);
  }

  put(type: ScalarType, pos: number, value: number): void {
    const v = this.view;
    switch (type) {
      case 'bool': case 'ubyte': v.setUint8(pos, value); break;
      case 'byte': v.setInt8(pos, value); break;
      case 'short': v.setInt16(pos, value, true); break;
      case 'ushort': v.setUint16(pos, value, true); break;
      case 'int': v.setInt32(pos, value, true); break;
      case 'uint': v.setUint32(pos, value, true); break;
      case 'float': v.setFloat32(pos, value, true); break;
      case 'long': v.setBigInt64(pos, BigInt(value), true); break;
    }
  }
}

/** Serializes objects front to back; see the module comment. */
class Serializer {
  readonly buf = new ByteBuffer();

  /** Places `obj` at the end of the buffer, then everything it refers to; returns its position. */
  place(obj: FbObject): number {
    const pending: [number, FbObject][] = [];
    const pos = this.write(obj, pending);
    for (const [at, child] of pending) this.buf.put('uint', at, this.place(child) - at);
    return pos;
  }

  private write(obj: FbObject, pending: [number, FbObject][]): number {
    switch (obj.kind) {
      case 'table': return this.writeTable(obj, pending);
      case 'string': {
        const utf8 = new TextEncoder().encode(obj.value);
        // The count excludes the NUL terminator, which is the zero the reserved byte already holds.
        const pos = this.lengthPrefix(utf8.length + 1, 4, utf8.length);
        this.buf.bytes.set(utf8, pos + 4);
        return pos;
      }
      case 'bytes': {
        const pos = this.lengthPrefix(obj.bytes.length, obj.align ?? 1);
        this.buf.bytes.set(obj.bytes, pos + 4);
        return pos;
      }
      case 'scalars': {
        const size = SIZE[obj.type];
        const pos = this.lengthPrefix(obj.values.length * size, Math.max(size, obj.align ?? 1), obj.values.length);
        for (let i = 0; i < obj.values.length; i++) this.buf.put(obj.type, pos + 4 + i * size, obj.values[i]);
        return pos;
      }
      case 'refs': {
        const pos = this.lengthPrefix(obj.items.length * 4, 4, obj.items.length);
        obj.items.forEach((item, i) => pending.push([pos + 4 + i * 4, item]));
        return pos;
      }
    }
  }

  /** Reserves a u32 count and `byteLength` bytes whose first byte is `align`-aligned; returns the count's position. */
  private lengthPrefix(byteLength: number, align: number, count = byteLength): number {
    const data = alignUp(this.buf.end + 4, Math.max(4, align));
    this.buf.reserve(data - 4, 4 + byteLength);
    this.buf.put('uint', data - 4, count);
    return data - 4;
  }

  /** Writes a vtable and, right after it, the table: soffset first, then the fields largest first. */
  private writeTable(t: FbTable, pending: [number, FbObject][]): number {
    const size = (f: FbField): number => ('ref' in f ? 4 : SIZE[f.type]);
    const slots = [...t.fields.keys()].sort((a, b) => size(t.fields.get(b)!) - size(t.fields.get(a)!) || a - b);
    const layout = new Map<number, number>();
    let inline = 4;
    for (const slot of slots) {
      const s = size(t.fields.get(slot)!);
      inline = alignUp(inline, s);
      layout.set(slot, inline);
      inline += s;
    }
    const vtableSlots = t.fields.size ? Math.max(...t.fields.keys()) + 1 : 0;
    const vtableBytes = 4 + 2 * vtableSlots;
    const tableAlign = Math.max(4, ...slots.map((s) => size(t.fields.get(s)!)));
    const pos = alignUp(this.buf.end + vtableBytes, tableAlign);
    const vtable = pos - vtableBytes;
    this.buf.reserve(vtable, vtableBytes + inline);
    this.buf.put('ushort', vtable, vtableBytes);
    this.buf.put('ushort', vtable + 2, inline);
    for (const [slot, offset] of layout) this.buf.put('ushort', vtable + 4 + 2 * slot, offset);
    this.buf.put('int', pos, pos - vtable);
    for (const [slot, offset] of layout) {
      const f = t.fields.get(slot)!;
      if ('ref' in f) pending.push([pos + offset, f.ref]);
      else this.buf.put(f.type, pos + offset, f.value);
    }
    return pos;
  }
}

/**
 * The bytes of a FlatBuffer with root table `root` and a 4-character file identifier.
 * @throws Error if `identifier` is not 4 ASCII characters.
 */
export function finish(root: FbTable, identifier: string): Uint8Array {
  if (!/^[\x20-\x7e]{4}$/.test(identifier)) throw new Error(`flatbuffer: file identifier must be 4 ASCII characters, got ${JSON.stringify(identifier)}`);
  const s = new Serializer();
  s.buf.reserve(0, 8);
  for (let i = 0; i < 4; i++) s.buf.bytes[4 + i] = identifier.charCodeAt(i);
  s.buf.put('uint', 0, s.place(root));
  return s.buf.bytes.slice(0, alignUp(s.buf.end, 16));
}
