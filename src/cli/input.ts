// What every command that reads images needs. Folders are listed in src/cli/files.ts: classifying
// needs no fs/promises.
import { readBoundedFile } from '../files.js';
import { DEFAULT_LIMITS } from '../limits.js';

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
