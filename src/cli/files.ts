import { open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { fsReason } from '../files.js';

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
