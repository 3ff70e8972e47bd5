/**
 * Reading files the user named, in Node: only regular files, refused by size before a byte is
 * read, with file system errors in words.
 * @packageDocumentation
 */
import { readFileSync, statSync } from 'node:fs';
import { ArgumentError, LimitError } from './errors.js';

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
};

/** A file system error in words, e.g. "no such file or folder" for ENOENT. */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && FS_REASONS[code]) ?? code ?? (e as Error).message;
}

/** What {@link readBoundedFile} reads: for messages and error codes. */
export interface FileKind {
  /** "image", "model", ... */
  what: string;
  /** Error code when the file cannot be read, e.g. `E_IMAGE_FILE`. */
  code: string;
  /** The limit that bounds its size, e.g. `maxImageBytes`. */
  limit: string;
}

/**
 * The bytes of `path`, a regular file of at most `maxBytes` bytes. Synchronous, as every read at
 * start-up is (docs/performance.md, "Cold start").
 * @throws ArgumentError (`kind.code`) if it is missing, not a regular file or unreadable;
 *   LimitError (`kind.limit`) if it is larger than `maxBytes`.
 */
export function readBoundedFile(path: string, maxBytes: number, kind: FileKind): Uint8Array {
  const cannot = (e: unknown): ArgumentError => new ArgumentError(kind.code, `cannot read ${kind.what} ${path}: ${typeof e === 'string' ? e : fsReason(e)}`);
  let info;
  try {
    info = statSync(path);
  } catch (e) {
    throw cannot(e);
  }
  // Only regular files: a FIFO or /dev/zero would never end.
  if (!info.isFile()) throw cannot(info.isDirectory() ? FS_REASONS.EISDIR : 'not a regular file');
  if (info.size > maxBytes) throw new LimitError(kind.limit, `${kind.what} ${path} is ${info.size} bytes, more than ${kind.limit} ${maxBytes}`);
  try {
    const bytes = readFileSync(path);
    // A plain Uint8Array over the Buffer's bytes: Buffer's own methods (slice) behave differently.
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (e) {
    throw cannot(e);
  }
}
