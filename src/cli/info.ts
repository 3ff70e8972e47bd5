import { readModel } from '../model/read.js';
import { summarizeModel, type LayerSummary, type ModelSummary } from '../model/summary.js';
import { withModelBytes } from '../node-load.js';
import { printable, printableJson, quote } from '../text.js';
import { UsageError, type Command } from './command.js';

const count = (n: number): string => n.toLocaleString('en-US');
const percent = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)} %`;

/** MACs in the unit people quote for networks this size. */
function macs(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/** "3x3", or "3" for a square window parameter; padding as one number when it is the same on every side. */
const pair = ([h, w]: [number, number], square = false): string => (h === w && square ? String(h) : `${h}x${w}`);
const pads = (p: number[]): string => (p.every((v) => v === p[0]) ? String(p[0]) : p.join(','));

/** A layer's columns; `int8` adds its scale, zero point and rounding. */
function row(l: LayerSummary, i: number, int8: boolean): string[] {
  const conv = l.op === 'conv';
  return [
    String(i + 1),
    printable(l.name),
    conv && l.relu ? 'conv+relu' : l.op,
    `${l.output.c}x${l.output.h}x${l.output.w}`,
    l.kernel ? pair(l.kernel) : '',
    l.stride ? pair(l.stride, true) : '',
    l.pads ? pads(l.pads) : '',
    conv ? count(l.params) : '',
    conv ? macs(l.macs) : '',
    conv ? percent(l.zeroWeights!, l.weights!) : '',
    l.weightType === 'i8' ? `int8 ${l.weightScales === 'per-tensor' ? 'per-tensor' : 'per-channel'}` : (l.weightType ?? ''),
    l.activation,
    ...(int8 ? [[l.quant ? `${Number(l.quant.scale.toPrecision(4))} z ${l.quant.zeroPoint}` : '', l.rounding ?? ''].filter(Boolean).join(' ')] : []),
  ];
}

/** Columns whose values line up on the right. */
const NUMERIC = new Set([0, 7, 8, 9]);

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((v, c) => (NUMERIC.has(c) ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd());
}

/**
 * The license text line by line, indented so that no line of it can pass for one of squeezewasm's
 * own, each escaped: its line breaks are kept, any other control character (a lone carriage
 * return, an escape sequence) is shown, not sent to the terminal.
 */
const licenseLines = (text: string): string[] => text.trimEnd().split(/\r?\n/).map((line) => (line ? `  ${printable(line)}` : ''));

/**
 * The summary as people read it: a line about the model and its input, the layer table, totals,
 * provenance and license. Every string from the file is escaped ({@link printable}).
 */
function formatSummary(s: ModelSummary): string {
  const { input: x, totals: t, provenance: p } = s;
  const mean = x.mean.join(', ');
  const std = x.std.join(', ');
  const lines = [
    `${printable(s.name)}: ${s.precision}, ${s.classes} classes, ${s.layers.length} ops`,
    `input ${quote(x.name)}: 3x${x.height}x${x.width} ${x.channelOrder} (${x.activation}); shorter side to ${x.resizeShorter}, centre crop, (pixel / ${x.divisor} - [${mean}]) / [${std}]`,
    '',
    ...table([
      ['#', 'layer', 'op', 'output', 'kernel', 'stride', 'pad', 'params', 'MACs', 'zeros', 'weights', 'act', ...(s.precision === 'int8' ? ['scale, zero point'] : [])],
      ...s.layers.map((l, i) => row(l, i, s.precision === 'int8')),
      ['', 'total', '', '', '', '', '', count(t.params), macs(t.macs), percent(t.zeroWeights, t.weights), '', '', ...(s.precision === 'int8' ? [''] : [])],
    ]),
    '',
    `${count(t.params)} parameters, ${macs(t.macs)} multiply-accumulates per image, ${count(t.zeroWeights)} of ${count(t.weights)} weights zero (${percent(t.zeroWeights, t.weights)})` +
      (t.fileBytes === undefined ? '' : `, file ${count(t.fileBytes)} bytes`),
    '',
    `source:  ${printable(p.source)}`,
    `license: ${printable(p.license)}`,
    ...(p.notes ? [`notes:   ${printable(p.notes)}`] : []),
    '',
    ...(p.licenseText ? ['license text:', '', ...licenseLines(p.licenseText)] : ['license text: none recorded in the file']),
  ];
  return lines.join('\n');
}

/** `squeezewasm info`: a model's architecture, totals and provenance. */
export const infoCommand: Command = {
  usage: `squeezewasm info <name|file> [--json]

Shows a model's layers (output shape, window, parameters, multiply-accumulates, share of zero
weights, weight and activation types), its totals, and its provenance with the license text.

  --json  the same as one JSON object`,
  options: { json: { type: 'boolean' } },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError('info needs exactly one model (a bundled name or a file)');
    const summary = await withModelBytes(positionals[0], (bytes) => summarizeModel(readModel(bytes), bytes.length));
    console.log(values.json ? printableJson(summary) : formatSummary(summary));
  },
};
