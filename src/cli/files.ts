import { open, rename, rm } from 'node:fs/promises';
import { ArgumentError } from '../errors.js';

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
    await rm(tmp, { force: true });
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError('E_OUTPUT_WRITE', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
