/**
 * Mixed precision for the relaxed dot product: which conv inputs become 8-bit (u8) or 7-bit (u7).
 * The relaxed int8 kernels multiply a narrow activation in one instruction and a 13-bit one in two
 * (docs/quantization.md, "u7" and "u8"): a u7 input on every CPU with a one-instruction dot
 * product, a u8 input where that instruction reads 8 bits exactly (x86 `vpdpbusd`, Arm `sdot`). Fewer bits
 * cost agreement with float, more on some layers than on others. The search measures each
 * candidate alone, then narrows them in order, least harmful and largest first, keeping each only
 * while the model's agreement stays within `tolerance` of the wider model's.
 * @packageDocumentation
 */
import type { ValidModel } from '../model/validate.js';

/** How closely a model follows the float model: top-1 agreement and mean |logit error| over the calibration images. */
export interface Agreement {
  agreement: number;
  logitError: number;
}

/** A quantization group some conv reads, and those convs' multiply-accumulates. */
export interface NarrowCandidate {
  group: string;
  macs: number;
}

/** What {@link chooseNarrow} measured and chose. */
export interface NarrowReport {
  /** The groups narrowed, in the order they were kept. */
  groups: string[];
  /** Share of the candidates' MACs (all the convs') whose input was narrowed. */
  macsShare: number;
  /** The chosen model's agreement; `base` is the wider model's. */
  result: Agreement;
  base: Agreement;
  /** Each candidate narrowed alone. */
  alone: (NarrowCandidate & Agreement)[];
}

/**
 * Chooses the groups to narrow among `candidates`, measuring models that `build` makes with `measure`.
 * @returns the model (undefined when no group could be narrowed) and the report.
 */
export async function chooseNarrow(
  candidates: NarrowCandidate[], base: Agreement, build: (narrow: Set<string>) => ValidModel,
  measure: (models: ValidModel[]) => Promise<Agreement[]>, tolerance: number,
): Promise<{ model?: ValidModel; report: NarrowReport }> {
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
