import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readModel } from '../../src/model/read.js';

// Runs the built CLI (npm test builds dist/ first) the way a user would.
const bin = fileURLToPath(new URL('../../bin/squeezewasm.js', import.meta.url));
const images = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const panda = join(images, 'n02510455_giant_panda.jpg');
const train = join(images, 'n02917067_bullet_train.jpg');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A training folder: one sub-folder per class holding copies of fixture images. */
function folderTree(root: string, classes: Record<string, string[]>): string {
  for (const [label, files] of Object.entries(classes)) {
    mkdirSync(join(root, label), { recursive: true });
    for (const f of files) copyFileSync(join(images, f), join(root, label, f));
  }
  return root;
}

describe('squeezewasm train and features', () => {
  it('train writes a model named after its class folders that classify runs; same folder, same bytes', async () => {
    const tree = folderTree(join(dir, 'tree'), {
      animals: ['n01614925_bald_eagle.png', 'n02108551_Tibetan_mastiff.jpg', 'n02123597_Siamese_cat.jpg'],
      things: ['n02917067_bullet_train.jpg', 'n03124043_cowboy_boot.jpg'],
    });
    writeFileSync(join(tree, 'notes.txt'), 'not a class');
    const out = join(dir, 'pets.sqz');
    const r = await cli('train', tree, '-o', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ output: out, precision: 'int8', labels: ['animals', 'things'], images: [3, 2], features: { base: 'squeezenet1.1-int8', layer: 'fire7', dim: 512 }, agreement: 1, modelAccuracy: 1 });
    expect(report.ms.total).toBeGreaterThan(0);
    const model = readModel(new Uint8Array(readFileSync(out)));
    expect(model.name).toBe('pets');
    expect(model.labels).toEqual(['animals', 'things']);

    const classified = await cli('classify', panda, train, '--model', out, '--json');
    expect(classified.code).toBe(0);
    const lines = classified.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.top.map((p: { label: string }) => p.label).sort())).toEqual([['animals', 'things'], ['animals', 'things']]);
    expect(lines[1].top[0].label).toBe('things');

    const again = await cli('train', tree, '-o', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    const forced = await cli('train', tree, '-o', out, '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^classes: animals \(3\), things \(2\)\n/);
    expect(forced.stdout).toMatch(/agreement with the float head 100\.0 %/);
    expect(new Uint8Array(readFileSync(out))).toEqual(new Uint8Array(readFileSync(join(dir, 'pets.sqz'))));
    const other = join(dir, 'other.sqz');
    expect((await cli('train', tree, '-o', other, '--name', 'pets')).code).toBe(0);
    expect(new Uint8Array(readFileSync(other))).toEqual(new Uint8Array(readFileSync(out)));
  }, 60_000);

  it.each([
    [['train', join(dir, 'one'), '-o', join(dir, 'x.sqz')], { a: ['n01614925_bald_eagle.png'] }, 1, /has 1 class folder\(s\); training needs one sub-folder per class, at least 2/],
    [['train', join(dir, 'empty'), '-o', join(dir, 'x.sqz')], { a: ['n01614925_bald_eagle.png'], b: [] }, 1, /class folder .*b has no JPEG or PNG images/],
    [['train', join(dir, 'missing'), '-o', join(dir, 'x.sqz')], undefined, 1, /cannot read training folder .*missing: no such file or folder/],
    [['train', dir], undefined, 2, /needs an output file/],
    [['train', dir, '-o', join(dir, 'x.sqz'), '--val', '1'], undefined, 2, /--val must be a fraction in \[0, 1\), got "1"/],
    [['train', dir, '-o', join(dir, 'x.sqz'), '--epochs', '2.5'], undefined, 2, /--epochs must be a positive integer/],
    [['train', dir, '-o', join(dir, 'x.sqz'), '--l2', ''], undefined, 2, /--l2 must be a non-negative number/],
    [['features'], undefined, 2, /needs at least one image/],
  ])('%j fails with one clear line and exit code %i', async (args, tree, code, message) => {
    if (tree) folderTree(args[1], tree);
    const r = await cli(...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('features prints CSV with a header, or JSON lines, matching each other', async () => {
    const csv = await cli('features', panda, train);
    expect(csv.code).toBe(0);
    const [header, ...rows] = csv.stdout.trim().split('\n');
    expect(header.split(',')).toHaveLength(513);
    expect(header).toMatch(/^file,fire7\[0\],fire7\[1\],/);
    expect(rows.map((r) => r.split(',')[0])).toEqual([panda, train]);
    const json = await cli('features', panda, train, '--json');
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].file).toBe(panda);
    expect(lines[0].features).toHaveLength(512);
    expect(rows[0].split(',').slice(1).map(Number)).toEqual(lines[0].features);
    expect(lines[0].features.some((v: number) => v > 0)).toBe(true);
  });
});
