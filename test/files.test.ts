import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../src/errors.js';
import { readBoundedFile, type FileKind } from '../src/files.js';
import { expectLimitError, expectSqueezeError, thrown } from './helpers/errors.js';

const KIND: FileKind = { what: 'test file', code: 'E_TEST_FILE', limit: 'maxTestBytes' };
const read = (path: string, maxBytes: number): Uint8Array => readBoundedFile(path, maxBytes, KIND);
const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-files-'));
const openFds = (): number => readdirSync('/proc/self/fd').length;
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

/** Writes `bytes` into the temporary folder and returns the path. */
function file(name: string, bytes: Uint8Array | string): string {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

beforeAll(() => {
  // Files like these are why readBoundedFile reads as it does: fstat says 0 and the bytes go on.
  // (/proc/self/pagemap, which goes on for hundreds of GB, is read by test/cli/stat-lies.test.ts,
  // in a child process whose memory is capped.)
  for (const path of ['/proc/self/maps', '/proc/self/smaps']) {
    if (statSync(path).size !== 0) throw new Error(`${path} should say its size is 0 (Linux procfs); these tests need it`);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readBoundedFile', () => {
  it('reads a regular file whole, up to exactly its limit, and through a link', () => {
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    const path = file('data.bin', bytes);
    expect(same(read(path, 100_000), bytes)).toBe(true);
    symlinkSync(path, join(dir, 'link.bin'));
    expect(same(read(join(dir, 'link.bin'), 1e6), bytes)).toBe(true);
    expect(read(file('empty.bin', ''), 10)).toHaveLength(0);
  });

  it('refuses a file one byte over its limit by its size, naming the limit', () => {
    const e = expectLimitError(thrown(() => read(file('big.bin', new Uint8Array(101)), 100)), 'maxTestBytes');
    expect(e.message).toMatch(/^test file .*big\.bin is 101 bytes, more than maxTestBytes 100$/);
  });

  it('refuses a 600 MB sparse file by its size, at once', () => {
    const path = join(dir, 'sparse.txt');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 600e6);
    closeSync(fd);
    const t0 = performance.now();
    expectLimitError(thrown(() => read(path, 4 * 1024 * 1024)), 'maxTestBytes');
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('reads on past a size of 0 (procfs), growing its buffer and keeping every byte', () => {
    const text = new TextDecoder().decode(read('/proc/self/smaps', 64 * 1024 * 1024));
    // Past the first grown buffer (64 KiB): a test process maps hundreds of regions, each ~1 KB here.
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(text).not.toContain('\0');
    expect(text).toMatch(/^[0-9a-f]+-[0-9a-f]+ /);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.match(/^Rss:/gm)?.length).toBe(text.match(/^[0-9a-f]+-[0-9a-f]+ /gm)?.length);
  });

  it('refuses a file that holds more than its limit though its size says 0', () => {
    const e = expectLimitError(thrown(() => read('/proc/self/maps', 100)), 'maxTestBytes');
    expect(e.message).toBe('test file /proc/self/maps holds more than maxTestBytes 100 bytes, though its size says 0');
  });

  it('refuses what is not a regular file, without waiting on a FIFO', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    mkdirSync(join(dir, 'folder'));
    for (const [path, reason] of [
      [fifo, 'not a regular file'],
      ['/dev/zero', 'not a regular file'],
      [join(dir, 'folder'), 'it is a folder, not a file'],
      [join(dir, 'missing'), 'no such file or folder'],
    ]) {
      const e = expectSqueezeError(thrown(() => read(path, 100)), ArgumentError, 'E_TEST_FILE');
      expect(e.message).toBe(`cannot read test file ${path}: ${reason}`);
    }
  });

  it('closes its file descriptor whatever the outcome', () => {
    const before = openFds();
    const small = file('small.bin', 'abc');
    for (let i = 0; i < 20; i++) {
      read(small, 10);
      thrown(() => read(small, 2));
      thrown(() => read('/proc/self/maps', 100));
      thrown(() => read(dir, 10));
    }
    expect(openFds()).toBe(before);
  });
});
