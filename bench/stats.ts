/**
 * Timing statistics, a line fit and console tables shared by the benchmark scripts.
 * @packageDocumentation
 */

/** Minimum, median, p10 and p90 of a list of timings. */
export interface Stats {
  /** The fastest run: the least disturbed by the machine's other work. */
  min: number;
  median: number;
  p10: number;
  p90: number;
}

/** Minimum, median, p10 and p90 of a list of timings (nearest rank, no interpolation). */
export const stats = (xs: number[]): Stats => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { min: s[0], median: q(0.5), p10: q(0.1), p90: q(0.9) };
};

/** Least-squares line through the points (xs[i], ys[i]); the slope is 0 for fewer than two distinct xs. */
export const linearFit = (xs: number[], ys: number[]): { slope: number; intercept: number } => {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { slope, intercept: my - slope * mx };
};

/** A number with `d` decimals; anything else as a string, undefined as empty. */
export const fmt = (v: unknown, d = 2): string => (typeof v === 'number' ? v.toFixed(d) : String(v ?? ''));

/** Prints an aligned table; the first `textColumns` columns are left-aligned, numbers right-aligned. */
export const table = (header: string[], body: string[][], textColumns: number): void => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
  console.log();
};
