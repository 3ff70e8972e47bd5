/**
 * A TensorFlow Lite graph under construction: tensors, constant buffers, operator codes and
 * operators, serialized as a .tflite flatbuffer (schema v3) by {@link TfliteGraph.toFlatbuffer}.
 * It knows the file format, not networks: bench/peers/tflite-writer.ts translates a squeezewasm
 * model into calls on it.
 * @packageDocumentation
 */
import { bytes, finish, refs, scalar, string, table, vector, type FbObject, type FbTable } from './flatbuffer-writer.js';
import {
  BUFFER_DATA_ALIGN, BuiltinOperator, BuiltinOptions, Fields, PLACEHOLDER_FOR_GREATER_OP_CODES, TFLITE_FILE_IDENTIFIER, TFLITE_SCHEMA_VERSION, TensorType,
} from '../../src/convert/tflite-schema.js';

/** Affine quantization: real = scale[i] x (q - zeroPoint[i]), per tensor (one entry) or per slice of `dimension`. */
export interface TfliteQuant {
  scale: number[];
  zeroPoint: number[];
  /** The quantized dimension of a per-channel tensor (0 for conv weights, OHWI). */
  dimension?: number;
}

/** A tensor of the graph. */
export interface TfliteTensor {
  name: string;
  shape: number[];
  type: TensorType;
  quant?: TfliteQuant;
  /** Index into the model's buffers; 0 (the empty sentinel) for activations. */
  buffer: number;
}

/** An operator: what it computes, which tensors it reads and writes, and its options table. */
export interface TfliteOperator {
  opcodeIndex: number;
  inputs: number[];
  outputs: number[];
  options?: { type: BuiltinOptions; table: FbTable };
}

/**
 * Operator version as TensorFlow's converter records it (tensorflow/lite/tools/versioning/
 * op_version.cc), for the ops and types written here: int8 kernels came in later versions.
 */
function opVersion(code: BuiltinOperator, inputType: TensorType): number {
  if (inputType !== TensorType.INT8) return 1;
  switch (code) {
    case BuiltinOperator.CONV_2D: return 3;
    case BuiltinOperator.QUANTIZE: case BuiltinOperator.RESHAPE: return 1;
    default: return 2; // pools, concat, add, mean, softmax, pad, relu, dequantize
  }
}

/** A graph input or output: its tensor, and its name in the signature. */
export interface SignatureTensor {
  tensor: number;
  name: string;
}

/** See the module comment. */
export class TfliteGraph {
  readonly tensors: TfliteTensor[] = [];
  readonly operators: TfliteOperator[] = [];
  /** Buffer 0 must be empty: tensors without data point at it. */
  private readonly buffers: Uint8Array[] = [new Uint8Array(0)];
  private readonly opcodes: { code: BuiltinOperator; version: number }[] = [];

  /** Adds a tensor (constant if `data` is given, its bytes copied as they are); returns its index. */
  tensor(t: Omit<TfliteTensor, 'buffer'>, data?: ArrayBufferView): number {
    let buffer = 0;
    if (data) {
      buffer = this.buffers.length;
      this.buffers.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    }
    this.tensors.push({ ...t, buffer });
    return this.tensors.length - 1;
  }

  /** Appends an operator; its version follows from its first input's type. */
  op(code: BuiltinOperator, inputs: number[], outputs: number[], options?: TfliteOperator['options']): void {
    const version = opVersion(code, this.tensors[inputs[0]].type);
    let opcodeIndex = this.opcodes.findIndex((c) => c.code === code && c.version === version);
    if (opcodeIndex < 0) opcodeIndex = this.opcodes.push({ code, version }) - 1;
    this.operators.push({ opcodeIndex, inputs, outputs, options });
  }

  /**
   * The .tflite bytes: one subgraph with the given graph inputs and outputs, and a
   * "serving_default" signature giving them the names a caller sees, as the converter writes.
   */
  toFlatbuffer(inputs: SignatureTensor[], outputs: SignatureTensor[], description: string): Uint8Array {
    const F = Fields;
    const tensorMap = (t: SignatureTensor): FbTable => table([[F.TensorMap.name, string(t.name)], [F.TensorMap.tensor_index, scalar('uint', t.tensor)]]);
    const indices = (ts: SignatureTensor[]): number[] => ts.map((t) => t.tensor);
    const model = table([
      [F.Model.version, scalar('uint', TFLITE_SCHEMA_VERSION)],
      [F.Model.operator_codes, refs(this.opcodes.map(operatorCode))],
      [F.Model.subgraphs, refs([table([
        [F.SubGraph.tensors, refs(this.tensors.map(tensorTable))],
        [F.SubGraph.inputs, vector('int', indices(inputs))],
        [F.SubGraph.outputs, vector('int', indices(outputs))],
        [F.SubGraph.operators, refs(this.operators.map(operatorTable))],
        [F.SubGraph.name, string('main')],
      ])])],
      [F.Model.description, string(description)],
      [F.Model.buffers, refs(this.buffers.map((b) => table([[F.Buffer.data, b.length ? bytes(b, BUFFER_DATA_ALIGN) : undefined]])))],
      [F.Model.signature_defs, refs([table([
        [F.SignatureDef.inputs, refs(inputs.map(tensorMap))],
        [F.SignatureDef.outputs, refs(outputs.map(tensorMap))],
        [F.SignatureDef.signature_key, string('serving_default')],
        [F.SignatureDef.subgraph_index, scalar('uint', 0)],
      ])])],
    ]);
    return finish(model, TFLITE_FILE_IDENTIFIER);
  }
}

function operatorCode({ code, version }: { code: BuiltinOperator; version: number }): FbTable {
  return table([
    [Fields.OperatorCode.deprecated_builtin_code, scalar('byte', Math.min(code, PLACEHOLDER_FOR_GREATER_OP_CODES))],
    [Fields.OperatorCode.version, scalar('int', version)],
    [Fields.OperatorCode.builtin_code, scalar('int', code)],
  ]);
}

function tensorTable(t: TfliteTensor): FbTable {
  const F = Fields.Tensor;
  const Q = Fields.QuantizationParameters;
  const quant: FbObject | undefined = t.quant && table([
    [Q.scale, vector('float', t.quant.scale)],
    [Q.zero_point, vector('long', t.quant.zeroPoint)],
    [Q.quantized_dimension, t.quant.dimension ? scalar('int', t.quant.dimension) : undefined],
  ]);
  return table([
    [F.shape, vector('int', t.shape)],
    [F.type, scalar('byte', t.type)],
    [F.buffer, scalar('uint', t.buffer)],
    [F.name, string(t.name)],
    [F.quantization, quant],
  ]);
}

function operatorTable(op: TfliteOperator): FbTable {
  const F = Fields.Operator;
  return table([
    [F.opcode_index, scalar('uint', op.opcodeIndex)],
    [F.inputs, vector('int', op.inputs)],
    [F.outputs, vector('int', op.outputs)],
    [F.builtin_options_type, op.options ? scalar('ubyte', op.options.type) : undefined],
    [F.builtin_options, op.options?.table],
  ]);
}
