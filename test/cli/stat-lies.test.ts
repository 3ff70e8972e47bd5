// Files whose size on disk says nothing of what they hold: /proc/self/pagemap says 0 and runs to
// hundreds of GB, a sparse file says 600 MB and costs nothing to make. Every file the CLI is given
// is read no further than its limit, and the run ends with one line, quickly, in bounded memory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliMeasured, type MeasuredRun } from '../helpers/cli.js';
import { miniSqueezeNet } from '../helpers/onnx-builder.js';

const PAGEMAP = '/proc/self/pagemap';
const images = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const panda = join(images, 'n02510455_giant_panda.jpg');
const cat = join(images, 'n02123597_Siamese_cat.jpg');
const eagle = join(images, 'n01614925_bald_eagle.png');
const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-stat-lies-'));
const out = join(dir, 'out.sqz');
const onnx = join(dir, 'mini.onnx');
const labels = join(dir, 'labels.txt');
const net = join(dir, 'compressed.net');
const sparse = join(dir, 'sparse.txt');
const trainDir = join(dir, 'train');
const calibrationDir = join(dir, 'calibration');

/** A folder holding copies of fixtures and links, each given as name -> the file it copies or links to. */
function folder(path: string, copies: Record<string, string>, links: Record<string, string> = {}): void {
  mkdirSync(path, { recursive: true });
  for (const [name, from] of Object.entries(copies)) writeFileSync(join(path, name), readFileSync(from));
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(path, name));
}

beforeAll(() => {
  if (!existsSync(PAGEMAP) || statSync(PAGEMAP).size !== 0) throw new Error(`${PAGEMAP} (Linux procfs, size 0) is what these tests read; it is missing or has a size`);
  writeFileSync(onnx, miniSqueezeNet().bytes);
  writeFileSync(labels, 'a\nb\nc\nd\ne\n');
  writeFileSync(net, new Uint8Array(64));
  execFileSync('truncate', ['-s', '600M', sparse]);
  folder(join(trainDir, 'panda'), { 'panda.jpg': panda });
  folder(join(trainDir, 'cat'), { 'cat.jpg': cat }, { 'zz.jpg': PAGEMAP });
  folder(calibrationDir, { 'a.jpg': panda, 'b.jpg': cat, 'c.png': eagle }, { 'zz.jpg': PAGEMAP });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Expects the run to have ended as the CLI's errors do: one line, exit 1, within 10 s and 1 GB. */
function expectOneLineError(r: MeasuredRun, line: RegExp): void {
  expect(r.stderr).toMatch(line);
  expect(r.stderr.split('\n')).toHaveLength(2);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.ms).toBeLessThan(10_000);
  expect(r.peakRssBytes).toBeGreaterThan(0);
  expect(r.peakRssBytes).toBeLessThan(1e9);
  expect(existsSync(out)).toBe(false);
}

/** The line for an endless file of kind `what` at `path`: unreadable as a stream (pagemap's EINVAL) or over its limit. */
const endless = (what: string, path = PAGEMAP): RegExp =>
  new RegExp(`^squeezewasm: (cannot read ${what} ${path}: [^\\n]+|${what} ${path} holds more than \\w+ \\d+ bytes, though its size says 0)\\n$`);

describe('CLI on files whose size says 0 and which never end', () => {
  it.each([
    ['classify image', ['classify', PAGEMAP], endless('image')],
    ['features image', ['features', PAGEMAP, '--json'], endless('image')],
    ['classify --model', ['classify', panda, '--model', PAGEMAP], endless('model file')],
    ['info model', ['info', PAGEMAP], endless('model file')],
    ['convert source', ['convert', PAGEMAP, '-o', out], endless('model file')],
    ['convert --labels', ['convert', onnx, '--labels', PAGEMAP, '-o', out], endless('labels file')],
    ['convert --license-file', ['convert', onnx, '--labels', labels, '--license-file', PAGEMAP, '-o', out], endless('license file')],
    ['convert --prototxt', ['convert', net, '--prototxt', PAGEMAP, '-o', out], endless('prototxt')],
    ['train, a link in a class folder', ['train', trainDir, '-o', out], endless('image', `${trainDir}/cat/zz\\.jpg`)],
    ['quantize, a link in the calibration folder', ['quantize', 'squeezenet1.1-f32', '--calibrate', calibrationDir, '-o', out], endless('image', `${calibrationDir}/zz\\.jpg`)],
  ])('%s: one line, exit 1, in 10 s and 1 GB', async (_name, args, line) => {
    expectOneLineError(await cliMeasured(args as string[]), line as RegExp);
  });
});

describe('CLI on a training folder with a dangling link', () => {
  it('names the link in one line', async () => {
    const broken = join(dir, 'broken-train');
    folder(join(broken, 'panda'), { 'panda.jpg': panda });
    folder(join(broken, 'cat'), { 'cat.jpg': cat });
    symlinkSync(join(dir, 'nowhere'), join(broken, 'gone'));
    const r = await cliMeasured(['train', broken, '-o', out]);
    expectOneLineError(r, new RegExp(`^squeezewasm: cannot read ${broken}/gone in training folder ${broken}: no such file or folder\\n$`));
  });
});

describe('CLI on a 600 MB sparse text file', () => {
  it.each([
    ['--labels', ['convert', onnx, '--labels', sparse, '-o', out], 'labels file'],
    ['--license-file', ['convert', onnx, '--labels', labels, '--license-file', sparse, '-o', out], 'license file'],
    ['--prototxt', ['convert', net, '--prototxt', sparse, '-o', out], 'prototxt'],
  ])('%s: a LimitError naming maxTextBytes, before reading it', async (_name, args, what) => {
    const r = await cliMeasured(args as string[]);
    expectOneLineError(r, new RegExp(`^squeezewasm: ${what} ${sparse} is ${600 * 2 ** 20} bytes, more than maxTextBytes ${4 * 2 ** 20}\\n$`));
  });
});

describe('CLI on an "image" that is a link to a text file', () => {
  it('/etc/passwd: refused without a byte of it on the terminal', async () => {
    if (!readFileSync('/etc/passwd', 'utf8').startsWith('root:')) throw new Error('/etc/passwd should start with "root:"; this test looks for it in the output');
    const link = join(dir, 'passwd.jpg');
    symlinkSync('/etc/passwd', link);
    const r = await cliMeasured(['classify', link]);
    expectOneLineError(r, /^squeezewasm: .*passwd\.jpg: not a JPEG or PNG image; supported formats are JPEG \(baseline or progressive\) and PNG\n$/);
    expect(r.stderr).not.toMatch(/root|72 6f 6f 74/);
  });
});
