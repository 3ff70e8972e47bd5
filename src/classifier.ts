/**
 * The platform-independent core: a loaded model that classifies images. Platform entries
 * (src/node.ts, ...) only add how the wasm module and bundled models are found.
 * @packageDocumentation
 */
import { checkArguments, describe } from './arguments.js';
import { ArgumentError } from './errors.js';
import { isOrientation, type Orientation } from './image/exif.js';
import type { DecodeOptions, ImageLimits } from './image/limits.js';
import { offerDecoderModule } from './image/codec.js';
import { preprocessInto } from './image/preprocess.js';
import { resolveLimits, type Limits } from './limits.js';
import type { InputSpec, Provenance } from './model/format.js';
import { readModel } from './model/read.js';
import type { ValidModel } from './model/validate.js';
import { ModelMemory } from './runtime/memory.js';
import { checkFinite, probabilitiesOf, topK } from './runtime/output.js';
import { planModel } from './runtime/plan.js';
import { probeInt8Dot, relaxedDot8Bits, relaxedDotExact, startInt8DotProbe } from './runtime/probe.js';
import { run, runTimed } from './runtime/run.js';
import { ARRAY_OF, INT8_DOTS, type Int8Dot, type KernelVariant, type Plan } from './runtime/types.js';
import { instantiateKernels, type KernelExports } from './wasm/kernels.js';

/** RGBA pixels, row-major, 4 bytes per pixel (the layout of a browser `ImageData`). */
export interface Pixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /**
   * How the pixels are turned to be shown, as an EXIF orientation 1..8 (default 1: as they are).
   * `decodeImage` sets it from the file, so its result classifies as the file does; a browser's
   * `ImageData` is already upright and has none.
   */
  orientation?: Orientation;
}

/** An encoded JPEG or PNG file, or decoded RGBA pixels. */
export type ImageInput = Uint8Array | Pixels;

/** One class in a result. */
export interface Prediction {
  /** Class index in the model's output. */
  index: number;
  label: string;
  probability: number;
}

/** The result of classifying one image. */
export interface Classification {
  /** The `top` most probable classes, most probable first. */
  top: Prediction[];
  /** Probability of every class, in class order. */
  probabilities: Float32Array;
  /** The network's output before softmax. */
  logits: Float32Array;
}

/** How an image is read: options of everything that takes an image. */
export interface ImageOptions {
  /**
   * `apply` (default): a photo is classified as browsers and phone galleries show it, turned by its
   * EXIF orientation (JPEG APP1 "Exif", PNG eXIf; {@link Pixels.orientation} for pixels) before the
   * resize and centre crop. `ignore`: as its pixels are stored, what torchvision and PIL's
   * `Image.open` (without `ImageOps.exif_transpose`) do, for pipelines that must match them.
   */
  orientation?: 'apply' | 'ignore';
}

/** Options of {@link Classifier.classify}. */
export interface ClassifyOptions extends ImageOptions {
  /** How many classes to return in `top` (default 5). */
  top?: number;
}

/**
 * Turns JPEG/PNG bytes into RGBA pixels, enforcing `limits`; `decodeImage` of the main entry is one.
 * A classifier asks for `minShortSide` = its input's `resizeShorter`: a decoder may return a smaller
 * image than the file's (a JPEG at reduced scale) as long as its shorter side is at least that.
 */
export type Decoder = (bytes: Uint8Array, limits: Partial<ImageLimits>, options: DecodeOptions) => Pixels;

/** Options for loading a model. */
export interface LoadOptions {
  /** Image decoder for {@link Classifier.classify} on encoded bytes (the platform entries set it). */
  decode?: Decoder;
  /** Overrides of {@link DEFAULT_LIMITS} for the model file, the network and every image this classifier decodes. */
  limits?: Partial<Limits>;
  /** Kernel variant; 'ref' runs the scalar reference kernels (slow; for verification). */
  kernels?: KernelVariant;
  /**
   * The int8 convs' dot product: `auto` (default) the faster here (src/runtime/probe.ts), or one
   * forced: `dot16`, `relaxed` (the relaxed build only), `relaxed-u8` or `relaxed-s8` (only where the
   * engine's relaxed dot reads 8 bits that way). Every choice computes the same results.
   */
  int8Dot?: Int8Dot | 'auto';
}

/** A model laid out in its own WebAssembly instance. Create with a platform entry's `loadClassifier`. */
export class Classifier {
  /** The model as read from its file. */
  readonly model: ValidModel;
  private plan: Plan | undefined;
  private readonly limits: Limits;

  private readonly decode: Decoder | undefined;

  private constructor(model: ValidModel, plan: Plan, limits: Limits, decode: Decoder | undefined) {
    this.model = model;
    this.plan = plan;
    this.limits = limits;
    this.decode = decode;
  }

  /**
   * Reads and validates `modelBytes`, instantiates `wasm` and plans the network in its memory.
   * @throws ModelFormatError if the file is invalid, LimitError if it or its network exceeds a limit,
   *   ArgumentError if an argument has the wrong type.
   */
  static async create(modelBytes: Uint8Array, wasm: WebAssembly.Module, options: LoadOptions = {}): Promise<Classifier> {
    checkArguments('Classifier.create', { modelBytes: [modelBytes, 'bytes'], wasm: [wasm, 'module'], options: [options, 'object'] });
    const memory = new ModelMemory(await instance(wasm));
    // The file's checks run in the instance that will hold the model, in wasm.
    return Classifier.laidOut(readModel(modelBytes, resolveLimits(options.limits), memory.scan), memory, options);
  }

  /** Plans a validated model (as converters, the quantizer and training make them). */
  static async fromModel(model: ValidModel, wasm: WebAssembly.Module, options: LoadOptions = {}): Promise<Classifier> {
    checkArguments('Classifier.fromModel', { model: [model, 'model'], wasm: [wasm, 'module'], options: [options, 'object'] });
    return Classifier.laidOut(model, new ModelMemory(await instance(wasm)), options);
  }

  private static laidOut(model: ValidModel, memory: ModelMemory, options: LoadOptions): Classifier {
    const limits = resolveLimits(options.limits);
    const plan = planModel(model, memory, { limits, variant: options.kernels, int8Dot: int8Dot(memory.kernels, options.int8Dot), warm: true });
    return new Classifier(model, plan, limits, options.decode);
  }

  /** Model name, e.g. `squeezenet1.1-f32`. */
  get name(): string {
    return this.model.name;
  }
  /** How images are fed to the network. */
  get input(): InputSpec {
    return this.model.input;
  }
  /** Class labels in output order. */
  get labels(): readonly string[] {
    return this.model.labels;
  }
  /** Where the weights come from and their license. */
  get provenance(): Provenance {
    return this.model.provenance;
  }
  /** The plan: steps, memory layout (for benchmarks and tests). */
  get planned(): Plan {
    if (!this.plan) throw new ArgumentError('E_DISPOSED', 'this classifier was disposed; load the model again');
    return this.plan;
  }

  /**
   * Classifies one image (JPEG/PNG bytes or RGBA pixels).
   * @throws ImageError / LimitError for bad or oversized images, ArgumentError for bad arguments.
   */
  async classify(image: ImageInput, options: ClassifyOptions = {}): Promise<Classification> {
    checkArguments('classify', { options: [options, 'object'] });
    return this.classifySync(image, options);
  }

  /**
   * {@link classify} without the promise. Each call runs to completion before another can start,
   * so overlapping calls never see each other's activations.
   */
  classifySync(image: ImageInput, options: ClassifyOptions = {}): Classification {
    checkArguments('classifySync', { options: [options, 'object'] });
    const top = options.top ?? 5;
    if (!Number.isInteger(top) || top < 1) throw new ArgumentError('E_ARGUMENT', `top must be a positive integer, got ${describe(top)}`);
    this.setInput(image, options);
    return this.result(run(this.planned), top);
  }

  /**
   * Writes the preprocessed image into the network's input slot (quantized for int8 models).
   * With {@link runTimed} it is one of two steps: do not await between them while other calls
   * may use this classifier ({@link classify} does both in one go).
   */
  setInput(image: ImageInput, options: ImageOptions = {}): void {
    checkArguments('setInput', { options: [options, 'object'] });
    // Before decoding: a disposed classifier refuses without spending the decode.
    const plan = this.planned;
    const orientation = options.orientation ?? 'apply';
    if (orientation !== 'apply' && orientation !== 'ignore') {
      throw new ArgumentError('E_ARGUMENT', `orientation must be "apply" or "ignore", got ${describe(orientation)}`);
    }
    let pixels: Pixels;
    if (image instanceof Uint8Array) {
      if (!this.decode) throw new ArgumentError('E_NO_DECODER', 'this classifier has no image decoder: pass RGBA pixels, or load it through the main squeezewasm entry');
      pixels = this.decode(image, this.limits, { minShortSide: this.model.input.resizeShorter });
    } else {
      pixels = image;
    }
    const px = checkPixels(pixels);
    const { ptr, h, w } = plan.input;
    const memory = plan.kernels.memory.buffer;
    const n = h * w * 3;
    // The planner gives the input f32, u8 or i16, never i32 (only a softmax reads that).
    const slot = new ARRAY_OF[plan.input.dtype](memory, ptr, n) as Float32Array | Uint8Array | Int16Array;
    preprocessInto(px.data, px.width, px.height, this.model.input, slot, plan.inputQuant, orientation === 'apply' ? px.orientation : 1);
  }

  /**
   * Runs the network on the input slot with per-step timing; for benchmarks.
   * @param now a clock in milliseconds, e.g. `performance.now`.
   */
  runTimed(now: () => number): { classification: Classification; ms: Float64Array } {
    checkArguments('runTimed', { now: [now, 'function'] });
    const { output, ms } = runTimed(this.planned, now);
    return { classification: this.result(output, 5), ms };
  }

  /**
   * Frees the model's wasm instance and memory; afterwards every method
   * that runs the network throws an ArgumentError `E_DISPOSED`. {@link model} stays, for its name and labels.
   */
  dispose(): void {
    this.plan = undefined;
  }

  private result(logits: Float32Array, top: number): Classification {
    checkFinite(logits, this.model.name);
    const probabilities = probabilitiesOf(this.planned, logits);
    return {
      top: topK(probabilities, top).map((index) => ({ index, label: this.model.labels[index], probability: probabilities[index] })),
      probabilities,
      logits,
    };
  }
}

/** A fresh kernels instance for one model; its module also serves the image decoders if none does yet. */
async function instance(wasm: WebAssembly.Module): Promise<KernelExports> {
  offerDecoderModule(wasm);
  const kernels = await instantiateKernels(wasm);
  startInt8DotProbe(kernels, wasm);
  return kernels;
}

/** The int8 dot product `choice` asks for in `kernels`' build. */
function int8Dot(kernels: KernelExports, choice: LoadOptions['int8Dot'] = 'auto'): Int8Dot {
  if (choice === 'auto') return probeInt8Dot(kernels);
  if (!INT8_DOTS.includes(choice as Int8Dot)) throw new ArgumentError('E_ARGUMENT', `int8Dot must be "auto" or one of ${INT8_DOTS.map((d) => `"${d}"`).join(', ')}, got ${describe(choice)}`);
  if (choice !== 'dot16' && !relaxedDotExact(kernels)) {
    throw new ArgumentError('E_ARGUMENT', `int8Dot "${choice}" needs the relaxed-SIMD kernels (squeezewasm-relaxed.wasm) on an engine with the final relaxed SIMD (Node 22+, Chrome 114+)`);
  }
  if (choice !== 'relaxed-u8' && choice !== 'relaxed-s8') return choice;
  const bits = relaxedDot8Bits(kernels);
  if (choice !== `relaxed-${bits}`) {
    throw new ArgumentError('E_ARGUMENT', `int8Dot "${choice}" needs an engine whose relaxed dot reads 8-bit operands ${choice === 'relaxed-u8' ? 'unsigned (x86 vpdpbusd, AVX-VNNI)' : 'signed (Arm sdot)'}; this one ${bits ? `reads them ${bits === 'u8' ? 'unsigned' : 'signed'}` : 'does not read them exactly'}`);
  }
  return choice;
}

function checkPixels(p: Pixels): { data: Uint8Array; width: number; height: number; orientation: Orientation } {
  if (typeof p !== 'object' || p === null || !(p.data instanceof Uint8Array || p.data instanceof Uint8ClampedArray)) {
    throw new ArgumentError('E_ARGUMENT', 'image must be JPEG/PNG bytes (Uint8Array) or { data, width, height } RGBA pixels');
  }
  const { width, height } = p;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || p.data.length !== width * height * 4) {
    throw new ArgumentError('E_ARGUMENT', `RGBA pixels must be width x height x 4 bytes: got ${p.data.length} bytes for ${describe(width)}x${describe(height)}`);
  }
  // Absent is upright; null is not (an explicit value that is not an orientation is refused).
  const orientation = p.orientation === undefined ? 1 : p.orientation;
  if (!isOrientation(orientation)) throw new ArgumentError('E_ARGUMENT', `pixels' orientation must be an EXIF orientation, 1 to 8, got ${describe(p.orientation)}`);
  return { data: new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.length), width, height, orientation };
}
