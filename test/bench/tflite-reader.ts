/**
 * A minimal FlatBuffers reader for the tests of bench/peers/tflite-writer.ts: enough to walk a
 * .tflite file's tables by field slot (bench/peers/tflite-schema.ts) and check what was written.
 * It follows the format's rules independently of the writer (offsets relative to where they are
 * stored, vtables found through the table's soffset, defaults for absent fields) and checks the
 * alignment the FlatBuffers verifier checks, so a layout mistake fails here too.
 * @packageDocumentation
 */

/** A table in a buffer: reads fields by slot. */
export class FbReader {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array, readonly pos: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    aligned(pos, 4, 'table');
    const vtable = pos - this.view.getInt32(pos, true);
    aligned(vtable, 2, 'vtable');
    if (vtable < 0 || vtable + 4 > bytes.length) throw new Error(`vtable of the table at ${pos} is outside the buffer`);
  }

  /** The root table of a buffer, after checking its 4-character identifier. */
  static root(bytes: Uint8Array, identifier: string): FbReader {
    const id = String.fromCharCode(...bytes.subarray(4, 8));
    if (id !== identifier) throw new Error(`file identifier is ${JSON.stringify(id)}, expected ${identifier}`);
    return new FbReader(bytes, new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true));
  }

  /** Position of a field's value, or undefined when the field is absent. */
  private field(slot: number): number | undefined {
    const vtable = this.pos - this.view.getInt32(this.pos, true);
    const vtableBytes = this.view.getUint16(vtable, true);
    if (4 + 2 * slot >= vtableBytes) return undefined;
    const offset = this.view.getUint16(vtable + 4 + 2 * slot, true);
    return offset ? this.pos + offset : undefined;
  }

  has(slot: number): boolean {
    return this.field(slot) !== undefined;
  }

  int(slot: number, def = 0): number { const p = this.field(slot); return p === undefined ? def : (aligned(p, 4, 'int'), this.view.getInt32(p, true)); }
  uint(slot: number, def = 0): number { const p = this.field(slot); return p === undefined ? def : (aligned(p, 4, 'uint'), this.view.getUint32(p, true)); }
  byte(slot: number, def = 0): number { const p = this.field(slot); return p === undefined ? def : this.view.getInt8(p); }
  ubyte(slot: number, def = 0): number { const p = this.field(slot); return p === undefined ? def : this.view.getUint8(p); }
  float(slot: number, def = 0): number { const p = this.field(slot); return p === undefined ? def : (aligned(p, 4, 'float'), this.view.getFloat32(p, true)); }

  /** Where an offset field points (the target's position), or undefined. */
  private target(slot: number): number | undefined {
    const p = this.field(slot);
    if (p === undefined) return undefined;
    aligned(p, 4, 'offset');
    return p + this.view.getUint32(p, true);
  }

  table(slot: number): FbReader | undefined {
    const t = this.target(slot);
    return t === undefined ? undefined : new FbReader(this.bytes, t);
  }

  string(slot: number): string | undefined {
    const t = this.target(slot);
    if (t === undefined) return undefined;
    const n = this.view.getUint32(t, true);
    if (this.bytes[t + 4 + n] !== 0) throw new Error(`string at ${t} is not NUL-terminated`);
    return new TextDecoder().decode(this.bytes.subarray(t + 4, t + 4 + n));
  }

  /** Elements of a vector of tables. */
  tables(slot: number): FbReader[] {
    const t = this.target(slot);
    if (t === undefined) return [];
    aligned(t, 4, 'vector');
    const n = this.view.getUint32(t, true);
    return Array.from({ length: n }, (_, i) => {
      const at = t + 4 + 4 * i;
      return new FbReader(this.bytes, at + this.view.getUint32(at, true));
    });
  }

  /** A vector of scalars, as numbers; `size` bytes each, read by `get`. */
  private scalars(slot: number, size: number, get: (p: number) => number): number[] {
    const t = this.target(slot);
    if (t === undefined) return [];
    aligned(t, 4, 'vector');
    aligned(t + 4, size, 'vector elements');
    return Array.from({ length: this.view.getUint32(t, true) }, (_, i) => get(t + 4 + i * size));
  }

  ints(slot: number): number[] { return this.scalars(slot, 4, (p) => this.view.getInt32(p, true)); }
  floats(slot: number): number[] { return this.scalars(slot, 4, (p) => this.view.getFloat32(p, true)); }
  longs(slot: number): number[] { return this.scalars(slot, 8, (p) => Number(this.view.getBigInt64(p, true))); }

  /** A `[ubyte]` vector as a view of the buffer, and where its data starts. */
  bytesOf(slot: number): { data: Uint8Array; start: number } | undefined {
    const t = this.target(slot);
    if (t === undefined) return undefined;
    const n = this.view.getUint32(t, true);
    return { data: this.bytes.subarray(t + 4, t + 4 + n), start: t + 4 };
  }
}

function aligned(pos: number, align: number, what: string): void {
  if (pos % align !== 0) throw new Error(`${what} at ${pos} is not ${align}-byte aligned`);
}
