// What every command that reads images needs. Folders are listed in src/cli/files.ts: classifying
// needs no fs/promises.
import type { ImageOptions } from '../classifier.js';
import { readBoundedFile } from '../files.js';
import { DEFAULT_LIMITS } from '../limits.js';

/** The option of every command that reads images: `--ignore-orientation`. */
export const ORIENTATION_OPTION = { 'ignore-orientation': { type: 'boolean' } } as const;

/** Its lines in a command's usage, the description at column `at` as the command's others are. */
export const orientationUsage = (at: number): string => {
  const indent = ' '.repeat(at);
  return `  --ignore-orientation
${indent}read images as their pixels are stored, not turned upright by their EXIF
${indent}orientation (as torchvision and PIL's Image.open read them)`;
};

/** The image options the command line asks for. */
export function imageOptions(values: Record<string, string | boolean | undefined>): ImageOptions {
  return { orientation: values['ignore-orientation'] ? 'ignore' : 'apply' };
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
