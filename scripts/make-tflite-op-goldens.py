#!/usr/bin/env python3
"""Single-op int8 TFLite models and their outputs under TFLite's reference kernels, for bit-exact tests.

Groundwork for issue 19 ("TFLite in"): `src/model/tflite-arithmetic.ts` reproduces the integer
arithmetic of TFLite's reference int8 kernels, and `test/model/tflite-arithmetic.test.ts` checks it
against what this script records.

What it does
------------
For each case it builds a one-op Keras model (weights from a seeded NumPy generator), converts it
with TensorFlow's own converter to a full-integer int8 .tflite (random seeded representative
dataset, ranges chosen per case so that scales and zero points vary), runs it with
`tf.lite.Interpreter(..., experimental_op_resolver_type=BUILTIN_REF)` (TFLite's *reference*
kernels, not XNNPACK or the optimised ones) on several inputs, and records every parameter the JS
needs exactly as the interpreter reads it (scales as float32 values, zero points, int8 weights and
int32 biases, op options read from the flatbuffer) together with the raw int8 inputs and outputs.

Cases: CONV_2D (per-channel; SAME/VALID; stride 1 and 2; none/RELU/RELU6 fused), FULLY_CONNECTED
(per-channel as the 2.21 converter makes it, and per-tensor; none/RELU), AVERAGE_POOL_2D (SAME
padding so that border windows hold fewer pixels; and VALID), MEAN over axes [1, 2] with keep_dims
(global average pooling; input and output scales different, and equal: a representative dataset
that is constant over H and W gives the mean the input's range), ADD (different input scales;
none/RELU), SOFTMAX (int8 in and out, beta 1, input scales from 0.02 to ~39 so that diff_min takes
many values, including the capped multiplier), QUANTIZE (float in, ties included) and DEQUANTIZE
(of every int8 value).

The inputs are chosen to reach the edge cases: negative accumulators, exact .5 ties in pooling and
quantization, border windows, softmax differences just above, at and below diff_min, clamping at
-128 and 127. Requantization is what differs between TFLite versions and builds (gemmlowp double
rounding, TFLITE_SINGLE_ROUNDING's single rounding, FULLY_CONNECTED's double-precision scale), so
CONV_2D and FULLY_CONNECTED inputs are picked among many random ones for disagreeing between those
candidates, and three cases ('rescaled': true) have their scales rewritten in the flatbuffer after
conversion (powers of two for CONV_2D and FULLY_CONNECTED, output scale = 2 x both input scales for
ADD) so that requantization lands on exact ties, where the candidates differ most. The script does
not assume which candidate TFLite uses; it prints how often they disagree on the recorded inputs,
and the TS test shows which one matches.

Output: ONE file, test/fixtures/tflite/arithmetic.json (committed; `npm test` only reads it).

How to run (from the repository root; TensorFlow 2.21, `pip install tensorflow-cpu`):
  python3 scripts/make-tflite-op-goldens.py [--out test/fixtures/tflite/arithmetic.json]

Deterministic: every random number comes from a seeded NumPy generator, and the TFLite converter's
calibration is deterministic for a given representative dataset.
"""

import argparse
import json
import math
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402
from tensorflow.lite.tools import flatbuffer_utils  # noqa: E402

REF = tf.lite.experimental.OpResolverType.BUILTIN_REF
ACTIVATIONS = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith('_')}
PADDINGS = {v: k for k, v in vars(schema.Padding).items() if not k.startswith('_')}
OPCODES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith('_')}


# --------------------------------------------------------------------------- conversion and running

def convert(model, representative, int8_input=True, int8_output=True, per_tensor_dense=False):
    """Full-integer int8 conversion with TensorFlow's converter."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if per_tensor_dense:  # the 2.21 converter quantizes Dense kernels per channel unless told not to
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_input:
        converter.inference_input_type = tf.int8
    if int8_output:
        converter.inference_output_type = tf.int8
    return converter.convert()


class Ref:
    """A converted model under the reference interpreter, with its flatbuffer for the op options."""

    def __init__(self, tflite_bytes):
        self.bytes = tflite_bytes
        self.interpreter = tf.lite.Interpreter(
            model_content=tflite_bytes, experimental_op_resolver_type=REF,
            experimental_preserve_all_tensors=True)
        self.interpreter.allocate_tensors()
        self.details = {d['index']: d for d in self.interpreter.get_tensor_details()}
        self.model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
        graph = self.model.subgraphs[0]
        self.ops = []
        for op in graph.operators:
            code = self.model.operatorCodes[op.opcodeIndex]
            name = OPCODES[max(code.builtinCode, code.deprecatedBuiltinCode)]
            self.ops.append((name, op))
        self.inputs = [d['index'] for d in self.interpreter.get_input_details()]
        self.outputs = [d['index'] for d in self.interpreter.get_output_details()]

    def op_names(self):
        return [name for name, _ in self.ops]

    def only(self, name):
        found = [op for n, op in self.ops if n == name]
        assert len(found) == 1, f'expected one {name}, got ops {self.op_names()}'
        return found[0]

    def quant(self, index):
        q = self.details[index]['quantization_parameters']
        return [float(s) for s in q['scales']], [int(z) for z in q['zero_points']]

    def tensor_info(self, index):
        scales, zeros = self.quant(index)
        info = {'shape': [int(d) for d in self.details[index]['shape']]}
        if self.details[index]['dtype'] != np.float32:
            assert len(scales) == 1, (index, scales)
            info['scale'] = scales[0]
            info['zeroPoint'] = zeros[0]
        return info

    def constant(self, index):
        return self.interpreter.get_tensor(index)

    def run(self, feeds):
        """feeds: list aligned with self.inputs. Returns a function reading any tensor after invoke."""
        for index, value in zip(self.inputs, feeds):
            self.interpreter.set_tensor(index, value)
        self.interpreter.invoke()
        return lambda index: self.interpreter.get_tensor(index).copy()


def ints(a):
    return [int(v) for v in np.asarray(a).reshape(-1)]


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def random_int8(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8)


def int8_samples(rng, shape, count):
    """count random int8 tensors, then one with the extremes (checkerboard of -128 and 127)."""
    out = [random_int8(rng, shape) for _ in range(count)]
    extremes = np.where(np.indices(shape).sum(axis=0) % 2 == 0, 127, -128).astype(np.int8)
    out.append(extremes)
    return out


# --------------------------------------------------------------------------- rewriting quantization parameters

def with_quantization(tflite_bytes, changes):
    """The same model with some tensors' scales and zero points replaced.

    changes: {tensor index: (scales, zero points)}. Used to give a converted model power-of-two
    scales, whose requantizations hit exact .5 ties, where the candidate roundings disagree most.
    """
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
    tensors = model.subgraphs[0].tensors
    for index, (scales, zeros) in changes.items():
        q = tensors[index].quantization
        q.scale = [float(v) for v in scales]
        q.zeroPoint = [int(v) for v in zeros]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def op_tensors(tflite_bytes, name):
    """(inputs, outputs) tensor indices of the only `name` op of a model."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
    for op in model.subgraphs[0].operators:
        code = model.operatorCodes[op.opcodeIndex]
        if OPCODES[max(code.builtinCode, code.deprecatedBuiltinCode)] == name:
            return list(op.inputs), list(op.outputs)
    raise AssertionError(f'no {name}')


# --------------------------------------------------------------------------- candidate roundings, to pick discriminating inputs
#
# The script does not assume which rounding TFLite uses: it picks inputs on which the candidates
# disagree, and records what the interpreter says. The TS test then shows which one matches.

def f32(v):
    return float(np.float32(v))


def round_half_away(v):
    return math.copysign(math.floor(abs(v) + 0.5), v)


def quantize_multiplier(d, cap_shift_at_30=False):
    if d == 0:
        return 0, 0
    q, e = math.frexp(d)
    q_fixed = int(round_half_away(q * 2 ** 31))
    if q_fixed == 2 ** 31:
        q_fixed //= 2
        e += 1
    if e < -31:
        return 0, 0
    if cap_shift_at_30 and e > 30:
        return 2 ** 31 - 1, 30
    return q_fixed, e


def mbqm_single(x, m, s):
    """TFLITE_SINGLE_ROUNDING MultiplyByQuantizedMultiplier."""
    return (x * m + (1 << (30 - s))) >> (31 - s)


def mbqm_double(x, m, s):
    """gemmlowp RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << left, m), right)."""
    left = max(s, 0)
    right = max(-s, 0)
    ab = x * (1 << left) * m
    v = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    high = abs(v) >> 31 if v >= 0 else -(abs(v) >> 31)
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if (high & mask) > threshold else 0)


def requant_candidates(acc, s_in, s_filter, s_out):
    """acc -> {candidate: rescaled value} for the three requantizations TFLite versions use."""
    real = f32(s_in) * f32(s_filter) / f32(s_out)
    m_single = quantize_multiplier(real, cap_shift_at_30=True)
    m_double = quantize_multiplier(real)
    return {'single': mbqm_single(acc, *m_single), 'double': mbqm_double(acc, *m_double),
            'float': int(round_half_away(acc * real))}


def activation_range(activation, scale, zp):
    q = lambda v: zp + int(round_half_away(f32(np.float32(v) / np.float32(scale))))  # noqa: E731
    if activation == 'RELU':
        return max(-128, q(0)), 127
    if activation == 'RELU6':
        return max(-128, q(0)), min(127, q(6))
    if activation == 'RELU_N1_TO_1':
        return max(-128, q(-1)), min(127, q(1))
    return -128, 127


def disagreements(acc, s_in, filter_scales, s_out, zp_out, activation):
    """Per accumulator (last axis = output channel): 1 where the candidate roundings give different int8."""
    lo, hi = activation_range(activation, s_out, zp_out)
    flat = acc.reshape(-1, acc.shape[-1])
    out = np.zeros(flat.shape, dtype=np.int64)
    for i, row in enumerate(flat):
        for c, a in enumerate(row):
            values = {min(hi, max(lo, v + zp_out)) for v in requant_candidates(int(a), s_in, filter_scales[c], s_out).values()}
            out[i, c] = len(values) > 1
    return out.reshape(acc.shape)


class Coverage:
    def __init__(self):
        self.counts = {}

    def add(self, key, n=1):
        self.counts[key] = self.counts.get(key, 0) + int(n)


COVERAGE = Coverage()


def conv_accumulators(x, w, b, zp_in, stride, pads, out_hw):
    """Integer accumulators of a CONV_2D (NHWC x, OHWI w), zero padding by omission."""
    n, h, wd, c = x.shape
    o, kh, kw, _ = w.shape
    oh, ow = out_hw
    acc = np.zeros((n, oh, ow, o), dtype=np.int64)
    xs = x.astype(np.int64) - zp_in
    for oy in range(oh):
        for ox in range(ow):
            y0 = oy * stride[0] - pads[0]
            x0 = ox * stride[1] - pads[1]
            for fy in range(kh):
                for fx in range(kw):
                    iy, ix = y0 + fy, x0 + fx
                    if 0 <= iy < h and 0 <= ix < wd:
                        acc[:, oy, ox, :] += xs[:, iy, ix, :] @ w[:, fy, fx, :].astype(np.int64).T
    return acc + b.astype(np.int64)


def same_pad(size, out, stride, k):
    return max((out - 1) * stride + k - size, 0) // 2


# --------------------------------------------------------------------------- cases

def keras_input(shape, batch=1, name=None):
    return tf.keras.Input(shape=shape, batch_size=batch, name=name)


def representative(rng, shapes, low, high, count=64, constant_hw=False):
    def gen():
        for _ in range(count):
            out = []
            for i, shape in enumerate(shapes):
                lo = low[i] if isinstance(low, (list, tuple)) else low
                hi = high[i] if isinstance(high, (list, tuple)) else high
                if constant_hw:
                    # dyadic values (multiples of 1/256), so that the float mean over H x W
                    # is exact and calibration sees the same range before and after MEAN
                    per_channel = np.round(rng.uniform(lo, hi, size=(shape[0], 1, 1, shape[-1])) * 256) / 256
                    value = np.broadcast_to(per_channel, shape)
                else:
                    value = rng.uniform(lo, hi, size=shape)
                out.append(value.astype(np.float32))
            yield out
    return gen


POW2 = {'input': (2.0 ** -7, 5), 'output': (2.0 ** -9, -3)}


def pow2_requant(tflite_bytes, op_name, n_channels):
    """Power-of-two scales for input, filter (2^-5 .. 2^-8 by channel), bias and output: the
    requantization multiplier becomes exactly 2^-3 .. 2^-6, so accumulators land on exact ties."""
    (x_i, w_i, b_i), (y_i,) = op_tensors(tflite_bytes, op_name)
    s_in, zp_in = POW2['input']
    s_out, zp_out = POW2['output']
    w_scales = [2.0 ** -(5 + c % 4) for c in range(n_channels)]
    return with_quantization(tflite_bytes, {
        x_i: ([s_in], [zp_in]), y_i: ([s_out], [zp_out]),
        w_i: (w_scales, [0] * n_channels), b_i: ([s_in * w for w in w_scales], [0] * n_channels)})


def pick_discriminating(candidates, scores, keep):
    """The `keep` candidates with the most disagreements between roundings, best first."""
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    return [candidates[i] for i in order[:keep]]


def conv_case(rng, name, in_shape, filters, kernel, stride, padding, activation, in_range, pow2=False):
    inp = keras_input(in_shape[1:])
    layer = tf.keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding, activation=activation)
    model = tf.keras.Model(inp, layer(inp))
    k = rng.normal(0, 1, size=(kernel, kernel, in_shape[-1], filters))
    k *= np.geomspace(0.02, 1.0, filters)  # very different per-channel scales
    b = rng.normal(0, 0.5, size=(filters,))
    layer.set_weights([k.astype(np.float32), b.astype(np.float32)])
    tflite = convert(model, representative(rng, [in_shape], *in_range))
    if pow2:
        tflite = pow2_requant(tflite, 'CONV_2D', filters)
    ref, op, o, (x_i, w_i, y_i), w, bias, (w_scales, w_zeros) = weighted_op(tflite, 'CONV_2D')
    case = {
        'name': name, 'op': 'CONV_2D', 'rescaled': pow2,
        'options': {'padding': PADDINGS[o.padding], 'strideH': o.strideH, 'strideW': o.strideW,
                    'dilationH': o.dilationHFactor, 'dilationW': o.dilationWFactor,
                    'activation': ACTIVATIONS[o.fusedActivationFunction]},
        'input': ref.tensor_info(x_i),
        'filter': {'shape': list(w.shape), 'scales': w_scales, 'zeroPoints': w_zeros, 'data': ints(w)},
        'bias': {'data': ints(bias)},
        'output': ref.tensor_info(y_i),
        'samples': [],
    }
    out_shape = case['output']['shape']
    pads = (0, 0)
    if case['options']['padding'] == 'SAME':
        pads = (same_pad(in_shape[1], out_shape[1], o.strideH, w.shape[1]),
                same_pad(in_shape[2], out_shape[2], o.strideW, w.shape[2]))
    s_in, zp_in = case['input']['scale'], case['input']['zeroPoint']
    s_out, zp_out = case['output']['scale'], case['output']['zeroPoint']
    accumulate = lambda x: conv_accumulators(x, w, bias, zp_in, (o.strideH, o.strideW), pads, out_shape[1:3])  # noqa: E731
    # inputs: the two of 150 random ones on which the candidate roundings disagree most, one more
    # random one (small values when the scales are powers of two, so that little clamps), extremes
    low = -40 if pow2 else -128
    candidates = [rng.integers(low, -low if pow2 else 128, size=in_shape).astype(np.int8) for _ in range(150)]
    acc = accumulate(np.concatenate(candidates))
    scores = disagreements(acc, s_in, w_scales, s_out, zp_out, case['options']['activation']).reshape(len(candidates), -1).sum(axis=1)
    samples = pick_discriminating(candidates, scores, 2) + [random_int8(rng, in_shape)] + int8_samples(rng, in_shape, 0)
    record_samples(case, ref, y_i, samples, accumulate, lambda acc: disagreements(acc, s_in, w_scales, s_out, zp_out, case['options']['activation']))
    return case


def weighted_op(tflite, name):
    """The only op of a single-op model with weights and bias: the interpreter, the op, its options,
    (input, weights, output) tensor indices, the weights, the bias and the weights' (scales, zero points)."""
    ref = Ref(tflite)
    assert ref.op_names() == [name], ref.op_names()
    op = ref.only(name)
    x_i, w_i, b_i = op.inputs
    return ref, op, op.builtinOptions, (x_i, w_i, op.outputs[0]), ref.constant(w_i), ref.constant(b_i), ref.quant(w_i)


def record_samples(case, ref, y_i, samples, accumulate, disagree):
    """Runs the interpreter on each input of a CONV_2D or FULLY_CONNECTED case, keeps its output and
    counts what the inputs exercise: accumulators, negative ones, and outputs where roundings differ."""
    for x in samples:
        read = ref.run([x])
        case['samples'].append({'input': ints(x), 'output': ints(read(y_i))})
        acc = accumulate(x)
        COVERAGE.add('CONV_2D/FULLY_CONNECTED outputs', acc.size)
        COVERAGE.add('CONV_2D/FULLY_CONNECTED negative accumulators', (acc < 0).sum())
        COVERAGE.add(f"{case['op']} outputs where single/double/float rounding disagree", disagree(acc).sum())


def fc_case(rng, name, n_in, n_out, activation, in_range, batch=1, pow2=False, per_tensor=False):
    inp = keras_input((n_in,), batch)
    layer = tf.keras.layers.Dense(n_out, activation=activation)
    model = tf.keras.Model(inp, layer(inp))
    k = rng.normal(0, 1, size=(n_in, n_out)) * np.geomspace(0.05, 1.0, n_out)
    b = rng.normal(0, 1.0, size=(n_out,))
    layer.set_weights([k.astype(np.float32), b.astype(np.float32)])
    tflite = convert(model, representative(rng, [(batch, n_in)], *in_range), per_tensor_dense=per_tensor)
    if pow2:
        tflite = pow2_requant(tflite, 'FULLY_CONNECTED', n_out)
    ref, op, o, (x_i, w_i, y_i), w, bias, (w_scales, w_zeros) = weighted_op(tflite, 'FULLY_CONNECTED')
    assert (len(w_scales) == 1) == per_tensor, (name, len(w_scales))
    case = {
        'name': name, 'op': 'FULLY_CONNECTED', 'rescaled': pow2,
        'options': {'activation': ACTIVATIONS[o.fusedActivationFunction], 'keepNumDims': bool(o.keepNumDims)},
        'input': ref.tensor_info(x_i),
        'filter': {'shape': list(w.shape), 'scales': w_scales, 'zeroPoints': w_zeros, 'data': ints(w)},
        'bias': {'data': ints(bias)},
        'output': ref.tensor_info(y_i),
        'samples': [],
    }
    s_in, zp_in = case['input']['scale'], case['input']['zeroPoint']
    s_out, zp_out = case['output']['scale'], case['output']['zeroPoint']
    channel_scales = w_scales * n_out if per_tensor else w_scales
    accumulate = lambda x: (x.astype(np.int64) - zp_in) @ w.astype(np.int64).T + bias.astype(np.int64)  # noqa: E731
    # rows: those of 4000 random ones on which the candidate roundings disagree, then random ones
    low = -40 if pow2 else -128
    rows = rng.integers(low, -low if pow2 else 128, size=(4000, n_in)).astype(np.int8)
    scores = disagreements(accumulate(rows), s_in, channel_scales, s_out, zp_out, case['options']['activation']).sum(axis=1)
    chosen = np.array(pick_discriminating(list(rows), scores, 4 * batch))
    samples = [chosen[i:i + batch] for i in range(0, len(chosen), batch)]
    samples += int8_samples(rng, (batch, n_in), 2)
    record_samples(case, ref, y_i, samples, accumulate, lambda acc: disagreements(acc, s_in, channel_scales, s_out, zp_out, case['options']['activation']))
    return case


def avgpool_case(rng, name, in_shape, pool, stride, padding, in_range):
    inp = keras_input(in_shape[1:])
    model = tf.keras.Model(inp, tf.keras.layers.AveragePooling2D(pool, strides=stride, padding=padding)(inp))
    ref = Ref(convert(model, representative(rng, [in_shape], *in_range)))
    assert ref.op_names() == ['AVERAGE_POOL_2D'], ref.op_names()
    op = ref.only('AVERAGE_POOL_2D')
    o = op.builtinOptions
    x_i, y_i = op.inputs[0], op.outputs[0]
    case = {
        'name': name, 'op': 'AVERAGE_POOL_2D',
        'options': {'padding': PADDINGS[o.padding], 'strideH': o.strideH, 'strideW': o.strideW,
                    'filterH': o.filterHeight, 'filterW': o.filterWidth,
                    'activation': ACTIVATIONS[o.fusedActivationFunction]},
        'input': ref.tensor_info(x_i),
        'output': ref.tensor_info(y_i),
        'samples': [],
    }
    out_shape = case['output']['shape']
    pads = (0, 0)
    if case['options']['padding'] == 'SAME':
        pads = (same_pad(in_shape[1], out_shape[1], o.strideH, o.filterHeight),
                same_pad(in_shape[2], out_shape[2], o.strideW, o.filterWidth))
    for x in int8_samples(rng, in_shape, 3):
        read = ref.run([x])
        case['samples'].append({'input': ints(x), 'output': ints(read(y_i))})
        for oy in range(out_shape[1]):
            for ox in range(out_shape[2]):
                y0, x0 = oy * o.strideH - pads[0], ox * o.strideW - pads[1]
                ys = range(max(y0, 0), min(y0 + o.filterHeight, in_shape[1]))
                xs = range(max(x0, 0), min(x0 + o.filterWidth, in_shape[2]))
                count = len(ys) * len(xs)
                sums = x[0, ys.start:ys.stop, xs.start:xs.stop, :].astype(np.int64).sum(axis=(0, 1))
                COVERAGE.add(f'avgpool windows of {count} pixels', len(sums))
                COVERAGE.add('avgpool exact .5 ties, negative sum', sum(1 for s in sums if s < 0 and (2 * abs(s)) % count == 0 and (2 * abs(s) // count) % 2 == 1))
                COVERAGE.add('avgpool exact .5 ties, positive sum', sum(1 for s in sums if s > 0 and (2 * s) % count == 0 and (2 * s // count) % 2 == 1))
    return case


def mean_case(rng, name, in_shape, in_range, equal_scales):
    inp = keras_input(in_shape[1:])
    model = tf.keras.Model(inp, tf.keras.layers.GlobalAveragePooling2D(keepdims=True)(inp))
    ref = Ref(convert(model, representative(rng, [in_shape], *in_range, constant_hw=equal_scales)))
    assert ref.op_names() == ['MEAN'], ref.op_names()
    op = ref.only('MEAN')
    x_i, axis_i = op.inputs
    y_i = op.outputs[0]
    case = {
        'name': name, 'op': 'MEAN',
        'options': {'axes': ints(ref.constant(axis_i)), 'keepDims': bool(op.builtinOptions.keepDims)},
        'input': ref.tensor_info(x_i),
        'output': ref.tensor_info(y_i),
        'samples': [],
    }
    same = case['input']['scale'] == case['output']['scale'] and case['input']['zeroPoint'] == case['output']['zeroPoint']
    assert same == equal_scales, (name, case['input'], case['output'])
    samples = int8_samples(rng, in_shape, 4)
    # a tensor whose channel c is constant q: the mean must give back q (when the scales are equal)
    samples.append(np.broadcast_to(np.linspace(-128, 127, in_shape[-1]).round().astype(np.int8), in_shape).copy())
    s_in, zp_in = case['input']['scale'], case['input']['zeroPoint']
    s_out, zp_out = case['output']['scale'], case['output']['zeroPoint']
    count = in_shape[1] * in_shape[2]
    for x in samples:
        read = ref.run([x])
        case['samples'].append({'input': ints(x), 'output': ints(read(y_i))})
        # candidates: reference QuantizedMeanOrSum under single / double rounding, and the old
        # equal-scales path (raw sum / count, truncated)
        for sum_q in x.astype(np.int64).sum(axis=(1, 2)).reshape(-1):
            values = set()
            for mbqm, cap in ((mbqm_single, True), (mbqm_double, False)):
                m, shift = quantize_multiplier(f32(s_in) / f32(s_out), cap)
                k = min(count.bit_length() - 1, 32, 31 + shift)
                values.add(min(127, max(-128, mbqm(int(sum_q) - zp_in * count, (m << k) // count, shift - k) + zp_out)))
            if same:
                values.add(int(sum_q / count))
            COVERAGE.add('MEAN outputs where the candidate roundings disagree', len(values) > 1)
    COVERAGE.add('MEAN cases with equal input and output scale' if same else 'MEAN cases with different scales')
    return case


def add_candidates(q1, q2, zp1, zp2, zp_out, s1, s2, s_out, lo, hi):
    """The int8 ADD output under single and under double rounding (kernels/add.cc Prepare, left shift 20)."""
    twice_max = f32(2 * max(f32(s1), f32(s2)))
    m1 = f32(s1) / twice_max
    m2 = f32(s2) / twice_max
    mo = twice_max / f32((1 << 20) * f32(s_out))
    out = {}
    for name, mbqm, cap in (('single', mbqm_single, True), ('double', mbqm_double, False)):
        qm = lambda r: quantize_multiplier(r, cap)  # noqa: E731
        total = mbqm((q1 - zp1) << 20, *qm(m1)) + mbqm((q2 - zp2) << 20, *qm(m2))
        out[name] = min(hi, max(lo, mbqm(total, *qm(mo)) + zp_out))
    return out


def add_case(rng, name, shape, activation, ranges, tied_scales=None):
    """tied_scales=(s, zp1, zp2, zp_out): both inputs get scale s and the output 2s (rewritten in the
    flatbuffer), so that every output is (q1 - zp1 + q2 - zp2) / 2 and odd sums are exact ties."""
    a, b = keras_input(shape[1:], name='a'), keras_input(shape[1:], name='b')
    y = tf.keras.layers.Add()([a, b])
    if activation == 'relu':
        y = tf.keras.layers.ReLU()(y)
    model = tf.keras.Model([a, b], y)
    tflite = convert(model, representative(rng, [shape, shape], [ranges[0][0], ranges[1][0]], [ranges[0][1], ranges[1][1]]))
    if tied_scales:
        scale, zp1, zp2, zp_out = tied_scales
        (i1, i2), (y_i,) = op_tensors(tflite, 'ADD')
        tflite = with_quantization(tflite, {i1: ([scale], [zp1]), i2: ([scale], [zp2]), y_i: ([f32(2 * f32(scale))], [zp_out])})
    ref = Ref(tflite)
    assert ref.op_names() == ['ADD'], ref.op_names()
    op = ref.only('ADD')
    i1, i2 = op.inputs
    y_i = op.outputs[0]
    case = {
        'name': name, 'op': 'ADD', 'rescaled': bool(tied_scales),
        'options': {'activation': ACTIVATIONS[op.builtinOptions.fusedActivationFunction]},
        'input1': ref.tensor_info(i1),
        'input2': ref.tensor_info(i2),
        'output': ref.tensor_info(y_i),
        'samples': [],
    }
    t1, t2, to = case['input1'], case['input2'], case['output']
    lo, hi = activation_range(case['options']['activation'], to['scale'], to['zeroPoint'])
    order = [ref.inputs.index(i1), ref.inputs.index(i2)]
    for _ in range(3):
        x1, x2 = random_int8(rng, shape), random_int8(rng, shape)
        feeds = [None, None]
        feeds[order[0]], feeds[order[1]] = x1, x2
        read = ref.run(feeds)
        case['samples'].append({'input1': ints(x1), 'input2': ints(x2), 'output': ints(read(y_i))})
        for q1, q2 in zip(ints(x1), ints(x2)):
            c = add_candidates(q1, q2, t1['zeroPoint'], t2['zeroPoint'], to['zeroPoint'], t1['scale'], t2['scale'], to['scale'], lo, hi)
            COVERAGE.add('ADD outputs where single/double rounding disagree', c['single'] != c['double'])
    return case


def softmax_params(scale, beta=1.0):
    real = min(beta * scale * (1 << 26), (1 << 31) - 1.0)
    m, shift = quantize_multiplier(real)
    radius = math.floor(31 * (1 << 26) / (1 << shift))
    return m, shift, -radius


def softmax_case(rng, name, rows, depth, half_range):
    inp = keras_input((depth,), rows)
    model = tf.keras.Model(inp, tf.keras.layers.Softmax()(inp))
    ref = Ref(convert(model, representative(rng, [(rows, depth)], -half_range, half_range)))
    assert ref.op_names() == ['SOFTMAX'], ref.op_names()
    op = ref.only('SOFTMAX')
    x_i, y_i = op.inputs[0], op.outputs[0]
    case = {
        'name': name, 'op': 'SOFTMAX',
        'options': {'beta': float(np.float32(op.builtinOptions.beta))},
        'input': ref.tensor_info(x_i),
        'output': ref.tensor_info(y_i),
        'samples': [],
    }
    _, _, diff_min = softmax_params(case['input']['scale'], case['options']['beta'])
    special = []
    special.append(np.full(depth, 5))  # all equal
    special.append(np.concatenate([[127], np.full(depth - 1, -128)]))  # one winner, 255 below
    special.append(np.linspace(-128, 127, depth).round())  # every difference from 0 to -255
    for top in (127, 40, -60):  # differences at, just above and just below diff_min
        row = np.full(depth, top)
        for j, d in enumerate([diff_min - 1, diff_min, diff_min + 1, diff_min + 2, -1, -2, 0]):
            row[1 + j] = max(-128, top + d)
        row[8:] = rng.integers(-128, top + 1, size=depth - 8)
        special.append(row)
    while len(special) % rows:
        special.append(rng.integers(-128, 128, size=depth))
    batches = [np.stack(special[i:i + rows]).astype(np.int8) for i in range(0, len(special), rows)]
    batches.append(random_int8(rng, (rows, depth)))
    for x in batches:
        read = ref.run([x])
        case['samples'].append({'input': ints(x), 'output': ints(read(y_i))})
        diffs = x.astype(np.int64) - x.max(axis=1, keepdims=True)
        COVERAGE.add('softmax elements', diffs.size)
        COVERAGE.add('softmax differences below diff_min', (diffs < diff_min).sum())
        COVERAGE.add('softmax differences == diff_min', (diffs == diff_min).sum())
    return case


def quantize_dequantize_cases(rng):
    """A float-in, float-out Dense: QUANTIZE -> FULLY_CONNECTED -> DEQUANTIZE; the two ends are the cases."""
    n_in, n_out = 40, 8
    inp = keras_input((n_in,))
    layer = tf.keras.layers.Dense(n_out)
    model = tf.keras.Model(inp, layer(inp))
    layer.set_weights([rng.normal(0, 0.3, size=(n_in, n_out)).astype(np.float32),
                       rng.normal(0, 1, size=(n_out,)).astype(np.float32)])
    ref = Ref(convert(model, representative(rng, [(1, n_in)], -1.7, 2.9), int8_input=False, int8_output=False))
    assert ref.op_names() == ['QUANTIZE', 'FULLY_CONNECTED', 'DEQUANTIZE'], ref.op_names()
    q_op, d_op = ref.only('QUANTIZE'), ref.only('DEQUANTIZE')
    qx, qy = q_op.inputs[0], q_op.outputs[0]
    dx, dy = d_op.inputs[0], d_op.outputs[0]
    quant = {'name': 'quantize', 'op': 'QUANTIZE', 'input': ref.tensor_info(qx), 'output': ref.tensor_info(qy), 'samples': []}
    dequant = {'name': 'dequantize', 'op': 'DEQUANTIZE', 'input': ref.tensor_info(dx), 'output': ref.tensor_info(dy), 'samples': []}
    scale = np.float32(quant['output']['scale'])
    # Floats whose float32 quotient x / scale is exactly k + 0.5 (ties), for k of both signs.
    ties = []
    for k in range(-140, 140):
        x = np.float32((k + 0.5) * float(scale))
        if np.float32(x / scale) == np.float32(k + 0.5):
            ties.append(x)
    COVERAGE.add('quantize: exact .5 ties available', len(ties))
    pool = list(ties)
    pool += list(rng.normal(0, 1.5, size=60).astype(np.float32))
    # Quotients beyond int32 are left out: TFLite's float-to-int32 cast is undefined there (x86 gives
    # INT32_MIN, so that even -3.4e38 came out as 127 when the zero point was added).
    pool += [np.float32(v) for v in (0.0, -0.0, 1e-30, -1e-30, 1e6, -1e6, float(scale) * 127.5, float(scale) * -128.5)]
    pool = np.array(pool, dtype=np.float32)
    rng.shuffle(pool)
    for i in range(0, len(pool) - n_in + 1, n_in):
        x = pool[i:i + n_in].reshape(1, n_in)
        read = ref.run([x])
        quant['samples'].append({'input': floats(x), 'output': ints(read(qy))})
        dequant['samples'].append({'input': ints(read(dx)), 'output': floats(read(dy))})
        COVERAGE.add('quantize: inputs that are exact ties', sum(1 for v in x.reshape(-1) if float(np.float32(v / scale)) % 1 in (0.5, -0.5)))
        COVERAGE.add('quantize: outputs clamped', sum(1 for v in ints(read(qy)) if v in (-128, 127)))
    return [quant, dequant]


def dequantize_all_case(rng):
    """int8 in, float out around a Reshape: DEQUANTIZE of every int8 value."""
    inp = keras_input((256,))
    model = tf.keras.Model(inp, tf.keras.layers.Reshape((16, 16))(inp))
    ref = Ref(convert(model, representative(rng, [(1, 256)], -0.3, 5.1), int8_input=True, int8_output=False))
    d_op = ref.only('DEQUANTIZE')
    dx, dy = d_op.inputs[0], d_op.outputs[0]
    case = {'name': 'dequantize_every_int8', 'op': 'DEQUANTIZE', 'ops': ref.op_names(),
            'input': ref.tensor_info(dx), 'output': ref.tensor_info(dy), 'samples': []}
    x = np.arange(-128, 128, dtype=np.int64).astype(np.int8).reshape(1, 256)
    read = ref.run([x])
    case['samples'].append({'input': ints(read(dx)), 'output': floats(read(dy))})
    assert sorted(case['samples'][0]['input']) == list(range(-128, 128)), 'DEQUANTIZE did not see every int8 value'
    return case


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='test/fixtures/tflite/arithmetic.json')
    args = parser.parse_args()

    tf.keras.utils.set_random_seed(19)
    rng = np.random.default_rng(20260519)
    cases = []
    cases.append(conv_case(rng, 'conv_3x3_same_s1_relu', (1, 7, 7, 3), 5, 3, 1, 'same', 'relu', (-1.0, 3.0)))
    cases.append(conv_case(rng, 'conv_3x3_valid_s2', (1, 9, 9, 4), 6, 3, 2, 'valid', None, (-2.5, 1.5)))
    cases.append(conv_case(rng, 'conv_3x3_same_s2_odd', (1, 8, 7, 3), 4, 3, 2, 'same', None, (-0.6, 0.9)))
    cases.append(conv_case(rng, 'conv_1x1_relu6', (1, 4, 4, 16), 6, 1, 1, 'valid', tf.nn.relu6, (-3.0, 5.0)))
    cases.append(conv_case(rng, 'conv_3x3_same_s1_pow2_scales', (1, 6, 6, 2), 4, 3, 1, 'same', None, (-1.0, 1.0), pow2=True))
    cases.append(fc_case(rng, 'fc_64_to_16', 64, 16, None, (-3.0, 2.0)))
    cases.append(fc_case(rng, 'fc_48_to_10_relu_batch2', 48, 10, 'relu', (-1.0, 4.0), batch=2))
    cases.append(fc_case(rng, 'fc_32_to_8_per_tensor', 32, 8, None, (-2.0, 2.0), per_tensor=True))
    cases.append(fc_case(rng, 'fc_16_to_8_pow2_scales_batch4', 16, 8, None, (-1.0, 1.0), batch=4, pow2=True))
    cases.append(avgpool_case(rng, 'avgpool_3x3_same_s1', (1, 6, 6, 3), 3, 1, 'same', (-2.0, 2.0)))
    cases.append(avgpool_case(rng, 'avgpool_3x3_same_s2', (1, 7, 8, 2), 3, 2, 'same', (-1.0, 5.0)))
    cases.append(avgpool_case(rng, 'avgpool_2x2_valid_s2', (1, 6, 6, 2), 2, 2, 'valid', (-4.0, 1.0)))
    cases.append(mean_case(rng, 'mean_5x5_scales_differ', (1, 5, 5, 6), (-2.0, 3.0), False))
    cases.append(mean_case(rng, 'mean_7x7_scales_differ', (1, 7, 7, 4), (-0.5, 6.0), False))
    cases.append(mean_case(rng, 'mean_5x5_scales_equal', (1, 5, 5, 6), (-2.0, 3.0), True))
    cases.append(mean_case(rng, 'mean_4x4_scales_equal', (1, 4, 4, 5), (-1.0, 7.0), True))
    cases.append(add_case(rng, 'add', (1, 5, 5, 4), None, ((-1.0, 2.0), (-6.0, 3.5))))
    cases.append(add_case(rng, 'add_relu', (1, 4, 6, 3), 'relu', ((-3.0, 3.0), (-0.5, 0.7))))
    cases.append(add_case(rng, 'add_tied_scales', (1, 4, 4, 4), None, ((-1.0, 1.0), (-1.0, 1.0)), tied_scales=(0.02, 3, -5, 0)))
    for half_range in (2.5, 12.75, 25.5, 63.75, 127.5, 5000.0):
        cases.append(softmax_case(rng, f'softmax_range_{half_range:g}', 4, 24, half_range))
    cases.extend(quantize_dequantize_cases(rng))
    cases.append(dequantize_all_case(rng))

    fixture = {
        'description': 'Single-op int8 TFLite models under the BUILTIN_REF interpreter; written by '
                       'scripts/make-tflite-op-goldens.py. Tensors are flattened row-major (NHWC; '
                       'filters OHWI for CONV_2D, [out, in] for FULLY_CONNECTED).',
        'tensorflow': tf.__version__,
        'cases': cases,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    text = json.dumps(fixture, separators=(',', ':'))
    with open(args.out, 'w') as f:
        f.write(text + '\n')
    print(f'wrote {args.out}: {len(cases)} cases, {len(text) + 1} bytes (TensorFlow {tf.__version__})')
    for c in cases:
        scales = {k: v['scale'] for k, v in c.items() if isinstance(v, dict) and 'scale' in v}
        print(f"  {c['name']:28s} {c['op']:16s} {len(c['samples'])} samples  scales {scales}")
    print('coverage:')
    for key, value in COVERAGE.counts.items():
        print(f'  {key}: {value}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
