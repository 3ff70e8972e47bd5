// Loops over every byte of a model file, run once at load time (src/wasm/scan.ts): the checksum,
// the accumulator bounds' weight sums, the sparsity count. In wasm because they would otherwise run
// in JS before the JIT has compiled them, which made them most of a cold start's load time.

// CRC-32 (IEEE, reflected 0xEDB88320) tables for slicing by 8, built on first use.
const CRC: usize = memory.data(8 * 256 * 4);
let crcReady = false;

function crcTables(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(CRC + (<usize>n << 2), c);
  }
  for (let s: usize = 1; s < 8; s++) {
    for (let n: usize = 0; n < 256; n++) {
      const prev = load<u32>(CRC + (((s - 1) << 8) + n) * 4);
      store<u32>(CRC + ((s << 8) + n) * 4, (prev >>> 8) ^ load<u32>(CRC + (<usize>(prev & 0xff) << 2)));
    }
  }
  crcReady = true;
}

@inline
function table(s: usize, byte: u32): u32 {
  return load<u32>(CRC + ((s << 8) + <usize>byte) * 4);
}

/** CRC-32 of bytes [p, p + n), as zlib and PNG define it. */
export function crc32(p: usize, n: i32): u32 {
  if (!crcReady) crcTables();
  let c: u32 = 0xffffffff;
  const end = p + <usize>n;
  for (; p + 8 <= end; p += 8) {
    c ^= load<u32>(p);
    const d = load<u32>(p, 4);
    c = table(7, c & 0xff) ^ table(6, (c >>> 8) & 0xff) ^ table(5, (c >>> 16) & 0xff) ^ table(4, c >>> 24) ^
      table(3, d & 0xff) ^ table(2, (d >>> 8) & 0xff) ^ table(1, (d >>> 16) & 0xff) ^ table(0, d >>> 24);
  }
  for (; p < end; p++) c = table(0, (c ^ <u32>load<u8>(p)) & 0xff) ^ (c >>> 8);
  return ~c;
}

/** out[n] = sum of |w| over row n of int8 weights [channels][per], as f64 (exact: a row may be 64 MB). */
export function i8_abs_sums(w: usize, channels: i32, per: i32, out: usize): void {
  for (let n = 0; n < channels; n++) {
    const row = w + <usize>n * <usize>per;
    let total: i64 = 0;
    let i = 0;
    const blocks = per & ~15;
    while (i < blocks) {
      // A lane gains at most 512 per 16 bytes: flushed to 64 bits every 2^20 blocks, it stays below 2^30.
      const stop = min(blocks, i + (1 << 24));
      let acc = i32x4.splat(0);
      // |-128| is 128 as an unsigned byte: widen unsigned after the abs.
      for (; i < stop; i += 16) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(i8x16.abs(v128.load(row + i)))));
      total += <i64>i32x4.extract_lane(acc, 0) + <i64>i32x4.extract_lane(acc, 1) + <i64>i32x4.extract_lane(acc, 2) + <i64>i32x4.extract_lane(acc, 3);
    }
    for (; i < per; i++) total += <i64>abs(<i32>load<i8>(row + i));
    store<f64>(out + (<usize>n << 3), <f64>total);
  }
}

/** Number of nonzero bytes in w[0..n). */
export function i8_count_nonzero(w: usize, n: i32): i32 {
  let zeros = i32x4.splat(0);
  let i = 0;
  // A zero byte compares to -1: summing the comparisons counts zeros (negated).
  for (; i + 16 <= n; i += 16) zeros = i32x4.add(zeros, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(i8x16.eq(v128.load(w + i), i8x16.splat(0)))));
  let count = n + i32x4.extract_lane(zeros, 0) + i32x4.extract_lane(zeros, 1) + i32x4.extract_lane(zeros, 2) + i32x4.extract_lane(zeros, 3);
  for (; i < n; i++) count -= i32(load<i8>(w + i) == 0);
  return count;
}
