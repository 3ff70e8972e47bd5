/**
 * Reading files the user named, in Node: only regular files, never more of one than its limit
 * allows, with file system errors in words.
 * @packageDocumentation
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { ArgumentError, LimitError, SqueezeError } from './errors.js';

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  EINVAL: 'the system does not let it be read as a plain file',
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

// Non-blocking, so that opening a FIFO returns at once (for fstat to refuse it) instead of waiting
// for a writer; reads of regular files ignore the flag. Windows has no such flag and no such wait.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** The first buffer for the rest of a file that holds more than fstat said (procfs says 0). */
const GROW_BYTES = 64 * 1024;

/** Why a file of this kind cannot be read as one, or undefined if it is a regular file. */
function irregular(info: Stats): string | undefined {
  return info.isFile() ? undefined : info.isDirectory() ? FS_REASONS.EISDIR : 'not a regular file';
}

/**
 * The bytes of `path`, a regular file of at most `maxBytes` bytes. It is read through one file
 * descriptor, at most `maxBytes` + 1 bytes of it: the size fstat gives only sizes the first read,
 * as files in /proc say 0 and some never end. Synchronous, as every read at start-up is
 * (docs/performance.md, "Cold start").
 * @throws ArgumentError (`kind.code`) if it is missing, not a regular file or unreadable;
 *   LimitError (`kind.limit`) if it is larger than `maxBytes`.
 */
export function readBoundedFile(path: string, maxBytes: number, kind: FileKind): Uint8Array {
  const cannot = (e: unknown): ArgumentError => new ArgumentError(kind.code, `cannot read ${kind.what} ${path}: ${typeof e === 'string' ? e : fsReason(e)}`);
  const tooLarge = (detail: string): LimitError => new LimitError(kind.limit, `${kind.what} ${path} ${detail}`);
  let fd: number;
  try {
    // Only regular files: a FIFO or /dev/zero would never end. Checked before opening too, as
    // opening a device can act on it (opening a serial port resets the board behind it).
    const reason = irregular(statSync(path));
    if (reason) throw reason;
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw cannot(e);
  }
  try {
    const info = fstatSync(fd);
    const reason = irregular(info);
    if (reason) throw cannot(reason);
    if (info.size > maxBytes) throw tooLarge(`is ${info.size} bytes, more than ${kind.limit} ${maxBytes}`);
    const bytes = readUpTo(fd, info.size, maxBytes);
    if (!bytes) throw tooLarge(`holds more than ${kind.limit} ${maxBytes} bytes, though its size says ${info.size}`);
    return bytes;
  } catch (e) {
    throw e instanceof SqueezeError ? e : cannot(e);
  } finally {
    closeSync(fd);
  }
}

/**
 * All of `fd`'s bytes if there are at most `maxBytes`, else undefined. A file that holds `size`
 * bytes takes one read into a buffer of `size` + 1 and one that finds the end; one that holds
 * more has its buffer grown, up to `maxBytes` + 1.
 */
function readUpTo(fd: number, size: number, maxBytes: number): Uint8Array | undefined {
  let buffer = new Uint8Array(size + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) return undefined;
      const grown = new Uint8Array(Math.min(maxBytes + 1, Math.max(2 * length, GROW_BYTES)));
      grown.set(buffer);
      buffer = grown;
    }
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) return buffer.subarray(0, length);
    length += n;
  }
}
