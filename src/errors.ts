/**
 * One error hierarchy for everything squeezewasm refuses. Every error has a stable `code` for
 * programs and a message for people that says what failed, where, and what to do about it.
 * @packageDocumentation
 */
import { printable } from './text.js';

/**
 * Base class of every error squeezewasm throws on purpose. Its message is one line of printable
 * text: names from a file are quoted where the message is made, and any control character left
 * (a newline, an escape sequence) is escaped here, so logging a message cannot forge lines.
 */
export class SqueezeError extends Error {
  /** Stable machine-readable code, e.g. `E_MODEL_CHECKSUM`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(printable(message));
    this.code = code;
    this.name = new.target.name;
  }
}

/** A model file is malformed, truncated, corrupt, of another version, or describes an impossible network. */
export class ModelFormatError extends SqueezeError {}

/** A source model (ONNX, Deep Compression) uses something the converter cannot translate. */
export class ConvertError extends SqueezeError {}

/** An image could not be decoded, or its pixels do not match the stated size. */
export class ImageError extends SqueezeError {}

/** A caller passed an argument of the wrong type, shape or range. */
export class ArgumentError extends SqueezeError {}

/** A configured limit (file size, pixels, memory, ...) would be exceeded. Names the limit. */
export class LimitError extends SqueezeError {
  /** Name of the limit that was hit: a field of `Limits`, or `engineMemory` when the engine itself runs out. */
  readonly limit: string;
  constructor(limit: string, message: string) {
    super('E_LIMIT', message);
    this.limit = limit;
  }
}
