import { open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { fsReason, readBoundedFile } from '../files.js';
import { DEFAULT_LIMITS } from '../limits.js';

/**
 * Writes `bytes` to `path` through a temporary file and a rename, so an interrupted run never
 * leaves half a model behind; refuses to replace an existing file unless `force`.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, force: boolean): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  if (!force) {
    try {
      await (await open(path, 'r')).close();
      throw new ArgumentError('E_OUTPUT_EXISTS', `${path} already exists; pass --force to overwrite it`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    // The write's own error is the one to report, not a failed clean-up.
    await rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError('E_OUTPUT_WRITE', `cannot write ${path}: ${fsReason(e)}`);
  }
}

/** The JPEG and PNG files in `dir`, sorted so that results do not depend on directory order. */
export async function imageFiles(dir: string, what: string, code: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new ArgumentError(code, `cannot read ${what} ${dir}: ${fsReason(e)}`);
  }
  return names.filter((n) => /\.(jpe?g|png)$/i.test(n)).sort().map((n) => join(dir, n));
}

/**
 * The bytes of an image file named on the command line, refused before reading if it is larger
 * than `maxBytes` (a 10 GB "image" must not be read into memory to find out it is not one).
 */
export function readImageFile(file: string, maxBytes = DEFAULT_LIMITS.maxImageBytes): Uint8Array {
  return readBoundedFile(file, maxBytes, { what: 'image', code: 'E_IMAGE_FILE', limit: 'maxImageBytes' });
}

/** Runs `work` on one file's contents; an error it throws names the file first. */
export function inFile<T>(file: string, work: () => T): T {
  try {
    return work();
  } catch (e) {
    if (e instanceof Error) e.message = `${file}: ${e.message}`;
    throw e;
  }
}
