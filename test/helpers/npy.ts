/**
 * Minimal reader for the NumPy .npy files of the reference input/output pairs: little-endian
 * float32 or uint8 (pixels) in C order only, which is all the references use.
 * @packageDocumentation
 */

/** Reads a uint8, C-order .npy file (image pixels, [H, W, 3]); throws on anything else. */
export function readNpyU8(bytes: Uint8Array): { shape: number[]; data: Uint8Array } {
  const { shape, offset } = npyHeader(bytes, '|u1');
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== count) throw new Error(`readNpyU8: shape (${shape.join(', ')}) needs ${count} data bytes, file has ${bytes.length - offset}`);
  return { shape, data: bytes.slice(offset) };
}

/** Reads a little-endian float32, C-order .npy file; throws on anything else. */
export function readNpy(bytes: Uint8Array): { shape: number[]; data: Float32Array } {
  const { shape, offset } = npyHeader(bytes, '<f4');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== count * 4) {
    throw new Error(`readNpy: shape (${shape.join(', ')}) needs ${count * 4} data bytes, file has ${bytes.length - offset}`);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + i * 4, true);
  return { shape, data };
}

/** The header of a .npy file of element type `dtype` (C order): the shape and where the data starts. */
function npyHeader(bytes: Uint8Array, dtype: string): { shape: number[]; offset: number } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((v, i) => bytes[i] !== v)) throw new Error('readNpy: not a .npy file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`readNpy: unsupported .npy version ${major}`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== dtype) throw new Error(`readNpy: only '${dtype}' (${dtype === '<f4' ? 'little-endian float32' : 'uint8'}) is read here, got ${descr}`);
  if (fortran !== 'False') throw new Error('readNpy: only C-order arrays are supported (fortran_order must be False)');
  if (shapeText === undefined) throw new Error('readNpy: header has no shape');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  return { shape, offset: start + headerLength };
}
