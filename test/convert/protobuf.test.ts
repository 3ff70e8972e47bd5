import { describe, expect, it } from 'vitest';
import { MAX_PROTO_DEPTH, ProtoReader } from '../../src/convert/protobuf.js';
import { ConvertError } from '../../src/errors.js';
import { ProtoWriter } from '../helpers/onnx-builder.js';
import { rng } from '../helpers/wasm.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';

/** A reader positioned on the first field of `bytes`. */
function first(bytes: Uint8Array | number[]): ProtoReader {
  const r = new ProtoReader(Uint8Array.from(bytes), 'Test');
  expect(r.next()).toBe(true);
  return r;
}

function expectProtoError(f: () => unknown, pattern: RegExp): void {
  expectSqueezeError(thrown(f), ConvertError, 'E_CONVERT_PROTOBUF', pattern);
}

/** Reads every field, descending into each length-delimited field as if it were a message: a schema-less walk for fuzzing. */
function walk(r: ProtoReader): number {
  let fields = 0;
  while (r.next()) {
    fields++;
    if (r.wire !== 2) r.skip();
    else {
      try {
        fields += walk(r.sub('x'));
      } catch (e) {
        if (!(e instanceof ConvertError)) throw e;
      }
    }
  }
  return fields;
}

describe('varints', () => {
  it.each([0, 1, 127, 128, 300, 2 ** 31, 2 ** 32, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER])('reads unsigned %d', (v) => {
    expect(first(new ProtoWriter().varint(1, v).finish()).uint()).toBe(v);
  });

  it.each([0, 1, -1, -2, -300, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER])('reads int64 %d', (v) => {
    expect(first(new ProtoWriter().varint(1, v).finish()).int64()).toBe(v);
  });

  it('reads negative int32 from their 10-byte encoding', () => {
    const bytes = new ProtoWriter().varint(1, -5).finish();
    expect(bytes.length).toBe(11);
    expect(first(bytes).int32()).toBe(-5);
  });

  it('refuses values beyond 2^53 instead of rounding them', () => {
    expectProtoError(() => first(new ProtoWriter().varint(1, 2n ** 53n).finish()).uint(), /9007199254740992 is beyond/);
    expectProtoError(() => first(new ProtoWriter().varint(1, -(2n ** 60n)).finish()).int64(), /-1152921504606846976 is beyond/);
    expectProtoError(() => first(new ProtoWriter().varint(1, 2n ** 64n - 1n).finish()).uint(), /18446744073709551615/);
  });

  it('refuses overlong, over-wide and truncated varints', () => {
    expectProtoError(() => first([0x08, ...Array(10).fill(0x80), 0x00]).uint(), /longer than 10 bytes/);
    expectProtoError(() => first([0x08, ...Array(9).fill(0xff), 0x02]).uint(), /exceeds 64 bits/);
    expectProtoError(() => first([0x08, 0x80, 0x80]).uint(), /varint at byte 1 is truncated/);
    expectProtoError(() => new ProtoReader(Uint8Array.from([0x80])).next(), /truncated/);
  });
});

describe('fixed-width and length-delimited fields', () => {
  it('reads fixed32, float, fixed64 and double', () => {
    const r = new ProtoReader(new ProtoWriter().fixed32(1, 0xdeadbeef).float(2, 1.5).fixed64(3, 2n ** 40n + 7n).double(4, Math.PI).finish());
    const got: number[] = [];
    const readers = [() => r.fixed32(), () => r.float(), () => r.fixed64(), () => r.double()];
    while (r.next()) got.push(readers[r.field - 1]());
    expect(got).toEqual([0xdeadbeef, 1.5, 2 ** 40 + 7, Math.PI]);
  });

  it('reads strings, bytes (as views) and embedded messages', () => {
    const inner = new ProtoWriter().string(1, 'héllo').varint(2, 42);
    const buf = new ProtoWriter().bytes(1, [9, 8, 7]).message(2, inner).finish();
    const r = new ProtoReader(buf, 'Outer');
    r.next();
    const b = r.bytes();
    expect([...b]).toEqual([9, 8, 7]);
    expect(b.buffer).toBe(buf.buffer);
    r.next();
    const sub = r.sub('inner');
    expect(sub.message).toBe('Outer.inner');
    sub.next();
    expect(sub.string()).toBe('héllo');
    sub.next();
    expect(sub.uint()).toBe(42);
    expect(sub.next()).toBe(false);
    expect(r.next()).toBe(false);
  });

  it('refuses lengths past the end without allocating them', () => {
    expectProtoError(() => first([0x0a, 0x05, 1, 2]).bytes(), /length 5 of field 1 at byte 0 runs past the end of the message \(2 bytes left\)/);
    expectProtoError(() => first([0x0a, ...new ProtoWriter().varint(1, 2 ** 40).finish().slice(1)]).bytes(), /length 1099511627776/);
    expectProtoError(() => first([0x0d, 1, 2]).float(), /field 1 at byte 0 needs 4 bytes but only 2 remain/);
    expectProtoError(() => first([0x09, 1, 2, 3, 4, 5, 6, 7]).double(), /needs 8 bytes/);
  });

  it('keeps a sub-message inside its parent', () => {
    // Outer field 1 holds 2 bytes, but the inner field claims 3.
    const r = first([0x0a, 0x02, 0x0a, 0x03, 0x41, 0x42, 0x43]);
    const sub = r.sub('inner');
    sub.next();
    expectProtoError(() => sub.bytes(), /Test\.inner: length 3 of field 1 at byte 2/);
  });

  it('refuses invalid UTF-8 text', () => {
    expectProtoError(() => first([0x0a, 0x02, 0xc3, 0x28]).string(), /field 1 at byte 0 is not valid UTF-8/);
  });
});

describe('repeated fields', () => {
  it('accepts packed and unpacked elements of the same field', () => {
    const r = new ProtoReader(new ProtoWriter().varint(1, -3).packedVarints(1, [1, 2 ** 40, -1]).varint(1, 7).finish());
    const [count] = r.count([[1, 'varint']]);
    const out = new Float64Array(count);
    let at = 0;
    while (r.next()) at = r.int64s(out, at);
    expect(at).toBe(5);
    expect([...out]).toEqual([-3, 1, 2 ** 40, -1, 7]);
  });

  it('reads packed and unpacked floats and int32s', () => {
    const r = new ProtoReader(new ProtoWriter().packedFloats(1, [0.5, -2]).float(1, 3).packedVarints(2, [-1, 5]).finish());
    const floats = new Float32Array(3);
    const ints = new Int32Array(2);
    const at = [0, 0];
    while (r.next()) {
      if (r.field === 1) at[0] = r.floats(floats, at[0]);
      else at[1] = r.int32s(ints, at[1]);
    }
    expect([...floats]).toEqual([0.5, -2, 3]);
    expect([...ints]).toEqual([-1, 5]);
    expect(at).toEqual([3, 2]);
  });

  it('counts elements without reading them or moving the reader', () => {
    const r = new ProtoReader(new ProtoWriter().varint(1, 1).packedVarints(1, [300, -1, 2]).packedFloats(2, [1, 2]).float(2, 3).string(3, 'x').string(3, '').fixed64(4, 1n).finish());
    expect(r.count([[1, 'varint'], [2, 'fixed32'], [3, 'each'], [5, 'each']])).toEqual([4, 3, 2, 0]);
    expect(r.next()).toBe(true);
    expect(r.field).toBe(1);
  });

  it('refuses packed data that ends inside a value', () => {
    // Three bytes of floats; and a varint whose continuation bit runs past the packed length.
    expectProtoError(() => first([0x0a, 0x03, 0, 0, 0, 0]).floats(new Float32Array(1), 0), /packed field 1 at byte 0 ends inside a value/);
    expectProtoError(() => first([0x0a, 0x01, 0x80, 0x01]).int64s(new Float64Array(1), 0), /packed field 1 at byte 0 ends inside a value/);
    expectProtoError(() => first([0x0a, 0x01, 0x80]).int64s(new Float64Array(1), 0), /truncated/);
    expectProtoError(() => first([0x0a, 0x09, 0x01]).int64s(new Float64Array(1), 0), /length 9 of field 1 at byte 0 runs past the end/);
  });
});

describe('structure', () => {
  it('skips unknown fields of every wire type', () => {
    const buf = new ProtoWriter().varint(5, -1).fixed64(6, 1n).bytes(7, [1, 2, 3]).fixed32(8, 1).string(1, 'kept').finish();
    const r = new ProtoReader(buf);
    let kept = '';
    while (r.next()) {
      if (r.field === 1) kept = r.string();
      else r.skip();
    }
    expect(kept).toBe('kept');
  });

  it('refuses a value read with the wrong wire type', () => {
    expectProtoError(() => first(new ProtoWriter().varint(3, 1).finish()).string(), /field 3 at byte 0 has wire type 0 \(varint\), expected 2 \(length-delimited\)/);
    expectProtoError(() => first(new ProtoWriter().string(3, 'x').finish()).int64(), /wire type 2 \(length-delimited\), expected 0/);
    expectProtoError(() => first(new ProtoWriter().double(3, 1).finish()).float(), /expected 5 \(fixed32\)/);
    expectProtoError(() => first(new ProtoWriter().fixed32(3, 1).finish()).int64s(new Float64Array(1), 0), /expected 0 \(varint\)/);
  });

  it('refuses groups, undefined wire types and field number 0', () => {
    expectProtoError(() => new ProtoReader(new ProtoWriter().key(2, 3).finish()).next(), /field 2 at byte 0 has wire type 3 \(group start\)/);
    expectProtoError(() => new ProtoReader(new ProtoWriter().key(2, 4).finish()).next(), /wire type 4/);
    expectProtoError(() => new ProtoReader(new ProtoWriter().key(2, 6).finish()).next(), /wire type 6 \(invalid\)/);
    expectProtoError(() => new ProtoReader(Uint8Array.from([0x00, 0x00])).next(), /invalid field key at byte 0/);
    expectProtoError(() => new ProtoReader(new ProtoWriter().varint(2 ** 35, 1).finish()).next(), /invalid field key/);
  });

  it(`stops nesting deeper than ${MAX_PROTO_DEPTH}`, () => {
    let m = new ProtoWriter().varint(1, 1);
    for (let i = 0; i < MAX_PROTO_DEPTH + 5; i++) m = new ProtoWriter().message(1, m);
    const descend = (r: ProtoReader): void => {
      while (r.next()) {
        if (r.wire === 2) descend(r.sub('m'));
        else r.skip();
      }
    };
    expectProtoError(() => descend(new ProtoReader(m.finish())), new RegExp(`nested more than ${MAX_PROTO_DEPTH} deep`));
  });

  it('fails cleanly (or succeeds) on random and mutated bytes', () => {
    const r = rng(11);
    const valid = new ProtoWriter()
      .string(1, 'name')
      .message(2, new ProtoWriter().packedFloats(4, [1, 2, 3]).varint(1, -7).message(3, new ProtoWriter().fixed64(2, 5n)))
      .fixed32(3, 9)
      .finish();
    for (let i = 0; i < 3000; i++) {
      const bytes = i % 2 ? valid.slice(0, Math.floor(r() * valid.length)) : Uint8Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256));
      if (i % 3 === 0) bytes[Math.floor(r() * bytes.length)] ^= 1 << Math.floor(r() * 8);
      try {
        walk(new ProtoReader(bytes));
      } catch (e) {
        expect(e).toBeInstanceOf(ConvertError);
      }
    }
  });
});
