/**
 * The parts of TensorFlow Lite's flatbuffer schema (tensorflow/lite/schema/schema.fbs, version 3,
 * file identifier "TFL3") that bench/peers/tflite-writer.ts writes, as named constants: enum
 * values, the union type ids of `BuiltinOptions`, and each table's field slots (a field's index in
 * its table's vtable, in declaration order, a union field taking two: its `_type` then its value).
 * A .tflite reader can use the same names, so that writer and reader are checked against one list.
 *
 * Every number here was read off the official schema.fbs; only what SqueezeNet-family graphs need
 * is listed.
 * @packageDocumentation
 */

/** The 4 bytes after the root offset of every .tflite file. */
export const TFLITE_FILE_IDENTIFIER = 'TFL3';
/** `Model.version`: the schema version (3 since buffers moved out of tensors). */
export const TFLITE_SCHEMA_VERSION = 3;

/** `enum TensorType : byte`. */
export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, INT16: 7, INT8: 9 } as const;
export type TensorType = (typeof TensorType)[keyof typeof TensorType];

/**
 * `enum BuiltinOperator : int32`. Codes below 127 go into `OperatorCode.deprecated_builtin_code`
 * (a byte, read by older runtimes) as well as `builtin_code`.
 */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEQUANTIZE: 6,
  MAX_POOL_2D: 17,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  PAD: 34,
  MEAN: 40,
  QUANTIZE: 114,
} as const;
export type BuiltinOperator = (typeof BuiltinOperator)[keyof typeof BuiltinOperator];
/** `BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES`: codes from here on do not fit the deprecated byte. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

/** `union BuiltinOptions`: the type id of each options table (its position in the union, from 1; 0 is NONE). */
export const BuiltinOptions = {
  NONE: 0,
  Conv2DOptions: 1,
  Pool2DOptions: 5,
  SoftmaxOptions: 9,
  ConcatenationOptions: 10,
  AddOptions: 11,
  ReshapeOptions: 17,
  PadOptions: 22,
  ReducerOptions: 27,
  DequantizeOptions: 38,
  QuantizeOptions: 89,
} as const;
export type BuiltinOptions = (typeof BuiltinOptions)[keyof typeof BuiltinOptions];

/** `enum Padding : byte`. */
export const Padding = { SAME: 0, VALID: 1 } as const;
export type Padding = (typeof Padding)[keyof typeof Padding];

/** `enum ActivationFunctionType : byte`. */
export const ActivationFunctionType = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3 } as const;
export type ActivationFunctionType = (typeof ActivationFunctionType)[keyof typeof ActivationFunctionType];

/**
 * Field slots of each table written (and worth reading back). A union field `x` has `x_type`
 * (a ubyte) in one slot and `x` (the offset) in the next.
 */
export const Fields = {
  Model: { version: 0, operator_codes: 1, subgraphs: 2, description: 3, buffers: 4, metadata_buffer: 5, metadata: 6, signature_defs: 7 },
  OperatorCode: { deprecated_builtin_code: 0, custom_code: 1, version: 2, builtin_code: 3 },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 },
  Tensor: { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, is_variable: 5 },
  QuantizationParameters: { min: 0, max: 1, scale: 2, zero_point: 3, details_type: 4, details: 5, quantized_dimension: 6 },
  Operator: { opcode_index: 0, inputs: 1, outputs: 2, builtin_options_type: 3, builtin_options: 4 },
  Buffer: { data: 0 },
  SignatureDef: { inputs: 0, outputs: 1, signature_key: 2, subgraph_index: 4 },
  TensorMap: { name: 0, tensor_index: 1 },
  Conv2DOptions: { padding: 0, stride_w: 1, stride_h: 2, fused_activation_function: 3, dilation_w_factor: 4, dilation_h_factor: 5 },
  Pool2DOptions: { padding: 0, stride_w: 1, stride_h: 2, filter_width: 3, filter_height: 4, fused_activation_function: 5 },
  ConcatenationOptions: { axis: 0, fused_activation_function: 1 },
  AddOptions: { fused_activation_function: 0 },
  ReshapeOptions: { new_shape: 0 },
  ReducerOptions: { keep_dims: 0 },
  SoftmaxOptions: { beta: 0 },
} as const;

/** `Buffer.data` is declared `(force_align: 16)`: its first byte sits on a 16-byte boundary. */
export const BUFFER_DATA_ALIGN = 16;
