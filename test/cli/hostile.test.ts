import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/model/crc32.js';
import { bin, cli } from '../helpers/cli.js';

const images = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const panda = join(images, 'n02510455_giant_panda.jpg');
const cat = join(images, 'n02123597_Siamese_cat.jpg');
const model = new Uint8Array(readFileSync(new URL('../../weights/squeezenet1.1-int8.sqz', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-hostile-'));

/** Writes `bytes` into the temporary folder and returns the path. */
function file(name: string, bytes: Uint8Array | string): string {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

const flipped = model.slice();
flipped[5000] ^= 0x10;
const newer = model.slice();
new DataView(newer.buffer, newer.byteOffset).setUint32(4, 99, true);
new DataView(newer.buffer, newer.byteOffset).setUint32(12, crc32(newer.subarray(16)), true);
const huge = join(dir, 'huge.jpg');
// A sparse 100 GB file: refused by its size without reading a byte.
const fd = openSync(huge, 'w');
ftruncateSync(fd, 100e9);
closeSync(fd);
const fifo = join(dir, 'fifo.sqz');
execFileSync('mkfifo', [fifo]);

describe('CLI on hostile input', () => {
  it.each([
    [['classify', panda, '--model', file('trunc.sqz', model.subarray(0, 5000))], /^squeezewasm: model .*trunc\.sqz: model file is 5000 bytes but its header says \d+; it is truncated/],
    [['classify', panda, '--model', file('flipped.sqz', flipped)], /^squeezewasm: model .*flipped\.sqz: model file checksum does not match: the file is corrupt; download or convert it again\n$/],
    [['info', file('newer.sqz', newer)], /^squeezewasm: model .*newer\.sqz: model format version 99 is newer than this squeezewasm reads .*; upgrade squeezewasm\n$/],
    [['classify', panda, '--model', dir], /^squeezewasm: cannot read model file .*: it is a folder, not a file\n$/],
    [['classify', panda, '--model', fifo], /^squeezewasm: cannot read model file .*fifo\.sqz: not a regular file\n$/],
    [['classify', '/dev/zero'], /^squeezewasm: cannot read image \/dev\/zero: not a regular file\n$/],
    [['classify', huge], /^squeezewasm: image .*huge\.jpg is 100000000000 bytes, more than maxImageBytes \d+\n$/],
    [['classify', file('empty.png', '')], /^squeezewasm: .*empty\.png: the image is empty \(0 bytes\)/],
    [['classify', file('bomb.png', readFileSync(join(images, 'n01614925_bald_eagle.png')).subarray(0, 100))], /^squeezewasm: .*bomb\.png: PNG is truncated or corrupt/],
  ])('%j: one line naming the file and the problem, exit 1', async (args, message) => {
    const r = await cli(...(args as string[]));
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('classifies the good images of a batch and names the bad one', async () => {
    const bad = file('bad.jpg', new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2]));
    const r = await cli('classify', panda, bad, cat, '--json', '--top', '1');
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).top[0].label)).toEqual(['giant panda', 'Siamese cat']);
    expect(r.stderr).toMatch(/^squeezewasm: .*bad\.jpg: JPEG is truncated in the segment at byte 2\nsqueezewasm: 1 of 3 images failed \(errors above\)\n$/);
  });

  it('an interrupted quantize leaves the existing output untouched and no temporary file', async () => {
    const out = file('existing.sqz', 'the previous model');
    const child = spawn(process.execPath, [bin, 'quantize', 'squeezenet1.1-f32', '--calibrate', images, '-o', out, '--force'], { stdio: 'ignore' });
    // A second into a calibration that takes several: the model is loaded and images are running.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    child.kill('SIGINT');
    const signal = await new Promise((resolve) => child.on('exit', (_code, s) => resolve(s)));
    expect(signal).toBe('SIGINT');
    expect(readFileSync(out, 'utf8')).toBe('the previous model');
    expect(readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  });
});
