import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readModel } from '../../src/model/read.js';
import { bin, cli } from '../helpers/cli.js';
import { miniSqueezeNet } from '../helpers/onnx-builder.js';

const images = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const panda = join(images, 'n02510455_giant_panda.jpg');
const eagle = join(images, 'n01614925_bald_eagle.png');

describe('squeezewasm CLI', () => {
  it('classify prints a top-k table with the right label for each image', async () => {
    const r = await cli('classify', panda, eagle, '--top', '3');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/giant_panda\.jpg\s+\(squeezenet1\.1-int8, [\d.]+ ms\)\n\s+1\. giant panda\s+\d+\.\d\d %/);
    expect(r.stdout).toMatch(/bald_eagle\.png.*\n\s+1\. bald eagle/);
    expect(r.stdout.match(/^\s+\d\. /gm)).toHaveLength(6);
  });

  it('classify --json prints one object per image and line, with another bundled model', async () => {
    const r = await cli('classify', panda, eagle, '--json', '--model', 'squeezenet1.0-f32', '--top', '2');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(Object.keys(lines[0]).sort()).toEqual(['file', 'ms', 'top']);
    expect(lines[0].file).toBe(panda);
    expect(lines[0].top).toHaveLength(2);
    expect(lines[0].top[0]).toMatchObject({ index: 388, label: 'giant panda' });
    expect(lines[1].top[0].label).toBe('bald eagle');
    expect(lines[0].top[0].probability).toBeGreaterThan(lines[0].top[1].probability);
  });

  it('classify turns a photo upright by its EXIF orientation; --ignore-orientation reads it as stored', async () => {
    const exif = fileURLToPath(new URL('../fixtures/exif/', import.meta.url));
    const files = [join(exif, 'upright.jpg'), join(exif, 'orientation-6.jpg')];
    const run = async (...flags: string[]) => (await cli('classify', ...files, '--json', '--top', '1', ...flags)).stdout.trim().split('\n').map((l) => JSON.parse(l).top[0]);
    const [upright, turned] = await run();
    expect(turned.index).toBe(upright.index);
    expect(turned.label).toBe('giant panda');
    const [uprightIgnored, stored] = await run('--ignore-orientation');
    expect(uprightIgnored).toEqual(upright); // no tag: nothing to ignore
    expect(stored.probability).not.toBe(turned.probability);
    const features = await cli('features', files[1], '--json', '--ignore-orientation');
    expect(features.code).toBe(0);
  });

  it('models lists the bundled models with the default marked', async () => {
    const r = await cli('models');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/squeezenet1\.1-int8\s+224x224 RGB.*\(default\)/);
    for (const name of ['squeezenet1.0-int8', 'squeezenet1.1-f32', 'squeezenet1.0-f32']) expect(r.stdout).toContain(name);
  });

  it.each([
    [['classify', 'missing.jpg'], 1, /^squeezewasm: cannot read image missing\.jpg: no such file or folder\n$/],
    [['classify', bin], 1, /^squeezewasm: .*squeezewasm\.js: .*(JPEG|PNG).*\n$/],
    [['classify', panda, '--model', 'nope.sqz'], 1, /^squeezewasm: cannot read model "nope\.sqz".*\n$/],
    [['classify', panda, '--model', panda], 1, /^squeezewasm: model .*panda\.jpg: not a squeezewasm model.*\n$/],
    [['classify', panda, '--top', 'x'], 2, /--top must be a positive integer/],
    [['classify'], 2, /needs at least one image/],
    [['frobnicate'], 2, /unknown command "frobnicate"/],
    [['classify', panda, '--bogus'], 2, /Unknown option '--bogus'/],
  ])('%j fails with one clear line and exit code %i', async (args, code, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('--debug adds the stack trace', async () => {
    const r = await cli('classify', panda, '--model', panda, '--debug');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('convert writes a model that loads and classifies, and never overwrites without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-cli-'));
    const onnx = join(dir, 'mini.onnx');
    const labels = join(dir, 'labels.txt');
    const out = join(dir, 'mini.sqz');
    writeFileSync(onnx, miniSqueezeNet().bytes);
    writeFileSync(labels, 'a\nb\nc\nd\ne\n');
    const r = await cli('convert', onnx, '-o', out, '--labels', labels, '--preset', 'caffe', '--resize', '20');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const model = readModel(new Uint8Array(readFileSync(out)));
    expect(model.name).toBe('mini');
    expect(model.labels).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(model.input).toMatchObject({ channelOrder: 'BGR', height: 16, width: 16, resizeShorter: 20, divisor: 1, mean: [104, 117, 123] });
    const classified = await cli('classify', panda, '--model', out, '--json', '--top', '5');
    expect(classified.code).toBe(0);
    expect(JSON.parse(classified.stdout).top.map((p: { label: string }) => p.label).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);

    const again = await cli('convert', onnx, '-o', out, '--labels', labels);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    expect((await cli('convert', onnx, '-o', out, '--labels', labels, '--force')).code).toBe(0);
  });

  it('convert reads a .tflite (int8, TFLite\'s rounding): the tf preset, the resize for its input, and info shows the quantization', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-cli-'));
    const labels = join(dir, 'labels.txt');
    const out = join(dir, 'keras.sqz');
    writeFileSync(labels, 'a\nb\nc\nd\ne\n');
    const tflite = fileURLToPath(new URL('../fixtures/tflite/keras-squeezenet-int8.tflite', import.meta.url));
    const r = await cli('convert', tflite, '-o', out, '--labels', labels);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const model = readModel(new Uint8Array(readFileSync(out)));
    expect(model.input).toMatchObject({ channelOrder: 'RGB', height: 96, width: 96, resizeShorter: 110, divisor: 1, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] });
    expect(model.ops.filter((op) => op.op === 'conv').every((op) => op.rounding === 'tflite')).toBe(true);
    const classified = await cli('classify', panda, '--model', out, '--json');
    expect(classified.code).toBe(0);
    // TFLite's int8 softmax: probabilities are multiples of 1/256.
    for (const p of JSON.parse(classified.stdout).top as { probability: number }[]) expect(Number.isInteger(p.probability * 256)).toBe(true);
    const info = await cli('info', out);
    expect(info.stdout).toMatch(/int8 per-channel\s+u8\s+[0-9.e-]+ z \d+ tflite/);
    expect(info.stdout).toMatch(/globalavgpool .* tflite/);
  });

  it('quantize calibrates a converted model on a folder and writes an int8 model that classifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-cli-'));
    const onnx = join(dir, 'mini.onnx');
    const labels = join(dir, 'labels.txt');
    writeFileSync(onnx, miniSqueezeNet().bytes);
    writeFileSync(labels, 'a\nb\nc\nd\ne\n');
    expect((await cli('convert', onnx, '-o', join(dir, 'mini.sqz'), '--labels', labels)).code).toBe(0);
    const out = join(dir, 'mini.int8.sqz');
    const r = await cli('quantize', join(dir, 'mini.sqz'), '--calibrate', images, '-o', out);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(chosen\)/);
    expect(readModel(new Uint8Array(readFileSync(out))).precision).toBe('int8');
    const classified = await cli('classify', panda, '--model', out, '--json');
    expect(classified.code).toBe(0);
    expect(JSON.parse(classified.stdout).top).toHaveLength(5);
    const again = await cli('quantize', join(dir, 'mini.sqz'), '--calibrate', images, '-o', out);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    const noImages = await cli('quantize', join(dir, 'mini.sqz'), '--calibrate', dir, '-o', join(dir, 'x.sqz'));
    expect(noImages.stderr).toMatch(/calibration needs at least 4/);
    // i16 activations by default; --activations u8 gives the classic all-uint8 scheme.
    const dtypes = (file: string) => {
      const m = readModel(new Uint8Array(readFileSync(file)));
      return new Set([...m.quant!].filter(([name]) => name !== m.input.name).map(([, q]) => q.dtype));
    };
    expect(r.stdout).toMatch(/int8 weights, i16 activations/);
    expect(dtypes(out)).toContain('i16');
    const narrow = await cli('quantize', join(dir, 'mini.sqz'), '--calibrate', images, '-o', join(dir, 'u8.sqz'), '--activations', 'u8');
    expect(narrow.code).toBe(0);
    expect(dtypes(join(dir, 'u8.sqz'))).not.toContain('i16');
    expect((await cli('quantize', join(dir, 'mini.sqz'), '--calibrate', images, '-o', join(dir, 'y.sqz'), '--activations', 'int4')).stderr).toMatch(/--activations must be i16 or u8/);
  });

  it('convert names an unsupported op', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-cli-'));
    const onnx = join(dir, 'lstm.onnx');
    writeFileSync(onnx, miniSqueezeNet((g) => (g.nodes[1].op = 'LSTM')).bytes);
    const r = await cli('convert', onnx, '-o', join(dir, 'x.sqz'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^squeezewasm: unsupported ONNX op "LSTM" \(node "relu1"\)/);
  });

  it('convert reads a Deep Compression release with its prototxt, Caffe preprocessing by default', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/deep-compression/', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-cli-'));
    const out = join(dir, 'sq10.sqz');
    const args = ['convert', join(fixture, 'compressed_SqueezeNet.net'), '--prototxt', join(fixture, 'deploy.prototxt'), '-o', out];
    const r = await cli(...args, '--license', 'BSD-2-Clause', '--license-file', join(fixture, 'LICENSE'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${out}: 39 ops, 1000 classes, 227x227 BGR\n`);
    const model = readModel(new Uint8Array(readFileSync(out)));
    expect(model.input).toMatchObject({ divisor: 1, mean: [104, 117, 123], resizeShorter: 256 });
    expect(model.provenance).toMatchObject({ license: 'BSD-2-Clause', licenseText: readFileSync(join(fixture, 'LICENSE'), 'utf8') });
    const classified = await cli('classify', panda, '--model', out, '--json', '--top', '1');
    expect(JSON.parse(classified.stdout).top[0].label).toBe('giant panda');

    const noPrototxt = await cli('convert', join(fixture, 'compressed_SqueezeNet.net'), '-o', join(dir, 'x.sqz'));
    expect(noPrototxt.code).toBe(2);
    expect(noPrototxt.stderr).toMatch(/compressed_SqueezeNet\.net is a Deep Compression file: give its network with --prototxt deploy\.prototxt/);
    const truncated = join(dir, 'short.net');
    writeFileSync(truncated, readFileSync(join(fixture, 'compressed_SqueezeNet.net')).subarray(0, 5000));
    const bad = await cli('convert', truncated, '--prototxt', join(fixture, 'deploy.prototxt'), '-o', join(dir, 'x.sqz'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^squeezewasm: the Deep Compression file is 5000 bytes but layer "conv1"'s codes ends at byte \d+: the file is truncated, or the prototxt \(26 convolution layers\) is not this file's network\n$/);
    const missing = await cli('convert', truncated, '--prototxt', join(dir, 'nope.prototxt'), '-o', join(dir, 'x.sqz'));
    expect(missing.stderr).toMatch(/^squeezewasm: cannot read prototxt .*nope\.prototxt: no such file or folder\n$/);
  }, 30_000);
});
