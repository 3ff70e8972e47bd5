import type { Model } from '../../src/model/format.js';
import { validateModel } from '../../src/model/validate.js';

/** A plain float64 CHW tensor. */
export interface Chw {
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

/**
 * Evaluates `model` the obvious way, in float64 and NCHW, straight from the ONNX definitions:
 * an independent check of the planner's layouts and the kernels' arithmetic.
 * Returns every activation by name.
 */
export function referenceRun(model: Model, input: Chw): Map<string, Chw> {
  const valid = validateModel(model);
  const acts = new Map<string, Chw>([[model.input.name, input]]);
  const at = (t: Chw, c: number, y: number, x: number): number => t.data[(c * t.h + y) * t.w + x];
  for (const op of model.ops) {
    const s = valid.act(op.output).shape;
    const out: Chw = { ...s, data: new Float64Array(s.c * s.h * s.w) };
    switch (op.op) {
      case 'conv': {
        const x = acts.get(op.input)!;
        const w = model.tensors.get(op.weight)!.data;
        const b = op.bias ? model.tensors.get(op.bias)!.data : undefined;
        const [kh, kw] = op.kernel;
        for (let o = 0; o < s.c; o++)
          for (let oy = 0; oy < s.h; oy++)
            for (let ox = 0; ox < s.w; ox++) {
              let acc = b ? b[o] : 0;
              for (let c = 0; c < x.c; c++)
                for (let ky = 0; ky < kh; ky++)
                  for (let kx = 0; kx < kw; kx++) {
                    const iy = oy * op.stride[0] - op.pads[0] + ky;
                    const ix = ox * op.stride[1] - op.pads[1] + kx;
                    if (iy >= 0 && iy < x.h && ix >= 0 && ix < x.w) acc += at(x, c, iy, ix) * w[((o * x.c + c) * kh + ky) * kw + kx];
                  }
              out.data[(o * s.h + oy) * s.w + ox] = Math.min(op.relu ? Math.max(acc, 0) : acc, op.max ?? Infinity);
            }
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        const x = acts.get(op.input)!;
        const [kh, kw] = op.kernel;
        for (let c = 0; c < s.c; c++)
          for (let oy = 0; oy < s.h; oy++)
            for (let ox = 0; ox < s.w; ox++) {
              const ys = oy * op.stride[0] - op.pads[0];
              const xs = ox * op.stride[1] - op.pads[1];
              let m = -Infinity;
              let sum = 0;
              let n = 0;
              for (let y = ys; y < ys + kh; y++)
                for (let xx = xs; xx < xs + kw; xx++) {
                  if (y < 0 || y >= x.h || xx < 0 || xx >= x.w) continue;
                  m = Math.max(m, at(x, c, y, xx));
                  sum += at(x, c, y, xx);
                  n++;
                }
              if (op.op === 'avgpool' && op.countIncludePad) {
                n = (Math.min(ys + kh, x.h + op.pads[2]) - ys) * (Math.min(xs + kw, x.w + op.pads[3]) - xs);
              }
              out.data[(c * s.h + oy) * s.w + ox] = op.op === 'maxpool' ? m : sum / n;
            }
        break;
      }
      case 'globalavgpool': {
        const x = acts.get(op.input)!;
        for (let c = 0; c < s.c; c++) {
          let sum = 0;
          for (let i = 0; i < x.h * x.w; i++) sum += x.data[c * x.h * x.w + i];
          out.data[c] = sum / (x.h * x.w);
        }
        break;
      }
      case 'concat': {
        let off = 0;
        for (const name of op.inputs) {
          const x = acts.get(name)!;
          out.data.set(x.data, off);
          off += x.data.length;
        }
        break;
      }
      case 'add': {
        const [a, b] = op.inputs.map((name) => acts.get(name)!.data);
        a.forEach((v, i) => (out.data[i] = op.relu ? Math.max(v + b[i], 0) : v + b[i]));
        break;
      }
      case 'relu':
        acts.get(op.input)!.data.forEach((v, i) => (out.data[i] = Math.max(v, 0)));
        break;
      case 'softmax': {
        const x = acts.get(op.input)!.data;
        const max = Math.max(...x);
        let sum = 0;
        x.forEach((v, i) => (sum += out.data[i] = Math.exp(v - max)));
        out.data.forEach((v, i) => (out.data[i] = v / sum));
        break;
      }
    }
    acts.set(op.output, out);
  }
  return acts;
}
