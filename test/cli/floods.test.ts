// Image files of tens of MB that are almost all padding: restart markers, empty PNG chunks, scans.
// Each is within maxImageBytes; what decoding one costs must follow the image, not the padding.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.js';
import { encodeModel } from '../../src/model/write.js';
import { cliMeasured } from '../helpers/cli.js';
import { concat, encodeJpegFile, encodePngFile, jpegSegments, pngChunk, pngChunks } from '../helpers/image-files.js';
import { opChain } from '../helpers/op-chain.js';

const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-floods-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FLOOD_BYTES = 60e6;
const rgb = (x: number, y: number): [number, number, number] => [(x * 7) & 255, (y * 5) & 255, ((x + y) * 3) & 255];
const png = encodePngFile({ width: 64, height: 64, colourType: 2, depth: 8, samples: Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7) & 255) });

/** `chunk` repeated to about FLOOD_BYTES, placed before the PNG's first IDAT chunk. */
function idatFlood(chunk: Uint8Array): Uint8Array {
  const at = pngChunks(png).find((c) => c.type === 'IDAT')!.start;
  const n = Math.floor(FLOOD_BYTES / chunk.length);
  const flood = new Uint8Array(n * chunk.length);
  for (let i = 0; i < n; i++) flood.set(chunk, i * chunk.length);
  return concat(png.subarray(0, at), flood, png.subarray(at));
}

/** Classifies `bytes` with the CLI as a user would; returns the measured run. */
async function classify(name: string, bytes: Uint8Array) {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const run = await cliMeasured(['classify', file]);
  rmSync(file);
  return run;
}

describe('floods of padding in images, and of work in models', () => {
  it('5 million empty IDAT chunks (60 MB): the image decodes, in a small multiple of the file size (was 765 MB, 7 s)', async () => {
    const flooded = idatFlood(pngChunk('IDAT'));
    expect(decodeImage(flooded).data).toEqual(decodeImage(png).data);
    const run = await classify('idat.png', flooded);
    expect(run.code).toBe(0);
    expect(run.peakRssBytes).toBeLessThan(3 * FLOOD_BYTES + 100e6);
  });

  it('a PNG split into one-byte IDAT chunks decodes to the same pixels', () => {
    const chunks = pngChunks(png);
    const idat = concat(...chunks.filter((c) => c.type === 'IDAT').map((c) => png.subarray(c.start + 8, c.end - 4)));
    const first = chunks.find((c) => c.type === 'IDAT')!.start;
    const iend = chunks.find((c) => c.type === 'IEND')!.start;
    const split = concat(png.subarray(0, first), ...Array.from(idat, (b) => pngChunk('IDAT', [b])), png.subarray(iend));
    expect(decodeImage(split).data).toEqual(decodeImage(png).data);
  });

  it('30 million restart markers (60 MB) in a 64x64 JPEG: refused at the first marker past the frame blocks', async () => {
    const jpeg = encodeJpegFile({ width: 64, height: 64, rgb, sampling: [[1, 1], [1, 1], [1, 1]], restartInterval: 1 });
    const flood = new Uint8Array(FLOOD_BYTES);
    for (let i = 0; i < flood.length; i += 2) [flood[i], flood[i + 1]] = [0xff, 0xd0 + ((i >> 1) & 7)];
    const run = await classify('restarts.jpg', concat(jpeg.subarray(0, jpeg.length - 2), flood, jpeg.subarray(jpeg.length - 2)));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^squeezewasm: .*restarts\.jpg: JPEG is corrupt: its scan at byte \d+ has more restart markers than the 192 blocks of its frame\n$/);
    expect(run.peakRssBytes).toBeLessThan(3 * FLOOD_BYTES + 100e6);
  });

  it('a progressive JPEG whose 60 scans walk its blocks 56 times over: refused before decoding', async () => {
    const jpeg = encodeJpegFile({ width: 64, height: 64, rgb, sampling: [[1, 1], [1, 1], [1, 1]], progressive: true });
    const last = jpegSegments(jpeg).filter((g) => g.marker === 0xda).pop()!;
    const run = await classify('scans.jpg', concat(jpeg.subarray(0, last.end), ...Array(52).fill(jpeg.subarray(last.start, last.end)), jpeg.subarray(last.end)));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^squeezewasm: .*scans\.jpg: JPEG's scans walk its blocks more than 20 times over .*\n$/);
  });

  it('a small model of 100 ReLUs on a 2048x2048 input: refused by maxMacs in one line', async () => {
    const model = join(dir, 'relus.sqz');
    writeFileSync(model, encodeModel(opChain('relu', 100, 2048, 3)));
    const image = join(dir, 'small.png');
    writeFileSync(image, png);
    const run = await cliMeasured(['classify', '--model', model, image]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^squeezewasm: .*relus\.sqz.*units of work per image .*more than the limit of 1\.00e\+10\n$/);
  });
});
