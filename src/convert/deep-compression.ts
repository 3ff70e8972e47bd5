/**
 * Deep Compression -> squeezewasm model conversion. A Deep Compression release (Han, Mao, Dally
 * 2016) is a Caffe `deploy.prototxt` and a `.net` file holding each convolution's pruned,
 * weight-shared parameters: {@link convertDeepCompression} walks the prototxt to learn every
 * layer's shape, checks the `.net` layout against it before allocating anything, and decodes the
 * weights to float32.
 *
 * The `.net` layout (little-endian), for the N convolution layers in prototxt order: N x u32
 * stored-weight counts `nz`, then per layer a 256 x f32 codebook, `num_output` x f32 biases,
 * `nz` x u8 codebook indices and `ceil(nz / 2)` bytes of 4-bit gaps, low nibble first. Each gap g
 * moves g + 1 positions through the flattened [out, in, kh, kw] weights, starting before index 0;
 * longer runs of zeros are bridged by filler entries whose code selects the codebook's zero.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { ConvertError, LimitError } from '../errors.js';
import { quote } from '../text.js';
import type { ActShape, Model, Op, Pads, Tensor } from '../model/format.js';
import { fuseRelus, windowOutputSize } from '../model/graph.js';
import { MAX_DIM } from '../model/validate.js';
import { DEFAULT_READ_LIMITS } from '../model/read.js';
import type { ValidModel } from '../model/validate.js';
import { checkConverted, checkMeta, type ConvertMeta } from './common.js';
import { parsePrototxt, PrototxtMessage, type PrototxtScalar } from './prototxt.js';

/** Codebook entries per layer: the codes are bytes. */
const CODEBOOK_SIZE = 256;
/** The name of the softmax the converter appends when the prototxt ends without one, as Caffe's classifiers call it. */
const PROB = 'prob';

/** Typed access to one message's fields; refuses fields it was not told about, naming where. */
class Fields {
  constructor(
    readonly msg: PrototxtMessage,
    readonly where: string,
    known: readonly string[],
  ) {
    const unknown = msg.fields.find((f) => !known.includes(f.name));
    if (unknown) this.fail('E_CONVERT_ATTR', `field ${quote(unknown.name)} (line ${unknown.line}) is not supported`);
  }

  fail(code: string, message: string): never {
    throw new ConvertError(code, `${this.where}: ${message}`);
  }

  private scalars(name: string): PrototxtScalar[] {
    return this.msg.all(name).map((f) => (f.value instanceof PrototxtMessage ? this.fail('E_CONVERT_PROTOTXT', `"${name}" must be a value, not a message`) : f.value));
  }

  private single(name: string): PrototxtScalar | undefined {
    const v = this.scalars(name);
    if (v.length > 1) this.fail('E_CONVERT_PROTOTXT', `"${name}" is given ${v.length} times`);
    return v[0];
  }

  /** Every value of a repeated non-negative integer field. */
  ints(name: string): number[] {
    return this.scalars(name).map((v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : this.fail('E_CONVERT_ATTR', `${name} must be a non-negative integer, got ${quote(v)}`)));
  }

  int(name: string): number | undefined;
  int(name: string, fallback: number): number;
  int(name: string, fallback?: number): number | undefined {
    const v = this.ints(name);
    if (v.length > 1) this.fail('E_CONVERT_PROTOTXT', `"${name}" is given ${v.length} times`);
    return v[0] ?? fallback;
  }

  number(name: string, fallback: number): number {
    const v = this.single(name) ?? fallback;
    return typeof v === 'number' ? v : this.fail('E_CONVERT_ATTR', `${name} must be a number, got ${quote(v)}`);
  }

  /** A string, enum or bool field. */
  word(name: string, fallback: string): string {
    return String(this.single(name) ?? fallback);
  }

  strings(name: string): string[] {
    return this.scalars(name).map(String);
  }

  /** A sub-message that may appear at most once; an absent one reads as empty. */
  sub(name: string, known: readonly string[]): Fields {
    const subs = this.msg.all(name);
    if (subs.length > 1) this.fail('E_CONVERT_PROTOTXT', `"${name}" is given ${subs.length} times`);
    const value = subs[0]?.value ?? new PrototxtMessage();
    if (!(value instanceof PrototxtMessage)) this.fail('E_CONVERT_PROTOTXT', `"${name}" must be a message { ... }`);
    return new Fields(value, `${this.where}, ${name}`, known);
  }

  /**
   * A 2-D window parameter as Caffe reads it: `kernel_size`, `stride` or `pad` (one value for both
   * axes or, when `repeated`, [h, w]), or its `_h` and `_w` pair (`kernel_h`, `stride_h`, ...).
   */
  pair(name: 'kernel_size' | 'stride' | 'pad', fallback: number | undefined, repeated: boolean): [number, number] {
    const both = repeated ? this.ints(name) : [this.int(name)].filter((v): v is number => v !== undefined);
    const axis = name === 'kernel_size' ? 'kernel' : name;
    const h = this.int(`${axis}_h`);
    const w = this.int(`${axis}_w`);
    if (h !== undefined || w !== undefined) {
      if (both.length > 0 || h === undefined || w === undefined) this.fail('E_CONVERT_ATTR', `give either ${name} or both ${axis}_h and ${axis}_w`);
      return [h, w];
    }
    if (both.length === 0) return fallback === undefined ? this.fail('E_CONVERT_ATTR', `${name} is required`) : [fallback, fallback];
    if (both.length > 2) this.fail('E_CONVERT_ATTR', `${name} has ${both.length} values; 2-D layers take one or two`);
    return [both[0], both[both.length - 1]];
  }
}

/** An activation as the converter tracks it: its name in the model being built, and its shape. */
interface Act {
  name: string;
  shape: ActShape;
}

/** A convolution whose parameters the `.net` file holds, in file order. */
interface ConvLayer {
  layer: string;
  weight: string;
  bias: string;
  shape: [number, number, number, number];
}

const LAYER_FIELDS = ['name', 'type', 'bottom', 'top', 'param', 'convolution_param', 'pooling_param', 'relu_param', 'concat_param', 'dropout_param', 'softmax_param', 'input_param'];
const FILLER_FIELDS = ['type', 'value', 'min', 'max', 'mean', 'std', 'sparse', 'variance_norm'];
const SUPPORTED_LAYERS = ['Input', 'Convolution', 'ReLU', 'Pooling', 'Concat', 'Dropout', 'Softmax'];

/** The graph input: the net's `input` with `input_dim` or `input_shape`, or an Input layer. */
function graphInput(net: Fields, layers: Fields[]): { name: string; dims: number[] } {
  const names = net.strings('input');
  const inputLayers = layers.filter((l) => l.word('type', '') === 'Input');
  if (names.length + inputLayers.length !== 1) {
    net.fail('E_CONVERT_INPUT', `the network has ${names.length + inputLayers.length} inputs; squeezewasm needs exactly one image input`);
  }
  if (names.length === 1) {
    const shapes = net.msg.all('input_shape').length;
    if (shapes > 1) net.fail('E_CONVERT_INPUT', `input_shape is given ${shapes} times for one input`);
    return { name: names[0], dims: shapes === 1 ? net.sub('input_shape', ['dim']).ints('dim') : net.ints('input_dim') };
  }
  const layer = inputLayers[0];
  const tops = layer.strings('top');
  if (tops.length !== 1) layer.fail('E_CONVERT_INPUT', `an Input layer needs one top, has ${tops.length}`);
  return { name: tops[0], dims: layer.sub('input_param', ['shape']).sub('shape', ['dim']).ints('dim') };
}

/** Walks the prototxt's layers, building ops and collecting the convolutions the `.net` file parameterizes. */
class NetBuilder {
  readonly ops: Op[] = [];
  readonly convs: ConvLayer[] = [];
  /** Caffe blobs by name; in-place layers and Dropout rebind a blob to a new activation. */
  readonly blobs = new Map<string, Act>();
  private weightElements = 0;

  /** The blob a layer reads at `bottom[i]`; `names` are its bottoms, when the caller has them already. */
  bottom(l: Fields, i: number, names = l.strings('bottom')): Act {
    const name = names[i];
    const act = name === undefined ? undefined : this.blobs.get(name);
    if (!act) l.fail('E_CONVERT_GRAPH', name === undefined ? `has no bottom ${i}` : `reads blob ${quote(name)}, which no earlier layer produces`);
    return act;
  }

  /** Binds the layer's single top blob to `act`. */
  top(l: Fields, act: Act): void {
    const tops = l.strings('top');
    if (tops.length !== 1) l.fail('E_CONVERT_GRAPH', `has ${tops.length} tops; squeezewasm converts layers with one`);
    this.blobs.set(tops[0], act);
  }

  emit(l: Fields, op: Op, shape: ActShape): void {
    this.ops.push(op);
    this.top(l, { name: op.output, shape });
  }

  window(l: Fields, x: ActShape, c: number, kernel: [number, number], stride: [number, number], pad: [number, number], ceil: boolean): ActShape {
    const h = windowOutputSize(x.h, kernel[0], stride[0], pad[0], pad[0], ceil);
    const w = windowOutputSize(x.w, kernel[1], stride[1], pad[1], pad[1], ceil);
    if (h < 1 || w < 1) l.fail('E_CONVERT_GRAPH', `a ${kernel[0]}x${kernel[1]} window does not fit its ${x.h}x${x.w} input`);
    return { c, h, w };
  }

  convolution(l: Fields, name: string, output: string): void {
    const p = l.sub('convolution_param', [
      'num_output', 'bias_term', 'kernel_size', 'kernel_h', 'kernel_w', 'stride', 'stride_h', 'stride_w', 'pad', 'pad_h', 'pad_w',
      'group', 'dilation', 'weight_filler', 'bias_filler', 'engine',
    ]);
    for (const filler of ['weight_filler', 'bias_filler']) p.sub(filler, FILLER_FIELDS);
    const x = this.bottom(l, 0).shape;
    const oc = p.int('num_output') ?? p.fail('E_CONVERT_ATTR', 'num_output is required');
    if (oc < 1 || oc > MAX_DIM) p.fail('E_CONVERT_ATTR', `num_output ${oc} is out of range 1..${MAX_DIM}`);
    if (p.word('bias_term', 'true') !== 'true') p.fail('E_CONVERT_ATTR', 'bias_term false is not supported; Deep Compression files store a bias for every convolution');
    if (p.int('group', 1) !== 1) p.fail('E_CONVERT_ATTR', `group ${p.int('group')} is not supported; squeezewasm converts ordinary convolutions (group 1) only`);
    if (!p.ints('dilation').every((d) => d === 1)) p.fail('E_CONVERT_ATTR', `dilation ${p.ints('dilation')} is not supported; only dilation 1 is`);
    const kernel = p.pair('kernel_size', undefined, true);
    const stride = p.pair('stride', 1, true);
    const pad = p.pair('pad', 0, true);
    if (!kernel.every((k) => k >= 1) || !stride.every((s) => s >= 1)) p.fail('E_CONVERT_ATTR', 'kernel and stride must be positive');
    const shape: ConvLayer['shape'] = [oc, x.c, kernel[0], kernel[1]];
    const elements = shape.reduce((a, b) => a * b, 1);
    const { maxTensorElements, maxFileBytes } = DEFAULT_READ_LIMITS;
    if (elements > maxTensorElements) throw new LimitError('maxTensorElements', `${l.where}: its weight [${shape}] has ${elements} elements, more than the limit of ${maxTensorElements}`);
    this.weightElements += elements;
    // Checked here, before the .net file is decoded: the weights of every layer are allocated at once.
    if (this.weightElements * 4 > maxFileBytes) throw new LimitError('maxFileBytes', `${l.where}: the network's float weights would exceed the ${maxFileBytes}-byte limit of a model file`);
    const conv = { layer: name, weight: `${name}_W`, bias: `${name}_b`, shape };
    this.convs.push(conv);
    const pads: Pads = [pad[0], pad[1], pad[0], pad[1]];
    const op: Op = { op: 'conv', input: this.bottom(l, 0).name, output, weight: conv.weight, bias: conv.bias, kernel, stride, pads, relu: false };
    this.emit(l, op, this.window(l, x, oc, kernel, stride, pad, false));
  }

  pooling(l: Fields, output: string): void {
    const p = l.sub('pooling_param', ['pool', 'kernel_size', 'kernel_h', 'kernel_w', 'stride', 'stride_h', 'stride_w', 'pad', 'pad_h', 'pad_w', 'global_pooling', 'round_mode', 'engine']);
    const x = this.bottom(l, 0);
    const pool = p.word('pool', 'MAX');
    if (pool !== 'MAX' && pool !== 'AVE') p.fail('E_CONVERT_ATTR', `pool ${quote(pool)} is not supported; squeezewasm converts MAX and AVE pooling`);
    if (p.word('global_pooling', 'false') === 'true') {
      if (['kernel_size', 'kernel_h', 'kernel_w', 'stride', 'stride_h', 'stride_w', 'pad', 'pad_h', 'pad_w'].some((f) => p.msg.all(f).length > 0)) {
        p.fail('E_CONVERT_ATTR', 'global pooling takes no kernel, stride or pad');
      }
      if (pool !== 'AVE') p.fail('E_CONVERT_ATTR', 'global MAX pooling is not supported; squeezewasm has global average pooling');
      this.emit(l, { op: 'globalavgpool', input: x.name, output }, { c: x.shape.c, h: 1, w: 1 });
      return;
    }
    const kernel = p.pair('kernel_size', undefined, false);
    const stride = p.pair('stride', 1, false);
    const pad = p.pair('pad', 0, false);
    const round = p.word('round_mode', 'CEIL');
    if (round !== 'CEIL' && round !== 'FLOOR') p.fail('E_CONVERT_ATTR', `round_mode ${quote(round)} is not CEIL or FLOOR`);
    if (!kernel.every((k) => k >= 1) || !stride.every((s) => s >= 1)) p.fail('E_CONVERT_ATTR', 'kernel and stride must be positive');
    if (pad[0] >= kernel[0] || pad[1] >= kernel[1]) p.fail('E_CONVERT_ATTR', `pad ${pad} must be smaller than the kernel ${kernel}`);
    const ceil = round === 'CEIL';
    const shape = this.window(l, x.shape, x.shape.c, kernel, stride, pad, ceil);
    // Caffe drops a last window that starts in the padding only when there is padding; squeezewasm
    // (as PyTorch and onnxruntime) always does. Refuse the rare geometry where the two differ.
    const caffe = (size: number, i: 0 | 1): number => {
      const span = (size + 2 * pad[i] - kernel[i]) / stride[i];
      const out = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
      return pad[i] > 0 && (out - 1) * stride[i] >= size + pad[i] ? out - 1 : out;
    };
    if (caffe(x.shape.h, 0) !== shape.h || caffe(x.shape.w, 1) !== shape.w) {
      p.fail('E_CONVERT_ATTR', `Caffe would place a window entirely outside the ${x.shape.h}x${x.shape.w} input (kernel ${kernel}, stride ${stride}); squeezewasm does not`);
    }
    const base = { input: x.name, output, kernel, stride, pads: [pad[0], pad[1], pad[0], pad[1]] as Pads, ceil };
    // Caffe divides an average by the window clipped to the padded input.
    this.emit(l, pool === 'MAX' ? { op: 'maxpool', ...base } : { op: 'avgpool', ...base, countIncludePad: true }, shape);
  }

  layer(l: Fields, type: string, name: string, output: string): void {
    switch (type) {
      case 'Input':
        return;
      case 'Convolution':
        return this.convolution(l, name, output);
      case 'Pooling':
        return this.pooling(l, output);
      case 'ReLU': {
        if (l.sub('relu_param', ['negative_slope', 'engine']).number('negative_slope', 0) !== 0) {
          l.fail('E_CONVERT_ATTR', 'a leaky ReLU (negative_slope other than 0) is not supported');
        }
        const x = this.bottom(l, 0);
        return this.emit(l, { op: 'relu', input: x.name, output }, x.shape);
      }
      case 'Concat': {
        const p = l.sub('concat_param', ['axis', 'concat_dim']);
        const axis = p.number('axis', p.number('concat_dim', 1));
        if (axis !== 1 && axis !== -3) p.fail('E_CONVERT_ATTR', `concatenation along axis ${axis} is not supported; squeezewasm concatenates channels (axis 1) only`);
        // The names are looked up once: each lookup walks all of the layer's fields.
        const names = l.strings('bottom');
        const xs = names.map((_, i) => this.bottom(l, i, names));
        if (xs.length === 0) l.fail('E_CONVERT_GRAPH', 'has no bottoms');
        const { h, w } = xs[0].shape;
        if (xs.some((x) => x.shape.h !== h || x.shape.w !== w)) l.fail('E_CONVERT_GRAPH', 'bottoms differ in height or width');
        return this.emit(l, { op: 'concat', inputs: xs.map((x) => x.name), output }, { c: xs.reduce((sum, x) => sum + x.shape.c, 0), h, w });
      }
      case 'Dropout':
        l.sub('dropout_param', ['dropout_ratio', 'scale_train']);
        return this.top(l, this.bottom(l, 0));
      case 'Softmax': {
        const axis = l.sub('softmax_param', ['axis', 'engine']).number('axis', 1);
        const x = this.bottom(l, 0);
        if ((axis !== 1 && axis !== -3) || x.shape.h !== 1 || x.shape.w !== 1) {
          l.fail('E_CONVERT_ATTR', `softmax along axis ${axis} of [${x.shape.c}, ${x.shape.h}, ${x.shape.w}] is not supported; squeezewasm supports softmax over the classes of a [C, 1, 1] output`);
        }
        return this.emit(l, { op: 'softmax', input: x.name, output }, x.shape);
      }
      default:
        l.fail('E_CONVERT_OP', `unsupported Caffe layer type ${quote(type)}; squeezewasm converts ${SUPPORTED_LAYERS.join(', ')}`);
    }
  }
}

/** Refuses the `.net` file's layout unless it fits the prototxt's convolutions exactly; returns each layer's stored-weight count. */
function checkLayout(bytes: Uint8Array, convs: ConvLayer[]): number[] {
  const n = convs.length;
  const mismatch = `the file is corrupt, or the prototxt (${n} convolution layers) is not this file's network`;
  const truncated = (at: number, what: string): never => {
    throw new ConvertError('E_CONVERT_TRUNCATED', `the Deep Compression file is ${bytes.length} bytes but ${what} ends at byte ${at}: ${mismatch.replace('corrupt', 'truncated')}`);
  };
  if (bytes.length < 4 * n) truncated(4 * n, `the table of ${n} weight counts`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = 4 * n;
  const counts = convs.map((c, i) => {
    const nz = view.getUint32(4 * i, true);
    const size = c.shape.reduce((a, b) => a * b, 1);
    if (nz > size) throw new ConvertError('E_CONVERT_SPARSE', `layer ${quote(c.layer)} stores ${nz} weights but has only ${size} ([${c.shape}]): ${mismatch}`);
    const sections: [string, number][] = [['codebook', 4 * CODEBOOK_SIZE], ['biases', 4 * c.shape[0]], ['codes', nz], ['gaps', Math.ceil(nz / 2)]];
    for (const [what, length] of sections) {
      end += length;
      if (end > bytes.length) truncated(end, `layer ${quote(c.layer)}'s ${what}`);
    }
    return nz;
  });
  if (end < bytes.length) {
    throw new ConvertError('E_CONVERT_LAYERS', `${bytes.length - end} bytes are left after the ${n} convolution layers of the prototxt: the file holds more layers than the prototxt describes, or it is corrupt`);
  }
  return counts;
}

/** Decodes every convolution's weights and biases into `tensors`. */
function decodeWeights(bytes: Uint8Array, convs: ConvLayer[], tensors: Map<string, Tensor>): void {
  const counts = checkLayout(bytes, convs);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 4 * convs.length;
  const floats = (count: number): Float32Array => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(at + 4 * i, true);
    at += 4 * count;
    return out;
  };
  convs.forEach((c, l) => {
    const nz = counts[l];
    const codebook = floats(CODEBOOK_SIZE);
    const bias = floats(c.shape[0]);
    const codes = at;
    const gaps = at + nz;
    at = gaps + Math.ceil(nz / 2);
    const weight = new Float32Array(c.shape.reduce((a, b) => a * b, 1));
    let position = -1;
    for (let i = 0; i < nz; i++) {
      position += ((bytes[gaps + (i >> 1)] >> ((i & 1) * 4)) & 15) + 1;
      if (position >= weight.length) {
        throw new ConvertError('E_CONVERT_SPARSE', `layer ${quote(c.layer)}: stored weight ${i} of ${nz} lands at position ${position}, past the layer's ${weight.length} weights; the file is corrupt`);
      }
      weight[position] = codebook[bytes[codes + i]];
    }
    if (!weight.every(Number.isFinite) || !bias.every(Number.isFinite)) {
      throw new ConvertError('E_CONVERT_TENSOR', `layer ${quote(c.layer)}: its codebook or biases hold NaN or infinite values; the file is corrupt`);
    }
    tensors.set(c.weight, { dtype: 'f32', shape: [...c.shape], data: weight });
    tensors.set(c.bias, { dtype: 'f32', shape: [c.shape[0]], data: bias });
  });
}

/**
 * Converts a Deep Compression release (its `.net` file and Caffe `deploy.prototxt`) into a
 * squeezewasm {@link Model}.
 *
 * The prototxt may use Convolution, ReLU (fused into the convolution before it), Pooling (MAX or
 * AVE, Caffe's ceil rounding, global average), Concat along channels, Dropout (removed) and Softmax
 * (last layer only). Every op's output is named `<layer name>_out` and each convolution's
 * parameters `<layer name>_W` and `<layer name>_b`, as Caffe's ONNX exporters name them. When the
 * prototxt ends without a Softmax, as the Deep Compression release does, one named `prob` is
 * appended: the model then states that its output is class probabilities, as Caffe classifiers'
 * usual deploy files do (the classifier reports probabilities either way).
 * @param net the `.net` file's bytes.
 * @param prototxt the `deploy.prototxt` text.
 * @param meta name, preprocessing, labels and provenance, which the release does not record.
 * @throws ConvertError naming the layer and the problem for anything unsupported, a malformed
 *   prototxt, or a `.net` file that is truncated, corrupt or of another network; LimitError if
 *   the network would be larger than a model file may be; ArgumentError if an argument has the wrong type.
 */
export function convertDeepCompression(net: Uint8Array, prototxt: string, meta: ConvertMeta): ValidModel {
  checkArguments('convertDeepCompression', { net: [net, 'bytes'], prototxt: [prototxt, 'string'] });
  checkMeta('convertDeepCompression', meta);
  const root = parsePrototxt(prototxt);
  if (root.all('layers').length > 0) {
    throw new ConvertError('E_CONVERT_PROTOTXT', 'the prototxt uses the old "layers" format (Caffe V1); upgrade it with Caffe\'s upgrade_net_proto_text');
  }
  const netFields = new Fields(root, 'prototxt', ['name', 'input', 'input_dim', 'input_shape', 'layer', 'force_backward']);
  const layerFields = root.all('layer').map((f, i) => {
    if (!(f.value instanceof PrototxtMessage)) throw new ConvertError('E_CONVERT_PROTOTXT', `prototxt line ${f.line}: "layer" must be a message { ... }`);
    const name = f.value.all('name')[0]?.value;
    return new Fields(f.value, `Caffe layer ${typeof name === 'string' ? quote(name) : `#${i} (unnamed)`}`, LAYER_FIELDS);
  });
  const input = graphInput(netFields, layerFields);
  if (input.dims.length !== 4 || input.dims[1] !== 3 || input.dims[0] < 1) {
    netFields.fail('E_CONVERT_INPUT', `input ${quote(input.name)} has shape [${input.dims}]; squeezewasm needs an image [N, 3, H, W]`);
  }
  const height = meta.input.height ?? input.dims[2];
  const width = meta.input.width ?? input.dims[3];
  if (!(height >= 1 && height <= MAX_DIM && width >= 1 && width <= MAX_DIM)) {
    netFields.fail('E_CONVERT_INPUT', `input size ${height}x${width} is out of range 1..${MAX_DIM}`);
  }

  const b = new NetBuilder();
  b.blobs.set(input.name, { name: input.name, shape: { c: 3, h: height, w: width } });
  const names = new Set<string>();
  layerFields.forEach((l, i) => {
    const name = l.word('name', '');
    const type = l.word('type', '');
    if (!name) l.fail('E_CONVERT_PROTOTXT', 'has no name');
    if (names.has(name)) l.fail('E_CONVERT_GRAPH', 'the layer name is used twice');
    names.add(name);
    const last = i === layerFields.length - 1;
    // The network's output, a softmax, keeps its blob name, as the ONNX converter keeps the graph output's.
    b.layer(l, type, name, last && type === 'Softmax' ? l.strings('top')[0] : `${name}_out`);
  });
  if (b.ops.length === 0) netFields.fail('E_CONVERT_GRAPH', 'the network has no layers');
  const scores = b.ops[b.ops.length - 1];
  if (scores.op !== 'softmax') b.ops.push({ op: 'softmax', input: scores.output, output: PROB });
  const output = b.ops[b.ops.length - 1].output;

  const tensors = new Map<string, Tensor>();
  decodeWeights(net, b.convs, tensors);
  const { channelOrder, resizeShorter, divisor, mean, std } = meta.input;
  const model: Model = {
    name: meta.name,
    precision: 'f32',
    input: { name: input.name, height, width, channelOrder, resizeShorter, divisor, mean: [...mean], std: [...std] },
    ops: fuseRelus(b.ops, output),
    output,
    labels: meta.labels,
    tensors,
    provenance: meta.provenance,
  };
  return checkConverted(model);
}
