/**
 * Hand-written SVG charts for bench/RESULTS.md (latency per runtime, achieved GMAC/s per layer)
 * and for the soak (memory over time, bench/soak.ts). No dependency; text widths are estimated from the font size, with room to spare, so that labels
 * never run into each other or out of the picture.
 * @packageDocumentation
 */

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Generous average glyph width of the font above, as a fraction of the font size. */
const GLYPH = 0.62;
/** Colours by series (colour-blind safe, Okabe-Ito). */
const PALETTE = ['#0072B2', '#56B4E9', '#D55E00', '#E69F00', '#009E73', '#CC79A7', '#999999'];

/** A white outline behind text that may cross a line. */
const HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const textWidth = (s: string, size: number): number => s.length * size * GLYPH;
const num = (v: number): string => String(Math.round(v * 10) / 10);

function text(x: number, y: number, s: string, size: number, extra = ''): string {
  return `<text x="${num(x)}" y="${num(y)}" font-size="${size}" ${extra}>${esc(s)}</text>`;
}

function rect(x: number, y: number, w: number, h: number, fill: string): string {
  return `<rect x="${num(x)}" y="${num(y)}" width="${num(Math.max(0, w))}" height="${num(h)}" fill="${fill}"/>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ''): string {
  return `<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${stroke}" ${extra}/>`;
}

function svg(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${FONT}" fill="#222">`,
    rect(0, 0, width, height, '#fff'),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Tick step 1, 2 or 5 x 10^k giving about five ticks up to `max`. */
function tickStep(max: number): number {
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
}

/** A value axis from 0 to `max`, with ticks at round values up to it. */
function axis(max: number): { end: number; ticks: number[] } {
  const step = tickStep(max);
  return { end: max, ticks: Array.from({ length: Math.floor(max / step + 1e-9) + 1 }, (_, i) => i * step) };
}

const tickLabel = (v: number): string => String(Number(v.toPrecision(6)));

/** Vertical grid lines with value labels under a plot area. */
function xAxis(x0: number, width: number, top: number, bottom: number, ticks: number[], end: number, title: string): string[] {
  const out: string[] = [];
  for (const t of ticks) {
    const x = x0 + (t / end) * width;
    out.push(line(x, top, x, bottom, t === 0 ? '#666' : '#e3e3e3'));
    out.push(text(x, bottom + 14, tickLabel(t), 11, 'text-anchor="middle" fill="#555"'));
  }
  out.push(text(x0 + width / 2, bottom + 32, title, 12, 'text-anchor="middle"'));
  return out;
}

/** A horizontal legend of colour swatches; returns its elements and height. */
function legend(x: number, y: number, maxWidth: number, items: { label: string; color: string; dashed?: boolean }[]): { body: string[]; height: number } {
  const body: string[] = [];
  let cx = x;
  let cy = y;
  for (const item of items) {
    const w = 22 + textWidth(item.label, 11) + 18;
    if (cx + w > x + maxWidth && cx > x) {
      cx = x;
      cy += 18;
    }
    body.push(
      item.dashed
        ? line(cx, cy - 4, cx + 16, cy - 4, item.color, 'stroke-width="2" stroke-dasharray="4 3"')
        : rect(cx, cy - 10, 16, 11, item.color),
    );
    body.push(text(cx + 22, cy, item.label, 11));
    cx += w;
  }
  return { body, height: cy - y + 18 };
}

/** One bar of the latency chart: a median with its p10-p90 spread. */
export interface LatencyBar {
  /** Row label, e.g. `squeezewasm int8`. */
  label: string;
  /** Colour group, shown in the legend. */
  series: string;
  median: number;
  p10: number;
  p90: number;
  /** The fastest run, drawn as a dot when given. */
  min?: number;
}

/** One model's bars, drawn on its own axis. */
export interface LatencyPanel {
  title: string;
  bars: LatencyBar[];
}

/**
 * Horizontal bars of median latency with a p10-p90 whisker (and a dot at the minimum where given), one panel per model (each on its own
 * scale, since the models differ in size), every bar labelled with its median in ms.
 * @param series Every series that may appear, in legend order: a series keeps its colour whether
 * or not the others were measured.
 */
export function latencyChart(title: string, subtitle: string, series: string[], panels: LatencyPanel[]): string {
  const width = 880;
  const color = (s: string): string => PALETTE[series.indexOf(s) % PALETTE.length];
  const shown = series.filter((s) => panels.some((p) => p.bars.some((b) => b.series === s)));
  const labelW = Math.max(...panels.flatMap((p) => p.bars.map((b) => textWidth(b.label, 12)))) + 16;
  const x0 = 20 + labelW;
  const valueRoom = 84;
  const plotW = width - x0 - 24;
  const barH = 20;
  const gap = 8;
  const body: string[] = [text(20, 28, title, 17, 'font-weight="bold"'), text(20, 48, subtitle, 12, 'fill="#555"')];
  const leg = legend(20, 72, width - 40, shown.map((s) => ({ label: s, color: color(s) })));
  body.push(...leg.body);
  let y = 72 + leg.height + 8;
  for (const panel of panels) {
    body.push(text(20, y + 14, panel.title, 14, 'font-weight="bold"'));
    const top = y + 26;
    const bottom = top + panel.bars.length * (barH + gap);
    // Room right of the longest whisker for its label.
    const maxP90 = Math.max(...panel.bars.map((b) => b.p90));
    const { end, ticks } = axis((maxP90 * plotW) / (plotW - valueRoom));
    const sx = (v: number): number => x0 + (v / end) * plotW;
    body.push(...xAxis(x0, plotW, top - 4, bottom, ticks, end, 'milliseconds per inference (lower is better)'));
    panel.bars.forEach((b, i) => {
      const by = top + i * (barH + gap) + gap / 2;
      const mid = by + barH / 2;
      body.push(text(x0 - 8, mid + 4, b.label, 12, 'text-anchor="end"'));
      body.push(rect(x0, by, sx(b.median) - x0, barH, color(b.series)));
      body.push(line(sx(b.p10), mid, sx(b.p90), mid, '#222', 'stroke-width="1.5"'));
      body.push(line(sx(b.p10), mid - 5, sx(b.p10), mid + 5, '#222', 'stroke-width="1.5"'));
      body.push(line(sx(b.p90), mid - 5, sx(b.p90), mid + 5, '#222', 'stroke-width="1.5"'));
      if (b.min !== undefined) body.push(`<circle cx="${num(sx(b.min))}" cy="${num(mid)}" r="3.5" fill="#fff" stroke="#222" stroke-width="1.5"/>`);
      body.push(text(sx(b.p90) + 6, mid + 4, `${b.median.toFixed(2)} ms`, 12, 'font-weight="bold"'));
    });
    y = bottom + 48;
  }
  return svg(width, y, body);
}

/** One layer's achieved rate in each precision (absent where that precision was not measured). */
export interface LayerRate {
  label: string;
  gmacs: Partial<Record<'int8' | 'f32', number>>;
}

/** A measured instruction peak drawn as a vertical line. */
export interface PeakLine {
  precision: 'int8' | 'f32';
  gmacs: number;
  /** What was measured, e.g. the instruction. */
  what: string;
}

/**
 * Grouped horizontal bars of GMAC/s per layer (int8 and f32) with each precision's measured peak
 * as a dashed line of the same colour; bars are labelled with their rate.
 */
export function layerChart(title: string, subtitle: string, layers: LayerRate[], peaks: PeakLine[]): string {
  const width = 880;
  const precisions = (['int8', 'f32'] as const).filter((p) => layers.some((l) => l.gmacs[p] !== undefined));
  const color = { int8: PALETTE[0], f32: PALETTE[1] };
  const labelW = Math.max(...layers.map((l) => textWidth(l.label, 11))) + 16;
  const x0 = 20 + labelW;
  const plotW = width - x0 - 24;
  const barH = 9;
  const groupGap = 7;
  const groupH = precisions.length * barH + groupGap;
  const body: string[] = [text(20, 28, title, 17, 'font-weight="bold"'), text(20, 48, subtitle, 12, 'fill="#555"')];
  const leg = legend(20, 72, width - 40, [
    ...precisions.map((p) => ({ label: `squeezewasm ${p}`, color: color[p] })),
    ...peaks.map((p) => ({ label: `${p.precision} peak ${p.gmacs.toFixed(1)} GMAC/s (${p.what})`, color: color[p.precision], dashed: true })),
  ]);
  body.push(...leg.body);
  // One row per peak label above the plot, so that two close peaks never print over each other.
  const peakRows = peaks.length * 16;
  const top = 72 + leg.height + 8 + peakRows;
  const bottom = top + layers.length * groupH;
  const maxRate = Math.max(...layers.flatMap((l) => Object.values(l.gmacs)), ...peaks.map((p) => p.gmacs));
  const valueRoom = 40;
  const { end, ticks } = axis((maxRate * plotW) / (plotW - valueRoom));
  const sx = (v: number): number => x0 + (v / end) * plotW;
  body.push(...xAxis(x0, plotW, top - 4, bottom, ticks, end, 'GMAC/s achieved (higher is better)'));
  // Peak lines first, so that the bars and their haloed labels stay legible where they cross.
  peaks.forEach((p, k) => {
    const x = sx(p.gmacs);
    const labelY = top - peakRows + k * 16 + 6;
    body.push(line(x, labelY + 4, x, bottom, color[p.precision], 'stroke-width="2" stroke-dasharray="5 4"'));
    const label = `${p.precision} peak`;
    // Right of the line unless that would leave the picture.
    const right = x + 4 + textWidth(label, 11) <= width - 4;
    body.push(text(right ? x + 4 : x - 4, labelY + 4, label, 11, `text-anchor="${right ? 'start' : 'end'}" fill="${color[p.precision]}" font-weight="bold"`));
  });
  layers.forEach((l, i) => {
    const gy = top + i * groupH + groupGap / 2;
    body.push(text(x0 - 8, gy + (precisions.length * barH) / 2 + 4, l.label, 11, 'text-anchor="end"'));
    precisions.forEach((p, j) => {
      const v = l.gmacs[p];
      if (v === undefined) return;
      const by = gy + j * barH;
      body.push(rect(x0, by, sx(v) - x0, barH - 1, color[p]));
      body.push(text(sx(v) + 4, by + barH - 1.5, v.toFixed(1), 9, `fill="#444" ${HALO}`));
    });
  });
  return svg(width, bottom + 48, body);
}

/** Horizontal grid lines with value labels left of a plot area, and the axis title above them. */
function yAxis(x0: number, width: number, top: number, bottom: number, ticks: number[], end: number, title: string): string[] {
  const out: string[] = [];
  for (const t of ticks) {
    const y = bottom - (t / end) * (bottom - top);
    out.push(line(x0, y, x0 + width, y, t === 0 ? '#666' : '#e3e3e3'));
    out.push(text(x0 - 6, y + 4, tickLabel(t), 11, 'text-anchor="end" fill="#555"'));
  }
  out.push(text(x0, top - 10, title, 12, 'text-anchor="middle"'));
  return out;
}

/** One line of a {@link lineChart} panel: (x, y) points in x order. */
export interface LineSeries {
  /** Legend label; a label keeps its colour in every panel. */
  label: string;
  points: [number, number][];
}

/** A range of x shaded behind the lines, e.g. a window that a verdict compares. */
export interface Band {
  from: number;
  to: number;
  label: string;
}

/** One plot of a {@link lineChart}, on its own axes. */
export interface LinePanel {
  title: string;
  xTitle: string;
  yTitle: string;
  series: LineSeries[];
  bands?: Band[];
}

/**
 * Lines over a shared legend, one panel per phase, each panel with both axes from 0 (so that a flat
 * line looks flat at its true proportion, not magnified by a cropped axis).
 */
export function lineChart(title: string, subtitle: string, panels: LinePanel[]): string {
  const width = 880;
  const labels = [...new Set(panels.flatMap((p) => p.series.map((s) => s.label)))];
  const color = (label: string): string => PALETTE[labels.indexOf(label) % PALETTE.length];
  const body: string[] = [text(20, 28, title, 17, 'font-weight="bold"'), text(20, 48, subtitle, 12, 'fill="#555"')];
  const leg = legend(20, 72, width - 40, labels.map((label) => ({ label, color: color(label) })));
  body.push(...leg.body);
  const plotH = 220;
  let y = 72 + leg.height + 8;
  for (const panel of panels) {
    const points = panel.series.flatMap((s) => s.points);
    const yAx = axis(Math.max(...points.map(([, v]) => v)) * 1.08);
    const labelW = textWidth(tickLabel(yAx.ticks[yAx.ticks.length - 1]), 11) + 12;
    const x0 = 20 + Math.max(labelW, textWidth(panel.yTitle, 12) / 2);
    const plotW = width - x0 - 24;
    body.push(text(20, y + 14, panel.title, 14, 'font-weight="bold"'));
    const top = y + 44;
    const bottom = top + plotH;
    const xAx = axis(Math.max(...points.map(([v]) => v)));
    const sx = (v: number): number => x0 + (v / xAx.end) * plotW;
    const sy = (v: number): number => bottom - (v / yAx.end) * plotH;
    for (const band of panel.bands ?? []) {
      body.push(rect(sx(band.from), top, sx(band.to) - sx(band.from), plotH, '#f1f1f1'));
      body.push(text((sx(band.from) + sx(band.to)) / 2, top + 12, band.label, 10, 'text-anchor="middle" fill="#777"'));
    }
    body.push(...xAxis(x0, plotW, top, bottom, xAx.ticks, xAx.end, panel.xTitle));
    body.push(...yAxis(x0, plotW, top, bottom, yAx.ticks, yAx.end, panel.yTitle));
    for (const s of panel.series) {
      const pts = s.points.map(([a, b]) => `${num(sx(a))},${num(sy(b))}`).join(' ');
      body.push(`<polyline points="${pts}" fill="none" stroke="${color(s.label)}" stroke-width="1.6" stroke-linejoin="round"/>`);
    }
    y = bottom + 48;
  }
  return svg(width, y, body);
}
