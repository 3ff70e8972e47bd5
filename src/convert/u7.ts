/**
 * Mixed precision for the relaxed dot product: which conv inputs become 7-bit (u7). The relaxed
 * int8 kernels multiply a u7 activation in one instruction and a wider one in two
 * (docs/quantization.md, "u7"), so every u7 conv input halves that conv's multiplies on CPUs with a
 * one-instruction dot product; and 7 bits cost agreement with float, more on some layers than on
 * others. The search measures each candidate alone, then narrows them in order, least harmful and
 * largest first, keeping each only while the model's agreement stays within `tolerance` of the
 * all-wide model's.
 * @packageDocumentation
 */
import type { ValidModel } from '../model/validate.js';

/** How closely a model follows the float model: top-1 agreement and mean |logit error| over the calibration images. */
export interface Agreement {
  agreement: number;
  logitError: number;
}

/** A quantization group some conv reads, and those convs' multiply-accumulates. */
export interface U7Candidate {
  group: string;
  macs: number;
}

/** What {@link chooseU7} measured and chose. */
export interface U7Report {
  /** The groups made u7, in the order they were kept. */
  groups: string[];
  /** Share of the candidates' MACs (all the convs') whose input is u7. */
  macsShare: number;
  /** The chosen model's agreement; `base` is the all-wide model's. */
  result: Agreement;
  base: Agreement;
  /** Each candidate made u7 alone. */
  alone: (U7Candidate & Agreement)[];
}

/**
 * Chooses u7 groups among `candidates`, measuring models that `build` makes with `measure`.
 * @returns the model (undefined when no group could be narrowed) and the report.
 */
export async function chooseU7(
  candidates: U7Candidate[], base: Agreement, build: (u7: Set<string>) => ValidModel,
  measure: (models: ValidModel[]) => Promise<Agreement[]>, tolerance: number,
): Promise<{ model?: ValidModel; report: U7Report }> {
  const alone = (await measure(candidates.map((c) => build(new Set([c.group]))))).map((a, i) => ({ ...candidates[i], ...a }));
  const order = [...alone].sort((a, b) => b.agreement - a.agreement || b.macs - a.macs || a.logitError - b.logitError);
  const kept = new Set<string>();
  let model: ValidModel | undefined;
  let result = base;
  for (const c of order) {
    if (c.agreement < base.agreement - tolerance) break;
    const trial = build(new Set([...kept, c.group]));
    const [a] = await measure([trial]);
    if (a.agreement < base.agreement - tolerance) continue;
    kept.add(c.group);
    [model, result] = [trial, a];
  }
  const total = candidates.reduce((s, c) => s + c.macs, 0);
  const macsShare = candidates.filter((c) => kept.has(c.group)).reduce((s, c) => s + c.macs, 0) / total;
  return { model, report: { groups: [...kept], macsShare, result, base, alone } };
}
