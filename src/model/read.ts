/**
 * Reads a squeezewasm model file: every field of a possibly hostile file is checked here or by
 * {@link validateModel}, which it ends with, with a typed error; what it returns is a
 * {@link ValidModel}, which nothing downstream re-checks.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { LimitError } from '../errors.js';
import { quote } from '../text.js';
import { fail } from './check.js';
import {
  BLOB_ALIGN,
  ELEMENT_BYTES,
  FIXED_HEADER_BYTES,
  FORMAT_VERSION,
  MAGIC,
  MIN_FORMAT_VERSION,
  OP_KINDS,
  type DType,
  type InputSpec,
  type Model,
  type Op,
  type Precision,
  type Provenance,
  type QuantParams,
  type Tensor,
  type TensorEncoding,
} from './format.js';
import { JS_SCAN, type WeightScan } from './scan.js';
import { decodeBitmask } from './sparse.js';
import { MAX_DIM, validateModel, type ValidModel } from './validate.js';

/** One row of the header's tensor table. */
export interface TensorEntryJson {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte offset from the start of the file, a multiple of 64. */
  offset: number;
  /** Byte length of the stored blob: product(shape) x element size when dense. */
  length: number;
  /** How the blob stores the elements (format version 2); absent means dense. */
  encoding?: TensorEncoding;
}

/** The JSON header as stored in the file. */
export interface HeaderJson {
  name: string;
  /** Absent means "f32". */
  precision?: Precision;
  /** int8 models: activation name -> quantization. */
  quant?: Record<string, QuantParams>;
  input: InputSpec;
  ops: Op[];
  output: string;
  labels: string[];
  provenance: Provenance;
  tensors: TensorEntryJson[];
}

/** Limits the reader enforces before it allocates anything. */
export interface ReadLimits {
  /** Largest accepted file, in bytes. */
  maxFileBytes: number;
  /** Largest accepted JSON header, in bytes. */
  maxHeaderBytes: number;
  /** Largest element count of one stored tensor. */
  maxTensorElements: number;
  /**
   * Largest total size of all tensors once decoded, in bytes. A sparse tensor decodes to up to 32
   * times its stored size, so the file size alone no longer bounds the memory a file asks for.
   */
  maxTensorBytes: number;
}

/**
 * Defaults: generous for SqueezeNet-sized models (about 5 MB), far below what would hurt a Worker.
 * A sparse file may decode to no more than the largest dense file accepted.
 */
export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxFileBytes: 64 * 1024 * 1024,
  maxHeaderBytes: 4 * 1024 * 1024,
  maxTensorElements: 16 * 1024 * 1024,
  maxTensorBytes: 64 * 1024 * 1024,
};

/**
 * Deepest nesting of arrays and objects accepted in a model header. The format nests 4 deep (the
 * header, its ops, an op, its pads); 32 leaves room for later versions. Anything that walks a parsed
 * value recursively (JSON.stringify when `info --json` prints a model or `quantize` writes one,
 * structuredClone, error messages) overflows the call stack a few thousand levels down, so a
 * deeper header is refused before it is parsed.
 */
export const MAX_HEADER_DEPTH = 32;
/** Longest license text or notes accepted in a model's provenance: six times Apache-2.0's full text (this package's LICENSE, 10,173 characters). */
const MAX_PROVENANCE_TEXT = 65536;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkInput(v: unknown): InputSpec {
  if (!isObject(v)) fail('E_MODEL_HEADER', 'header.input must be an object');
  const { name, height, width, channelOrder, resizeShorter, divisor, mean, std } = v;
  if (!isString(name, 256)) fail('E_MODEL_HEADER', 'header.input.name must be a string');
  if (channelOrder !== 'RGB' && channelOrder !== 'BGR') fail('E_MODEL_HEADER', 'header.input.channelOrder must be "RGB" or "BGR"');
  for (const [k, n] of [['height', height], ['width', width], ['resizeShorter', resizeShorter]] as const) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_DIM) {
      fail('E_MODEL_HEADER', `header.input.${k} must be an integer in 1..${MAX_DIM}`);
    }
  }
  if ((resizeShorter as number) < Math.max(height as number, width as number)) {
    fail('E_MODEL_HEADER', 'header.input.resizeShorter must be at least the input height and width');
  }
  if (!isFiniteNumber(divisor) || divisor <= 0) fail('E_MODEL_HEADER', 'header.input.divisor must be a positive number');
  for (const [k, arr] of [['mean', mean], ['std', std]] as const) {
    if (!Array.isArray(arr) || arr.length !== 3 || !arr.every(isFiniteNumber)) {
      fail('E_MODEL_HEADER', `header.input.${k} must be three numbers`);
    }
  }
  if (!(std as number[]).every((s) => s > 0)) fail('E_MODEL_HEADER', 'header.input.std must be positive');
  const finite = [0, 1, 2].every((c) => Number.isFinite(1 / ((divisor as number) * (std as number[])[c])) && Number.isFinite((mean as number[])[c] / (std as number[])[c]));
  if (!finite) fail('E_MODEL_HEADER', 'header.input: mean / std and 1 / (divisor x std) must be finite');
  // Known fields only: whatever else the file carries is not passed on to summaries or rewritten files.
  const [m, s] = [mean as number[], std as number[]];
  return { name, height, width, channelOrder, resizeShorter, divisor, mean: [m[0], m[1], m[2]], std: [s[0], s[1], s[2]] } as InputSpec;
}

/** The provenance's known fields, each a string of bounded length; any other field is dropped. */
function checkProvenance(v: unknown): Provenance {
  if (!isObject(v) || !isString(v.source) || !isString(v.license)) {
    fail('E_MODEL_HEADER', 'header.provenance must have string source and license');
  }
  const provenance: Provenance = { source: v.source, license: v.license };
  for (const k of ['licenseText', 'notes'] as const) {
    if (v[k] === undefined) continue;
    if (!isString(v[k], MAX_PROVENANCE_TEXT)) fail('E_MODEL_HEADER', `header.provenance.${k} must be a string of at most ${MAX_PROVENANCE_TEXT} characters`);
    provenance[k] = v[k];
  }
  return provenance;
}

function checkOps(v: unknown): Op[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 4096) fail('E_MODEL_HEADER', 'header.ops must be a list of 1..4096 ops');
  v.forEach((op, i) => {
    if (!isObject(op)) fail('E_MODEL_HEADER', `header.ops[${i}] must be an object`);
    if (!OP_KINDS.includes(op.op as Op['op'])) {
      fail('E_MODEL_OP', `header.ops[${i}] has unknown op ${quote(op.op)}; this reader knows ${OP_KINDS.join(', ')}`);
    }
    for (const k of ['input', 'output', 'weight', 'bias'] as const) {
      if (op[k] !== undefined && !isString(op[k], 256)) fail('E_MODEL_HEADER', `header.ops[${i}].${k} must be a string`);
    }
    if (op.inputs !== undefined && (!Array.isArray(op.inputs) || !op.inputs.every((n) => isString(n, 256)))) {
      fail('E_MODEL_HEADER', `header.ops[${i}].inputs must be a list of strings`);
    }
  });
  return v as Op[];
}

/** The fixed binary header's fields, once they are checked against the file. */
interface FixedHeader {
  version: number;
  headerLength: number;
  dataOffset: number;
}

/** Checks the fixed header: magic, version, length, checksum, where the JSON header and the data lie. */
function checkFixedHeader(bytes: Uint8Array, limits: ReadLimits, scan: WeightScan): FixedHeader {
  if (bytes.length > limits.maxFileBytes) {
    throw new LimitError('maxFileBytes', `model file is ${bytes.length} bytes, more than the limit of ${limits.maxFileBytes}`);
  }
  if (bytes.length < FIXED_HEADER_BYTES) fail('E_MODEL_TRUNCATED', `model file is only ${bytes.length} bytes; it is truncated or not a model`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('E_MODEL_MAGIC', 'not a squeezewasm model (the file does not start with "SQZW")');
  const version = view.getUint32(4, true);
  if (version < MIN_FORMAT_VERSION || version > FORMAT_VERSION) {
    fail(
      'E_MODEL_VERSION',
      version > FORMAT_VERSION
        ? `model format version ${version} is newer than this squeezewasm reads (${MIN_FORMAT_VERSION} to ${FORMAT_VERSION}); upgrade squeezewasm`
        : `model format version ${version} is not supported (this squeezewasm reads ${MIN_FORMAT_VERSION} to ${FORMAT_VERSION}); convert the model again`,
    );
  }
  const fileLength = view.getUint32(8, true);
  if (fileLength !== bytes.length) {
    fail('E_MODEL_TRUNCATED', `model file is ${bytes.length} bytes but its header says ${fileLength}; it is truncated or padded`);
  }
  if (scan.crc32(bytes.subarray(16)) !== view.getUint32(12, true)) {
    fail('E_MODEL_CHECKSUM', 'model file checksum does not match: the file is corrupt; download or convert it again');
  }
  const headerLength = view.getUint32(16, true);
  const dataOffset = view.getUint32(20, true);
  if (headerLength > limits.maxHeaderBytes) {
    throw new LimitError('maxHeaderBytes', `model header is ${headerLength} bytes, more than the limit of ${limits.maxHeaderBytes}`);
  }
  if (FIXED_HEADER_BYTES + headerLength > dataOffset || dataOffset > bytes.length || dataOffset % BLOB_ALIGN !== 0) {
    fail('E_MODEL_RANGE', `header length ${headerLength} and data offset ${dataOffset} do not fit a ${bytes.length}-byte file`);
  }
  return { version, headerLength, dataOffset };
}

/**
 * Refuses JSON text nested deeper than {@link MAX_HEADER_DEPTH}, in one pass over its bytes that
 * keeps only the depth and whether it is inside a string. Bytes will do: JSON's brackets, quotes
 * and backslashes are ASCII, and no byte of a multi-byte UTF-8 character is ASCII.
 */
function checkNesting(json: Uint8Array): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const b = json[i];
    if (inString) {
      if (b === 0x5c) i++; // a backslash escapes the next byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > MAX_HEADER_DEPTH) fail('E_MODEL_HEADER', `model header nests arrays and objects more than ${MAX_HEADER_DEPTH} deep`);
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
}

/** The JSON header, its top-level fields checked (ops, input and provenance are checked where used). */
function parseHeader(bytes: Uint8Array, { headerLength }: FixedHeader): Record<string, unknown> & { name: string; output: string; labels: string[]; tensors: unknown[] } {
  const json = bytes.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + headerLength);
  checkNesting(json);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch {
    fail('E_MODEL_HEADER', 'model header is not valid UTF-8 JSON');
  }
  if (!isObject(header)) fail('E_MODEL_HEADER', 'model header must be a JSON object');
  if (!isString(header.name, 256)) fail('E_MODEL_HEADER', 'header.name must be a string');
  if (!isString(header.output, 256)) fail('E_MODEL_HEADER', 'header.output must be a string');
  if (!Array.isArray(header.labels) || header.labels.length > 100000 || !header.labels.every((l) => isString(l, 1024))) {
    fail('E_MODEL_HEADER', 'header.labels must be a list of strings');
  }
  if (!Array.isArray(header.tensors) || header.tensors.length > 4096) fail('E_MODEL_HEADER', 'header.tensors must be a list');
  return header as ReturnType<typeof parseHeader>;
}

/** One checked row of the tensor table. */
interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  elements: number;
  start: number;
  length: number;
  encoding: TensorEncoding;
}

/** Checks one row of the tensor table against the file; returns it and its decoded size. */
function checkTensorEntry(e: unknown, i: number, bytes: Uint8Array, fixed: FixedHeader, limits: ReadLimits): TensorEntry {
  if (!isObject(e) || !isString(e.name, 256) || e.name === '') fail('E_MODEL_HEADER', `header.tensors[${i}] must have a name`);
  const where = `tensor ${quote(e.name)}`;
  const dtype = e.dtype as DType;
  if (!(typeof dtype === 'string' && Object.hasOwn(ELEMENT_BYTES, dtype))) fail('E_MODEL_TENSOR', `${where} has unknown dtype ${quote(e.dtype)}`);
  const shape = e.shape;
  if (!Array.isArray(shape) || shape.length > 4 || !shape.every((d) => Number.isInteger(d) && d >= 1 && d <= MAX_DIM)) {
    fail('E_MODEL_SHAPE', `${where} has an invalid shape ${quote(shape)}`);
  }
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  if (elements > limits.maxTensorElements) {
    throw new LimitError('maxTensorElements', `${where} has ${elements} elements, more than the limit of ${limits.maxTensorElements}`);
  }
  const encoding = e.encoding ?? 'dense';
  if (encoding !== 'dense' && encoding !== 'bitmask') fail('E_MODEL_ENCODING', `${where} has unknown encoding ${quote(encoding)}; this reader knows dense, bitmask`);
  if (e.encoding !== undefined && fixed.version < 2) fail('E_MODEL_ENCODING', `${where} has an encoding, which needs format version 2, but the file is version ${fixed.version}`);
  const { offset, length } = e;
  if (!Number.isInteger(offset) || !Number.isInteger(length)) fail('E_MODEL_RANGE', `${where}: offset and length must be integers`);
  if (encoding === 'dense' && length !== elements * ELEMENT_BYTES[dtype]) {
    fail('E_MODEL_RANGE', `${where}: byte length ${String(length)} does not match its shape [${shape}] of ${dtype}`);
  }
  const start = offset as number;
  if (start % BLOB_ALIGN !== 0 || start < fixed.dataOffset || start + (length as number) > bytes.length) {
    fail('E_MODEL_RANGE', `${where}: bytes ${start}..${start + (length as number)} lie outside the data section or are misaligned`);
  }
  return { name: e.name, dtype, shape: shape as number[], elements, start, length: length as number, encoding };
}

/** The whole tensor table checked before anything is allocated: names unique, sizes within limits, no overlaps. */
function checkTensorTable(table: unknown[], bytes: Uint8Array, fixed: FixedHeader, limits: ReadLimits): TensorEntry[] {
  const names = new Set<string>();
  let decodedBytes = 0;
  const entries = table.map((e, i) => {
    const entry = checkTensorEntry(e, i, bytes, fixed, limits);
    if (names.has(entry.name)) fail('E_MODEL_TENSOR', `tensor ${quote(entry.name)} appears twice in the tensor table`);
    names.add(entry.name);
    decodedBytes += entry.elements * ELEMENT_BYTES[entry.dtype];
    return entry;
  });
  if (decodedBytes > limits.maxTensorBytes) {
    throw new LimitError('maxTensorBytes', `the tensors decode to ${decodedBytes} bytes, more than the limit of ${limits.maxTensorBytes}`);
  }
  const spans = [...entries].sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].start < spans[i - 1].start + spans[i - 1].length) fail('E_MODEL_RANGE', `tensors ${quote(spans[i - 1].name)} and ${quote(spans[i].name)} overlap`);
  }
  return entries;
}

/** Every tensor decoded to its dense form, each a copy of its own bytes. */
function decodeTensors(entries: TensorEntry[], bytes: Uint8Array): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const { name, dtype, shape, elements, start, length, encoding } of entries) {
    let data: Tensor['data'];
    if (encoding === 'bitmask') data = decodeBitmask(bytes.subarray(start, start + length), dtype, elements, `tensor ${quote(name)}`);
    else {
      // Not `bytes.slice`, which is a view when `bytes` is a Node Buffer.
      const raw = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + length);
      data = dtype === 'f32' ? new Float32Array(raw) : dtype === 'i8' ? new Int8Array(raw) : new Int32Array(raw);
    }
    if (dtype === 'f32' && !data.every(Number.isFinite)) fail('E_MODEL_TENSOR', 'a float tensor holds NaN or infinity');
    tensors.set(name, { dtype, shape, data } as Tensor);
  }
  return tensors;
}

/**
 * Parses and validates a model file (format version 1 or 2) and decodes every tensor to its dense form.
 * @param overrides limits that replace those of {@link DEFAULT_READ_LIMITS}.
 * @param scan runs the checksum and the checks over every weight (default: in JS).
 * @throws ModelFormatError for anything malformed (code says which check failed), LimitError if the
 * file, its header or its decoded tensors would be larger than allowed, ArgumentError if an
 * argument has the wrong type.
 */
export function readModel(bytes: Uint8Array, overrides: Partial<ReadLimits> = {}, scan: WeightScan = JS_SCAN): ValidModel {
  checkArguments('readModel', { bytes: [bytes, 'bytes'], overrides: [overrides, 'object'], scan: [scan, 'object'] });
  const limits = { ...DEFAULT_READ_LIMITS, ...overrides };
  const fixed = checkFixedHeader(bytes, limits, scan);
  const header = parseHeader(bytes, fixed);
  const tensors = decodeTensors(checkTensorTable(header.tensors, bytes, fixed, limits), bytes);
  let quant: Map<string, QuantParams> | undefined;
  if (header.quant !== undefined) {
    if (!isObject(header.quant)) fail('E_MODEL_HEADER', 'header.quant must be an object');
    quant = new Map(Object.entries(header.quant) as [string, QuantParams][]);
    const u7 = [...quant].find(([, q]) => isObject(q) && q.dtype === 'u7');
    if (u7 && fixed.version < 3) fail('E_MODEL_QUANT', `activation ${quote(u7[0])} is u7, which needs format version 3, but the file is version ${fixed.version}`);
  }
  const ops = checkOps(header.ops);
  const tflite = ops.findIndex((op) => (op as { rounding?: unknown }).rounding !== undefined);
  if (tflite >= 0 && fixed.version < 4) fail('E_MODEL_OP', `header.ops[${tflite}] has a rounding, which needs format version 4, but the file is version ${fixed.version}`);
  const model: Model = {
    name: header.name,
    precision: (header.precision ?? 'f32') as Precision,
    quant,
    input: checkInput(header.input),
    ops,
    output: header.output,
    labels: header.labels,
    tensors,
    provenance: checkProvenance(header.provenance),
  };
  return validateModel(model, scan);
}
