/**
 * Weight rounding that minimises the error of a layer's output on real data instead of the error
 * of each weight (GPTQ, Frantar et al. 2022; Optimal Brain Quantization). With H = E[x x^T] the
 * covariance of the layer's input patches, the weights of an output channel are quantized one at
 * a time and the rounding error of each is pushed onto the not yet quantized ones in the direction
 * H says the output cares least about. The int8 grid (per-channel scale, -127..127) is unchanged:
 * only which grid point each weight lands on differs from plain rounding.
 * @packageDocumentation
 */
import type { View } from '../runtime/types.js';

/** Accumulates E[x x^T] over input patches of one convolution, x in the weight's (c, ky, kx) order. */
export class PatchCovariance {
  readonly k: number;
  /** Upper triangle used while accumulating; mirrored by {@link matrix}. */
  private readonly sum: Float64Array;
  private count = 0;

  constructor(
    private readonly channels: number,
    private readonly kernel: [number, number],
    private readonly stride: [number, number],
    private readonly pads: [number, number],
  ) {
    this.k = channels * kernel[0] * kernel[1];
    this.sum = new Float64Array(this.k * this.k);
  }

  /**
   * Adds the patches of up to `samples` output positions (evenly spread) of an f32 input view.
   * @param memory the wasm memory holding the view.
   */
  add(memory: ArrayBuffer, x: View, outH: number, outW: number, samples: number): void {
    const f = new Float32Array(memory);
    const [kh, kw] = this.kernel;
    const patch = new Float64Array(this.k);
    const nz = new Int32Array(this.k);
    const total = outH * outW;
    const step = Math.max(1, total / samples);
    for (let s = 0; s < total; s += step) {
      const p = Math.floor(s);
      const oy = Math.floor(p / outW);
      const ox = p % outW;
      let n = 0;
      for (let c = 0; c < this.channels; c++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * this.stride[0] - this.pads[0] + ky;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * this.stride[1] - this.pads[1] + kx;
            const j = (c * kh + ky) * kw + kx;
            const v = iy >= 0 && iy < x.h && ix >= 0 && ix < x.w ? f[(x.ptr + (iy * x.w + ix) * x.stride) / 4 + c] : 0;
            patch[j] = v;
            if (v !== 0) nz[n++] = j;
          }
        }
      }
      // Post-ReLU inputs are mostly zero: only nonzero pairs contribute.
      for (let a = 0; a < n; a++) {
        const i = nz[a];
        const vi = patch[i];
        const row = i * this.k;
        for (let b = a; b < n; b++) this.sum[row + nz[b]] += vi * patch[nz[b]];
      }
      this.count++;
    }
  }

  /** The mean covariance as a full symmetric matrix. */
  matrix(): Float64Array {
    const k = this.k;
    const h = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      for (let j = i; j < k; j++) h[i * k + j] = h[j * k + i] = this.sum[i * k + j] / Math.max(1, this.count);
    }
    return h;
  }
}

/** In-place Cholesky factorisation of a symmetric positive definite k x k matrix: lower triangle L, H = L L^T. */
function cholesky(a: Float64Array, k: number): void {
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j];
    for (let p = 0; p < j; p++) d -= a[j * k + p] * a[j * k + p];
    if (!(d > 0)) throw new Error('covariance is not positive definite');
    const ljj = Math.sqrt(d);
    a[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      let v = a[i * k + j];
      for (let p = 0; p < j; p++) v -= a[i * k + p] * a[j * k + p];
      a[i * k + j] = v / ljj;
    }
    for (let i = 0; i < j; i++) a[i * k + j] = 0;
  }
}

/** H^-1 from its Cholesky factor L (H = L L^T): solve L Y = I, then H^-1 = Y^T Y. */
function inverseFromCholesky(l: Float64Array, k: number): Float64Array {
  const y = new Float64Array(k * k);
  for (let col = 0; col < k; col++) {
    for (let i = 0; i < k; i++) {
      let v = i === col ? 1 : 0;
      for (let p = col; p < i; p++) v -= l[i * k + p] * y[p * k + col];
      y[i * k + col] = v / l[i * k + i];
    }
  }
  const inv = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let v = 0;
      for (let p = Math.max(i, j); p < k; p++) v += y[p * k + i] * y[p * k + j];
      inv[i * k + j] = inv[j * k + i] = v;
    }
  }
  return inv;
}

/** GPTQ's factor of a damped covariance: lower L with H^-1 = L L^T (GPTQ walks its transpose, the upper factor). */
function inverseFactor(h: Float64Array, k: number): Float64Array {
  const l = Float64Array.from(h);
  cholesky(l, k);
  const hinv = inverseFromCholesky(l, k);
  cholesky(hinv, k);
  return hinv;
}

/**
 * GPTQ on one row: quantizes the `m` weights in `w` in order, pushing each rounding error onto
 * the later ones along the factor `f` (m x m, from {@link inverseFactor}), and stores weight i's
 * int8 value at `q[at[i]]`.
 */
function quantizeRow(w: Float64Array, m: number, f: Float64Array, s: number, q: Int8Array, at: ArrayLike<number>): void {
  for (let i = 0; i < m; i++) {
    const v = w[i];
    const qi = Math.max(-127, Math.min(127, Math.round(v / s)));
    q[at[i]] = qi;
    const err = (v - qi * s) / f[i * m + i];
    for (let j = i + 1; j < m; j++) w[j] -= err * f[j * m + i];
  }
}

/**
 * Quantizes `weights` ([rows][k], one row per output channel) to int8 on the grid of `scales`
 * (one per row), GPTQ-style with the input covariance `h` (k x k).
 *
 * A weight that is exactly zero is a pruned one (SqueezeNet 1.0 from Deep Compression) and stays
 * zero: its error is then zero, and GPTQ's objective (w - q)^T H (w - q) restricted to the row's
 * other weights F is the same problem with H_FF, so those rows run GPTQ on the factor of H_FF.
 * Pushing errors through the full H instead would move pruned weights off zero and lose the sparsity.
 */
export function gptqQuantize(weights: Float32Array, rows: number, h: Float64Array, scales: Float32Array): Int8Array {
  const k = weights.length / rows;
  // Quantize the inputs the output depends on most first ("act-order"): their errors are then
  // spread over the many columns still free to absorb them.
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => h[b * k + b] - h[a * k + a] || a - b);
  const hd = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) hd[i * k + j] = h[order[i] * k + order[j]];
  let mean = 0;
  for (let i = 0; i < k; i++) mean += hd[i * k + i] / k;
  const w = new Float64Array(weights.length);
  for (let r = 0; r < rows; r++) for (let i = 0; i < k; i++) w[r * k + i] = weights[r * k + order[i]];
  const pruned = Uint8Array.from(w, (v) => (v === 0 ? 1 : 0));
  for (let i = 0; i < k; i++) {
    // An input that is always zero carries no information: its weights do not matter.
    if (hd[i * k + i] === 0) {
      hd[i * k + i] = 1;
      for (let r = 0; r < rows; r++) w[r * k + i] = 0;
    }
    hd[i * k + i] += DAMP * mean + 1e-12;
  }
  let dense: Float64Array | undefined;
  const q = new Int8Array(weights.length);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * k, (r + 1) * k);
    const free: number[] = [];
    for (let i = 0; i < k; i++) if (!pruned[r * k + i]) free.push(i);
    if (free.length === k) {
      dense ??= inverseFactor(hd, k);
      quantizeRow(row, k, dense, scales[r], q.subarray(r * k), order);
      continue;
    }
    const m = free.length;
    const sub = new Float64Array(m * m);
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) sub[a * m + b] = hd[free[a] * k + free[b]];
    quantizeRow(Float64Array.from(free, (i) => row[i]), m, inverseFactor(sub, m), scales[r], q.subarray(r * k), free.map((i) => order[i]));
  }
  return q;
}

/** Ridge added to H, relative to its mean diagonal: keeps the inverse stable for rarely active inputs. */
const DAMP = 0.001;
