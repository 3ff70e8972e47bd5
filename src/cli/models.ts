import { BUNDLED_MODELS, DEFAULT_MODEL, withModelBytes } from '../node-load.js';
import { readModel } from '../model/read.js';
import { printable, printableJson } from '../text.js';
import type { Command } from './command.js';

/** `squeezewasm models`: the bundled models, their input and size. */
export const modelsCommand: Command = {
  usage: 'squeezewasm models [--json]\n\nLists the models bundled with squeezewasm; the first is the default.',
  options: { json: { type: 'boolean' } },
  async run(_positionals, values) {
    const rows = [];
    for (const name of BUNDLED_MODELS) {
      const [bytes, m] = await withModelBytes(name, (b) => [b, readModel(b)] as const);
      rows.push({ name, default: name === DEFAULT_MODEL, bytes: bytes.length, input: `${m.input.width}x${m.input.height} ${m.input.channelOrder}`, classes: m.labels.length, license: m.provenance.license });
    }
    if (values.json) {
      for (const r of rows) console.log(printableJson(r));
      return;
    }
    for (const r of rows) {
      console.log(`${r.name.padEnd(20)} ${r.input.padEnd(13)} ${String(r.classes).padStart(5)} classes ${(r.bytes / 1e6).toFixed(2).padStart(6)} MB  ${printable(r.license)}${r.default ? '  (default)' : ''}`);
    }
  },
};
