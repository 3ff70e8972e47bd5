// Weight packing and indirection buffers for the conv kernels, run once per layer at load time. In wasm rather than
// in the planner's TypeScript because a model's million weights are packed before the JIT has
// compiled any JS loop: this is most of a cold start's load time otherwise.
//
// Inputs are staged by the host: weights [N][per] (int8 or f32), bias [N] (int32 or f32; pointer 0
// for none) and int8's multipliers [N] (int32). The layouts are the ones the kernels document
// (f32-igemm.ts, i8-igemm.ts, i8-winograd.ts).

const NR: i32 = 8;

/** Writes bias and multiplier of output channel n into its block's header. */
@inline
function header(block: usize, lane: i32, bias: i32, mult: i32): void {
  store<i32>(block + (<usize>lane << 2), bias);
  store<i32>(block + (<usize>(NR + lane) << 2), mult);
}

/** Reads bias[n], or 0 when the conv has none (`bias` == 0). */
@inline
function biasOf(bias: usize, n: i32): i32 {
  return bias == 0 ? 0 : load<i32>(bias + (<usize>n << 2));
}

/**
 * Packs weights [N][per] for i8_igemm: weight i of every output channel goes to int16 slot
 * `offsets[i]` of its lane (offsets: i32[per], in int16 units from the lane's first pair), and the
 * bias is folded with the input zero point: bias - zIn * sum(w). `offsets` 0 means the layout of a
 * 1x1 convolution, weight i at pair i / 2, half i % 2: the common case, vectorized. `out` receives
 * ceil(N / 8) blocks of `blockBytes`, zeroed first so padding pairs multiply by 0.
 */
export function i8_pack_igemm(w: usize, N: i32, per: i32, offsets: usize, bias: usize, mult: usize, zIn: i32, out: usize, blockBytes: i32): void {
  const blocks = (N + NR - 1) / NR;
  memory.fill(out, 0, <usize>(blocks * blockBytes));
  for (let n = 0; n < N; n++) {
    const lane = n % NR;
    const block = out + <usize>((n / NR) * blockBytes);
    const at = block + <usize>((lane >> 2) * 16 + (lane & 3) * 4);
    const row = w + <usize>(n * per);
    let sum = 0;
    let i = 0;
    if (offsets == 0) {
      // Four pairs at a time: widened to int16, each pair is one int32 lane, stored 32 bytes apart.
      let sums = i32x4.splat(0);
      for (; i + 8 <= per; i += 8) {
        const pairs = i16x8.extend_low_i8x16_s(v128.load64_zero(row + i));
        sums = i32x4.add(sums, i32x4.extadd_pairwise_i16x8_s(pairs));
        const dst = at + 64 + (<usize>i << 4);
        store<i32>(dst, i32x4.extract_lane(pairs, 0));
        store<i32>(dst, i32x4.extract_lane(pairs, 1), 32);
        store<i32>(dst, i32x4.extract_lane(pairs, 2), 64);
        store<i32>(dst, i32x4.extract_lane(pairs, 3), 96);
      }
      sum = i32x4.extract_lane(sums, 0) + i32x4.extract_lane(sums, 1) + i32x4.extract_lane(sums, 2) + i32x4.extract_lane(sums, 3);
      for (; i < per; i++) {
        const v = <i32>load<i8>(row + i);
        sum += v;
        store<i16>(at + 64 + (<usize>(i >> 1) << 5) + (<usize>(i & 1) << 1), <i16>v);
      }
    } else {
      for (; i < per; i++) {
        const v = <i32>load<i8>(row + i);
        sum += v;
        store<i16>(at + (<usize>load<i32>(offsets + (<usize>i << 2)) << 1), <i16>v);
      }
    }
    header(block, lane, biasOf(bias, n) - zIn * sum, load<i32>(mult + (<usize>n << 2)));
  }
}

/**
 * Packs weights [N][per] for p7_igemm_6x8c4: weight i of every output channel goes to byte
 * `offsets[i]` of its lane (offsets: i32[per], from the lane's first group of 4), and the bias is
 * folded with the value the planes add: bias - zFold * sum(w). `offsets` 0 means a 1x1 convolution,
 * weight i in group i / 4, byte i % 4. `out` receives ceil(N / 8) blocks of `blockBytes`, zeroed
 * first so padding weights are 0.
 */
export function i8_pack_igemm_c4(w: usize, N: i32, per: i32, offsets: usize, bias: usize, mult: usize, zFold: i32, out: usize, blockBytes: i32): void {
  const blocks = (N + NR - 1) / NR;
  memory.fill(out, 0, <usize>(blocks * blockBytes));
  for (let n = 0; n < N; n++) {
    const lane = n % NR;
    const block = out + <usize>((n / NR) * blockBytes);
    const at = block + 64 + (<usize>lane << 2);
    const row = w + <usize>(n * per);
    let sum = 0;
    for (let i = 0; i < per; i++) {
      const v = load<i8>(row + <usize>i);
      sum += <i32>v;
      const slot = offsets == 0 ? ((i >> 2) << 5) + (i & 3) : load<i32>(offsets + (<usize>i << 2));
      store<i8>(at + <usize>slot, v);
    }
    header(block, lane, biasOf(bias, n) - zFold * sum, load<i32>(mult + (<usize>n << 2)));
  }
}

/**
 * Packs 3x3 weights [N][C][3][3] for i8_winograd3x3: U = G' g G'^T with G' = 2G of F(2x2, 3x3)
 * (rows [2 0 0], [1 1 1], [1 -1 1], [0 0 2]), 4x the textbook filter transform, in integers.
 * Element (i, j) of U goes to tap i * 4 + j of the [16][Cp / 2][8][2] layout, Cp = C rounded up to 8.
 */
export function i8_pack_winograd(w: usize, N: i32, C: i32, bias: usize, mult: usize, out: usize, blockBytes: i32): void {
  const blocks = (N + NR - 1) / NR;
  memory.fill(out, 0, <usize>(blocks * blockBytes));
  const tap = <usize>(((C + 7) & ~7) >> 1) * 32;
  for (let n = 0; n < N; n++) {
    const lane = n % NR;
    const block = out + <usize>((n / NR) * blockBytes);
    header(block, lane, biasOf(bias, n), load<i32>(mult + (<usize>n << 2)));
    const laneAt = block + 64 + <usize>((lane >> 2) * 16 + (lane & 3) * 4);
    for (let c = 0; c < C; c++) {
      const g = w + <usize>((n * C + c) * 9);
      const at = laneAt + <usize>((c >> 1) * 32 + (c & 1) * 2);
      const g00 = <i32>load<i8>(g), g01 = <i32>load<i8>(g, 1), g02 = <i32>load<i8>(g, 2);
      const g10 = <i32>load<i8>(g, 3), g11 = <i32>load<i8>(g, 4), g12 = <i32>load<i8>(g, 5);
      const g20 = <i32>load<i8>(g, 6), g21 = <i32>load<i8>(g, 7), g22 = <i32>load<i8>(g, 8);
      // t = G' g down each column, then each row of t times G'^T: U row i is taps 4i..4i+3.
      transformRow(at, tap, 2 * g00, 2 * g01, 2 * g02);
      transformRow(at + 4 * tap, tap, g00 + g10 + g20, g01 + g11 + g21, g02 + g12 + g22);
      transformRow(at + 8 * tap, tap, g00 - g10 + g20, g01 - g11 + g21, g02 - g12 + g22);
      transformRow(at + 12 * tap, tap, 2 * g20, 2 * g21, 2 * g22);
    }
  }
}

/** Stores G' (t0, t1, t2) = (2 t0, t0 + t1 + t2, t0 - t1 + t2, 2 t2) at four taps, `tap` bytes apart. */
@inline
function transformRow(row: usize, tap: usize, t0: i32, t1: i32, t2: i32): void {
  store<i16>(row, <i16>(2 * t0));
  store<i16>(row + tap, <i16>(t0 + t1 + t2));
  store<i16>(row + 2 * tap, <i16>(t0 - t1 + t2));
  store<i16>(row + 3 * tap, <i16>(2 * t2));
}

/**
 * Packs f32 weights [N][per] for f32_igemm_4x8: per block of 8 output channels, bias f32[8], then
 * weight i of each channel at float slot `offsets[i]` of its lane; `out` receives ceil(N / 8)
 * blocks of `blockFloats` floats, zeroed first.
 */
export function f32_pack_igemm(w: usize, N: i32, per: i32, offsets: usize, bias: usize, out: usize, blockFloats: i32): void {
  const blocks = (N + NR - 1) / NR;
  memory.fill(out, 0, <usize>(blocks * blockFloats) << 2);
  for (let n = 0; n < N; n++) {
    const at = out + (<usize>((n / NR) * blockFloats + n % NR) << 2);
    if (bias != 0) store<f32>(at, load<f32>(bias + (<usize>n << 2)));
    const row = w + (<usize>(n * per) << 2);
    for (let i = 0; i < per; i++) store<f32>(at + (<usize>load<i32>(offsets + (<usize>i << 2)) << 2), load<f32>(row + (<usize>i << 2)));
  }
}

/**
 * The indirection buffer of an igemm conv: for each block of `mr` output pixels (the kernel's
 * tile: 4, or 6 for p7_igemm) and each tap, `mr` pointers to the input run the tap reads, or to
 * `pad` where the window leaves the input. Output pixels past M repeat the last one (their results
 * are never stored). With `mergeRows` a tap is a whole kernel row (kw * C contiguous elements),
 * else one kernel element.
 */
export function fill_indirection(
  out: usize, mr: i32, M: i32, taps: i32, mergeRows: i32, kw: i32, outW: i32, sh: i32, sw: i32, pt: i32, pl: i32,
  x: usize, inH: i32, inW: i32, inStride: i32, pad: usize,
): void {
  const rows = ((M + mr - 1) / mr) * mr;
  for (let p = 0; p < rows; p++) {
    const q = min(p, M - 1);
    const oy = q / outW;
    const ox = q % outW;
    const slot = out + (<usize>((p / mr) * taps * mr + (p % mr)) << 2);
    for (let t = 0; t < taps; t++) {
      const ky = mergeRows ? t : t / kw;
      const kx = mergeRows ? 0 : t % kw;
      const iy = oy * sh - pt + ky;
      const ix = ox * sw - pl + kx;
      const inside = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
      store<u32>(slot + (<usize>(t * mr) << 2), inside ? <u32>(x + <usize>((iy * inW + ix) * inStride)) : <u32>pad);
    }
  }
}

/**
 * Packs 3x3 f32 weights [N][C][3][3] for f32_winograd3x3: U = G g G^T of F(4x4, 3x3) (G in
 * f32-winograd.ts). G is G' / 24 with G' integer, so U = G' g G'^T / 576: sums of weights times
 * small integers in f64 (exact while a filter's weights are within a factor 2^20 of each other,
 * and far below f32's rounding otherwise), one f64 multiplication by 1/576, one rounding to f32. Per block of 8 output channels: bias f32[8],
 * then element (i, j) of U at [i * 6 + j][C][8]: `out` receives ceil(N / 8) blocks of
 * `blockFloats` floats. Two output channels at a time in f64x2: this runs at load, on V8's
 * baseline code, for 4x the floats of the direct conv's weights.
 */
export function f32_pack_winograd(w: usize, N: i32, C: i32, bias: usize, out: usize, blockFloats: i32): void {
  // Only the last block has lanes past N, which must be zero; everything else is written below.
  const blocks = (N + NR - 1) / NR;
  if (N % NR != 0) memory.fill(out + (<usize>((blocks - 1) * blockFloats) << 2), 0, <usize>blockFloats << 2);
  for (let n = 0; n < N; n++) store<f32>(out + (<usize>((n / NR) * blockFloats + n % NR) << 2), bias != 0 ? load<f32>(bias + (<usize>n << 2)) : 0);
  const tap = <usize>C << 5;
  const row = tap * 6;
  const next = <usize>(C * 36);
  // Channel by channel within a block, its lanes together: they share U's cache lines.
  for (let nb = 0; nb < N; nb += NR) {
    const block = out + (<usize>((nb / NR) * blockFloats) << 2) + 32;
    const end = min(nb + NR, N);
    for (let c = 0; c < C; c++) {
      for (let n = nb; n < end; n += 2) {
        const g = w + (<usize>((n * C + c) * 9) << 2);
        // Output channel n + 1's filter, or n's again when n is the last.
        const two = n + 1 < end;
        const h = two ? g + next : g;
        const at = block + (<usize>c << 5) + (<usize>(n - nb) << 2);
        const g00 = pair(g, h, 0), g01 = pair(g, h, 4), g02 = pair(g, h, 8);
        const g10 = pair(g, h, 12), g11 = pair(g, h, 16), g12 = pair(g, h, 20);
        const g20 = pair(g, h, 24), g21 = pair(g, h, 28), g22 = pair(g, h, 32);
        // t = G' g, row by row (each row of G' applied to each column of g); U row i = t row i times G'^T.
        uRow(at, tap, two, f64x2.mul(g00, K6), f64x2.mul(g01, K6), f64x2.mul(g02, K6));
        uRow(at + row, tap, two, sum3(g00, g10, g20, K1), sum3(g01, g11, g21, K1), sum3(g02, g12, g22, K1));
        uRow(at + 2 * row, tap, two, sum3(g00, g10, g20, KM1), sum3(g01, g11, g21, KM1), sum3(g02, g12, g22, KM1));
        uRow(at + 3 * row, tap, two, lin3(g00, g10, g20, K2), lin3(g01, g11, g21, K2), lin3(g02, g12, g22, K2));
        uRow(at + 4 * row, tap, two, lin3(g00, g10, g20, KM2), lin3(g01, g11, g21, KM2), lin3(g02, g12, g22, KM2));
        uRow(at + 5 * row, tap, two, f64x2.mul(g20, K24), f64x2.mul(g21, K24), f64x2.mul(g22, K24));
      }
    }
  }
}

const K1 = f64x2.splat(1), KM1 = f64x2.splat(-1), K2 = f64x2.splat(2), KM2 = f64x2.splat(-2);
const K4 = f64x2.splat(4), KM4 = f64x2.splat(-4), K6 = f64x2.splat(6), K24 = f64x2.splat(24);
const INV576 = f64x2.splat(1.0 / 576);

/** The f32 at a + offset and at b + offset, as f64x2. */
@inline
function pair(a: usize, b: usize, offset: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load32_lane(b + offset, v128.load32_zero(a + offset), 1));
}

/** -4 (x + k y + z), k = +-1: the rows (-4, -4, -4) and (-4, 4, -4) of G'. */
@inline
function sum3(x: v128, y: v128, z: v128, k: v128): v128 {
  return f64x2.mul(f64x2.add(f64x2.add(x, f64x2.mul(y, k)), z), KM4);
}

/** x + k y + 4 z: the rows (1, 2, 4) and (1, -2, 4) of G'. */
@inline
function lin3(x: v128, y: v128, z: v128, k: v128): v128 {
  return f64x2.add(f64x2.add(x, f64x2.mul(y, k)), f64x2.mul(z, K4));
}

/**
 * Stores G' (t0, t1, t2) / 576 of two lanes (or of the first if not `two`), as f32, at six taps
 * `tap` bytes apart. Not inlined: six copies per filter would add 4 KB to the module.
 */
function uRow(at: usize, tap: usize, two: bool, t0: v128, t1: v128, t2: v128): void {
  storeLanes(at, two, f64x2.mul(t0, K6));
  storeLanes(at + tap, two, sum3(t0, t1, t2, K1));
  storeLanes(at + 2 * tap, two, sum3(t0, t1, t2, KM1));
  storeLanes(at + 3 * tap, two, lin3(t0, t1, t2, K2));
  storeLanes(at + 4 * tap, two, lin3(t0, t1, t2, KM2));
  storeLanes(at + 5 * tap, two, f64x2.mul(t2, K24));
}

@inline
function storeLanes(at: usize, two: bool, v: v128): void {
  const f = f32x4.demote_f64x2_zero(f64x2.mul(v, INV576));
  if (two) v128.store64_lane(at, f, 0);
  else v128.store32_lane(at, f, 0);
}
