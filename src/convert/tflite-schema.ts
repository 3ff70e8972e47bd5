/**
 * TensorFlow Lite's flatbuffer schema (schema.fbs, version 3, file identifier "TFL3") as named
 * constants: enum values, the type ids of the `BuiltinOptions` union, and each table's field slots
 * (a field's index in its table's vtable). bench/peers/tflite-writer.ts writes with these names and
 * src/convert/tflite-read.ts reads with them, so writer and reader are checked against one list.
 *
 * Every number was read off the official schema (tensorflow/compiler/mlir/lite/schema/schema.fbs)
 * and checked against the Python module TensorFlow 2.21 generates from it
 * (tensorflow/lite/python/schema_py_generated.py). Slots count in declaration order: a union
 * field `x` takes two, `x_type` (a ubyte) then `x` (the offset), and a deprecated field keeps its
 * slot. Only what a reader of classifier networks needs is named, and every operator code, so
 * that errors can name the op a file uses.
 * @packageDocumentation
 */

/** The 4 bytes after the root offset of every .tflite file. */
export const TFLITE_FILE_IDENTIFIER = 'TFL3';
/** `Model.version`: the schema version (3 since buffers moved out of tensors). */
export const TFLITE_SCHEMA_VERSION = 3;

/** `enum TensorType : byte`; 19 and 20 are the newest (TensorFlow 2.21), a value past them is not a type. */
export const TensorType = {
  FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, STRING: 5, BOOL: 6, INT16: 7, COMPLEX64: 8, INT8: 9,
  FLOAT64: 10, COMPLEX128: 11, UINT64: 12, RESOURCE: 13, VARIANT: 14, UINT32: 15, UINT16: 16, INT4: 17, BFLOAT16: 18, INT2: 19,
  UINT4: 20,
} as const;
export type TensorType = (typeof TensorType)[keyof typeof TensorType];
/** The largest {@link TensorType} value the schema defines. */
export const MAX_TENSOR_TYPE = TensorType.UINT4;

/**
 * `enum BuiltinOperator : int32`, the codes a converter names. Codes below 127 go into
 * `OperatorCode.deprecated_builtin_code` (a byte, read by older runtimes) as well as `builtin_code`.
 */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  L2_POOL_2D: 12,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU_N1_TO_1: 20,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  TANH: 28,
  CUSTOM: 32,
  PAD: 34,
  TRANSPOSE: 39,
  MEAN: 40,
  SUB: 41,
  SQUEEZE: 43,
  STRIDED_SLICE: 45,
  SUM: 74,
  REDUCE_PROD: 81,
  REDUCE_MAX: 82,
  REDUCE_MIN: 89,
  REDUCE_ANY: 91,
  LEAKY_RELU: 98,
  QUANTIZE: 114,
  HARD_SWISH: 117,
  REDUCE_ALL: 140,
} as const;
export type BuiltinOperator = (typeof BuiltinOperator)[keyof typeof BuiltinOperator];
/** `BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES`: codes from here on do not fit the deprecated byte. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

/**
 * The name of every `BuiltinOperator` code from 0 to 206, indexed by code (ten to a line: line n
 * holds codes 10n to 10n + 9). Codes from 207 on are left out: schema versions disagree on them
 * (COMPLEX in one, STABLEHLO_SHIFT_LEFT in TensorFlow 2.21).
 */
export const BUILTIN_OPERATOR_NAMES: readonly string[] = Object.freeze([
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE', 'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED',
  'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D', 'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
  'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH', 'CONCAT_EMBEDDINGS',
  'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD', 'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE',
  'MEAN', 'SUB', 'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2', 'SPLIT',
  'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM', 'ARG_MAX', 'MINIMUM', 'LESS', 'NEG',
  'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE', 'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE',
  'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT', 'RSQRT', 'SHAPE', 'POW', 'ARG_MIN',
  'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR', 'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN',
  'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE', 'ZEROS_LIKE', 'FILL', 'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE',
  'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE',
  'RANK', 'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE',
  'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM', 'BATCH_MATMUL', 'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM', 'CALL_ONCE',
  'BROADCAST_TO', 'RFFT2D', 'CONV_3D', 'IMAG', 'REAL', 'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND', 'HASHTABLE_IMPORT', 'HASHTABLE_SIZE',
  'REDUCE_ALL', 'CONV_3D_TRANSPOSE', 'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE', 'BROADCAST_ARGS', 'RANDOM_STANDARD_NORMAL', 'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL',
  'GELU', 'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1', 'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX', 'UNSORTED_SEGMENT_SUM', 'ATAN2', 'UNSORTED_SEGMENT_MIN', 'SIGN', 'BITCAST',
  'BITWISE_XOR', 'RIGHT_SHIFT', 'STABLEHLO_LOGISTIC', 'STABLEHLO_ADD', 'STABLEHLO_DIVIDE', 'STABLEHLO_MULTIPLY', 'STABLEHLO_MAXIMUM', 'STABLEHLO_RESHAPE', 'STABLEHLO_CLAMP', 'STABLEHLO_CONCATENATE',
  'STABLEHLO_BROADCAST_IN_DIM', 'STABLEHLO_CONVOLUTION', 'STABLEHLO_SLICE', 'STABLEHLO_CUSTOM_CALL', 'STABLEHLO_REDUCE', 'STABLEHLO_ABS', 'STABLEHLO_AND', 'STABLEHLO_COSINE', 'STABLEHLO_EXPONENTIAL', 'STABLEHLO_FLOOR',
  'STABLEHLO_LOG', 'STABLEHLO_MINIMUM', 'STABLEHLO_NEGATE', 'STABLEHLO_OR', 'STABLEHLO_POWER', 'STABLEHLO_REMAINDER', 'STABLEHLO_RSQRT', 'STABLEHLO_SELECT', 'STABLEHLO_SUBTRACT', 'STABLEHLO_TANH',
  'STABLEHLO_SCATTER', 'STABLEHLO_COMPARE', 'STABLEHLO_CONVERT', 'STABLEHLO_DYNAMIC_SLICE', 'STABLEHLO_DYNAMIC_UPDATE_SLICE', 'STABLEHLO_PAD', 'STABLEHLO_IOTA', 'STABLEHLO_DOT_GENERAL', 'STABLEHLO_REDUCE_WINDOW', 'STABLEHLO_SORT',
  'STABLEHLO_WHILE', 'STABLEHLO_GATHER', 'STABLEHLO_TRANSPOSE', 'DILATE', 'STABLEHLO_RNG_BIT_GENERATOR', 'REDUCE_WINDOW', 'STABLEHLO_COMPOSITE',
]);

/** `union BuiltinOptions`: the type id of each options table (its position in the union, from 1; 0 is NONE). */
export const BuiltinOptions = {
  NONE: 0,
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  ConcatenationOptions: 10,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  ReducerOptions: 27,
  SubOptions: 28,
  SqueezeOptions: 30,
  DequantizeOptions: 38,
  PadV2Options: 43,
  LeakyReluOptions: 75,
  QuantizeOptions: 89,
  HardSwishOptions: 91,
} as const;
export type BuiltinOptions = (typeof BuiltinOptions)[keyof typeof BuiltinOptions];

/** `enum Padding : byte`. */
export const Padding = { SAME: 0, VALID: 1 } as const;
export type Padding = (typeof Padding)[keyof typeof Padding];

/** `enum ActivationFunctionType : byte`. */
export const ActivationFunctionType = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 } as const;
export type ActivationFunctionType = (typeof ActivationFunctionType)[keyof typeof ActivationFunctionType];

/**
 * Field slots of the tables a writer or reader of classifier networks needs. A union field `x`
 * has `x_type` (a ubyte) in one slot and `x` (the offset) in the next; a deprecated field keeps
 * its slot (`SignatureDef.deprecated_tag`, 3). Defaults that are not zero are noted.
 */
export const Fields = {
  Model: { version: 0, operator_codes: 1, subgraphs: 2, description: 3, buffers: 4, metadata_buffer: 5, metadata: 6, signature_defs: 7 },
  /** `version` defaults to 1. */
  OperatorCode: { deprecated_builtin_code: 0, custom_code: 1, version: 2, builtin_code: 3 },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 },
  /** `external_buffer` is TensorFlow 2.21's: data kept in a file beside the model. */
  Tensor: { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, is_variable: 5, sparsity: 6, shape_signature: 7, has_rank: 8, variant_tensors: 9, external_buffer: 10 },
  QuantizationParameters: { min: 0, max: 1, scale: 2, zero_point: 3, details_type: 4, details: 5, quantized_dimension: 6 },
  Operator: {
    opcode_index: 0, inputs: 1, outputs: 2, builtin_options_type: 3, builtin_options: 4, custom_options: 5, custom_options_format: 6,
    mutating_variable_inputs: 7, intermediates: 8, large_custom_options_offset: 9, large_custom_options_size: 10, builtin_options_2_type: 11, builtin_options_2: 12,
  },
  /** `offset` and `size` (ulong) locate data stored after the flatbuffer, from the file's start; `offset` counts only when above 1. */
  Buffer: { data: 0, offset: 1, size: 2 },
  Metadata: { name: 0, buffer: 1 },
  SignatureDef: { inputs: 0, outputs: 1, signature_key: 2, subgraph_index: 4 },
  TensorMap: { name: 0, tensor_index: 1 },
  /** `dilation_w_factor` and `dilation_h_factor` default to 1. */
  Conv2DOptions: { padding: 0, stride_w: 1, stride_h: 2, fused_activation_function: 3, dilation_w_factor: 4, dilation_h_factor: 5, quantized_bias_type: 6 },
  /** `dilation_w_factor` and `dilation_h_factor` default to 1. */
  DepthwiseConv2DOptions: { padding: 0, stride_w: 1, stride_h: 2, depth_multiplier: 3, fused_activation_function: 4, dilation_w_factor: 5, dilation_h_factor: 6 },
  Pool2DOptions: { padding: 0, stride_w: 1, stride_h: 2, filter_width: 3, filter_height: 4, fused_activation_function: 5 },
  FullyConnectedOptions: { fused_activation_function: 0, weights_format: 1, keep_num_dims: 2, asymmetric_quantize_inputs: 3, quantized_bias_type: 4 },
  SoftmaxOptions: { beta: 0 },
  ConcatenationOptions: { axis: 0, fused_activation_function: 1 },
  /** `pot_scale_int16` defaults to true. */
  AddOptions: { fused_activation_function: 0, pot_scale_int16: 1 },
  ReshapeOptions: { new_shape: 0 },
  ReducerOptions: { keep_dims: 0 },
  SqueezeOptions: { squeeze_dims: 0 },
} as const;

/** `Buffer.data` is declared `(force_align: 16)`: its first byte sits on a 16-byte boundary. */
export const BUFFER_DATA_ALIGN = 16;
