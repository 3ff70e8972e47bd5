#!/usr/bin/env python3
"""Makes TFLite fixtures with TensorFlow's own converter, and goldens from TFLite's reference kernels.

Groundwork for issue 19 ("TFLite in"): a TFLite importer is tested against files that TensorFlow
itself wrote, and against outputs that TFLite's *reference* interpreter (BUILTIN_REF op resolver,
not the optimised XNNPACK/ruy kernels) computes on exactly the same input tensors.

What it writes
--------------
Committed (small, test/fixtures/tflite/, about 0.46 MB in all):
  keras-squeezenet-f32.tflite    a SqueezeNet-style Keras model with random (seeded) weights, float32
  keras-squeezenet-int8.tflite   the same model, full-integer int8 (int8 input and output)
  ops-f32.tflite, ops-int8.tflite  a tiny model (32x32x3 in, 5 classes, 4 channels) that holds every
                                 op the importer must read; its int8 file keeps float32 input and
                                 output, so the converter adds QUANTIZE first and DEQUANTIZE last
  pixels/<image>.npy             uint8 [96, 96, 3] pixels of each golden image (the first
                                 GOLDEN_IMAGES fixture images), shared by both keras-squeezenet files
  pixels/<image>.32x32.npy       uint8 [32, 32, 3] pixels of the same images, shared by both ops files
  manifest.json                  for every model: file, sha256, op list with options (read from the
                                 flatbuffer), input/output tensors and quantization, how the input
                                 tensor is made from the pixels, and per image the raw output tensor
                                 inline (see MANIFEST_FORMAT below)

  The Keras SqueezeNet (input 96x96x3 NHWC, 5 classes): Conv2D 7x7/2 96 filters 'same' + ReLU;
  MaxPool 3x3/2 ('valid'); Fire(16, 64, 64); Fire(16, 64, 64); MaxPool 3x3/2; Fire(24, 64, 64);
  Dropout(0.5); Conv2D 1x1 -> 5 + ReLU; GlobalAveragePooling2D; Softmax.  (Fire(s, e1, e3) =
  squeeze 1x1 s + ReLU, expand 1x1 e1 + ReLU and expand 3x3 e3 'same' + ReLU, concatenated on
  channels.)  It is the seed's Keras SqueezeNet variant, narrowed to three Fire modules so that the
  float file stays under ~300 KB.

  The ops model, as TFLite ops (the script asserts each, see OPS_REQUIRED): CONV_2D 3x3/2 SAME no
  activation (32 -> 16, padding 0 before and 1 after); PAD 2 (after that conv, whose positive
  biases give it an int8 zero point far from 0, which PAD must pad with); CONV_2D 3x3 VALID + RELU6
  fused; two branches CONV_2D 1x1 and 3x3 SAME, no activation, summed by ADD with RELU fused;
  AVERAGE_POOL_2D 3x3/1 SAME (edge windows hold 4 or 6 of 9 values); CONCATENATION on channels;
  MAX_POOL_2D 3x3/2 SAME (18 -> 9, padding 0 before and 1 after); then MEAN over H, W
  (GlobalAveragePooling2D) and, beside it, MAX_POOL_2D 3x3/3 VALID + RESHAPE (Flatten);
  CONCATENATION of both; FULLY_CONNECTED -> 5; SOFTMAX.  The converter folds a ZeroPadding2D into a
  following conv when the pad equals 'same' (1 for 3x3) and a Flatten of [1,1,1,C] into the
  FULLY_CONNECTED, hence pad 2 and a Flatten of a 3x3 map.  The Keras input has batch size 1: with a
  free batch, Flatten becomes SHAPE, STRIDED_SLICE, PACK and RESHAPE.

  Image preprocessing (what matters to a JS test is only the saved pixels and the formula):
  PIL decode to RGB; centre crop 224x224 (the fixture images already have their shorter side at 256);
  PIL resize to 96x96 (or 32x32) with Image.BILINEAR (PIL's filter antialiases when it shrinks).
  The model input is made from the uint8 pixels p as the manifest's input_from_pixels says:
    float32 input: x = (p / pixel_divisor - mean) / divisor, each step in float32; for these models
                   pixel_divisor 1, mean 128, divisor 128: (p - 128) / 128, exact in float32.
    int8 input (keras-squeezenet-int8; ops-int8 takes float32 and quantizes inside):
                   q = clamp(round(x / scale) + zero_point, -128, 127) as TFLite's QUANTIZE does it
                   (x / scale in float32, round half away from zero).  Calibration over the 96x96
                   fixture images makes scale 1/128 and zero point 0, i.e. q = p - 128; the manifest
                   says whether that happened (equals_p_minus_mean).  The script checks this rounding
                   against the ops int8 model's own QUANTIZE op (whose scale is not 1/128: the
                   antialiased 32x32 pixels do not reach 0 and 255).

Not committed (large, bench/out/tflite/, gitignored through bench/out/):
  squeezenet1.1-f32.tflite, squeezenet1.1-int8.tflite   SqueezeNet 1.1 rebuilt in Keras (NHWC) from
                         ../shared/models/squeezenet1.1.onnx (OIHW weights -> HWIO), input
                         224x224x3 RGB normalised ((p/255 - mean)/std, ImageNet mean/std), output the
                         1000 logits (no softmax).  torchvision's max pools use ceil_mode, but at a
                         224 input every pool (111->55, 55->27, 27->13) has the same size with floor
                         or ceil rounding and no partial window, so 'valid' pools are exact.
                         The int8 model is calibrated on the fixture images plus the first
                         CALIB_SHARED images of ../shared/imagenet-sample.
  squeezenet1.1-goldens/ manifest.json in the same format, over all fixture images (pixels/<image>.npy,
                         uint8 [224, 224, 3]) and the model zoo's reference input, which has no
                         pixels: its exact input tensors are <model>/zoo-reference.input.npy.
  The Keras float model and the float .tflite are compared with onnxruntime (if installed) on the
  fixture images and on the model zoo's reference input.

How to run
----------
  pip install tensorflow-cpu onnx onnxruntime pillow     # onnxruntime only for the check
  python3 scripts/make-tflite-fixtures.py [--shared ../shared] [--skip-squeezenet11]

Run from the repository root.  Deterministic: fixed seeds for weights and the representative
dataset; the script prints the sha256 of every file so that two runs can be compared.
`npm test` never runs this script; it only reads what the script committed.  ../shared is needed
only for SqueezeNet 1.1 (its weights and calibration images); --skip-squeezenet11 makes the
committed fixtures without it.  The script fails if the converter's op list differs from the one
the fixtures are meant to cover (an unexpected DEPTHWISE_CONV_2D, a separate RELU, a missing PAD...).
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
from PIL import Image
import tensorflow as tf
import keras
from keras import layers
from tensorflow.lite.python import schema_py_generated as schema

SEED = 19
KERAS_SIZE = 96
KERAS_CLASSES = 5
OPS_SIZE = 32
OPS_WIDTH = 4
OPS_CLASSES = 5
GAIN_FC = 0.1
GOLDEN_IMAGES = 3
CALIB_SHARED = 48
FIXTURES = "test/fixtures"
OUT_COMMITTED = os.path.join(FIXTURES, "tflite")
OUT_LARGE = os.path.join("bench", "out", "tflite")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
# How pixels become the float input: x = (p / pixel_divisor - mean) / divisor, in float32.
KERAS_NORM = {"pixel_divisor": 1, "mean": 128, "divisor": 128}
SQ11_NORM = {"pixel_divisor": 255, "mean": [float(v) for v in MEAN], "divisor": [float(v) for v in STD]}

MANIFEST_FORMAT = """\
{"_about", "_format", "_tensorflow", "_preprocessing": strings,
 "models": {<name>: {
   "file": .tflite beside the manifest (or in bench/out/tflite/), "bytes", "sha256",
   "op_resolver": "BUILTIN_REF" (the goldens' kernels),
   "ops": [op name, ...] in execution order (subgraph 0),
   "op_details": [{"op", options as in schema.fbs (snake_case; padding and fused_activation_function
                   by name), "inputs": [shape, ...] (weights too), "outputs": [shape],
                   "output_quantization": {"scale", "zero_point"} if the output is int8 per tensor}],
   "input", "output": {"name", "shape", "dtype" ("float32" | "int8"),
                       "quantization": {"scale": [], "zero_point": [], "quantized_dimension"}},
   "int8_tensors_per_channel": count,
   "input_from_pixels": {"kind": "float32", "pixel_divisor", "mean", "divisor"}
         x = (p / pixel_divisor - mean) / divisor, p the uint8 pixels, every step in float32
         (mean, divisor: a number or one per channel, exact float32 values)
     | {"kind": "int8", same four, "scale", "zero_point", "equals_p_minus_mean": bool}
         q = clamp(round_half_away_from_zero(x / scale) + zero_point, -128, 127), x / scale in float32
         (not double: it differs at ties), as TFLite's QUANTIZE;
         equals_p_minus_mean: q == p - mean for every golden image,
   "goldens": [{"image": fixture image file name,
                "pixels": .npy path (uint8 [H, W, 3]) relative to the manifest
                  | "input": .npy path of the exact input tensor (only where there are no pixels),
                "output": the raw output tensor, flattened: integers for int8, float32 values
                          written exactly (as the double equal to the float32) for float32,
                "argmax": index of the first largest output (int8 outputs can tie)}]}}}"""


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- images and input tensors

def load_crop(path, crop=224):
    """PIL decode, resize the shorter side to 256 (bilinear) if it is not 256, centre crop."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if min(w, h) != 256:
        s = 256 / min(w, h)
        im = im.resize((round(w * s), round(h * s)), Image.BILINEAR)
        w, h = im.size
    left, top = (w - crop) // 2, (h - crop) // 2
    return im.crop((left, top, left + crop, top + crop))


def pixels_at(path, size):
    """uint8 [size, size, 3] pixels: the 224 centre crop resized to size x size."""
    im = load_crop(path)
    if size != 224:
        im = im.resize((size, size), Image.BILINEAR)
    return np.asarray(im, np.uint8)


def fixture_images():
    files = sorted(glob.glob(os.path.join(FIXTURES, "images", "*")))
    assert len(files) >= GOLDEN_IMAGES, "too few fixture images"
    return files


def stem_of(path):
    return os.path.splitext(os.path.basename(path))[0]


def float_input(pixels, norm):
    """x = (p / pixel_divisor - mean) / divisor in float32, with a batch dimension."""
    p = pixels.astype(np.float32)
    mean, divisor = np.asarray(norm["mean"], np.float32), np.asarray(norm["divisor"], np.float32)
    x = (p / np.float32(norm["pixel_divisor"]) - mean) / divisor
    return x.astype(np.float32)[None]


def tflite_quantize(x, scale, zero_point):
    """TFLite's QUANTIZE to int8: x / scale in float32, std::round (half away from zero), + zp, clamp.
    (In float32: dividing in double differs where the float32 quotient rounds to a tie; check_quantize_op.)"""
    v = x.astype(np.float32) / np.float32(scale)
    whole = np.trunc(v)
    r = whole + np.sign(v) * (np.abs(v - whole) >= 0.5)   # exact, unlike floor(v + 0.5) near 0.5
    return np.clip(r + zero_point, -128, 127).astype(np.int8)


def model_input(pixels, spec):
    x = float_input(pixels, spec)
    return x if spec["kind"] == "float32" else tflite_quantize(x, spec["scale"], spec["zero_point"])


def save_pixels(out_dir, name, pixels):
    """Writes pixels/<name>.npy under out_dir; returns its path relative to out_dir."""
    rel = os.path.join("pixels", f"{name}.npy")
    os.makedirs(os.path.join(out_dir, "pixels"), exist_ok=True)
    np.save(os.path.join(out_dir, rel), pixels)
    return rel


# ---------------------------------------------------------------- models

def seeded_kw(start):
    """Initializer kwargs with fresh seeds per layer: a Keras 3 initializer with a fixed seed gives the
    same values on every call, so same-shaped layers would share weights (and the converter dedups them)."""
    seeds = iter(range(start, start + 1000))

    def kw(bias=(0.0, 0.05), gain=2.0):   # gain 2: He normal
        init = keras.initializers.VarianceScaling(gain, "fan_in", "truncated_normal", seed=next(seeds))
        return dict(kernel_initializer=init,
                    bias_initializer=keras.initializers.RandomUniform(*bias, seed=next(seeds)))
    return kw, seeds


def fire(x, name, squeeze, e1, e3, kw):
    s = layers.Conv2D(squeeze, 1, activation="relu", name=f"{name}_squeeze1x1", **kw())(x)
    a = layers.Conv2D(e1, 1, activation="relu", name=f"{name}_expand1x1", **kw())(s)
    b = layers.Conv2D(e3, 3, padding="same", activation="relu", name=f"{name}_expand3x3", **kw())(s)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([a, b])


def keras_squeezenet():
    keras.utils.set_random_seed(SEED)
    kw, seeds = seeded_kw(SEED * 100)
    inp = keras.Input((KERAS_SIZE, KERAS_SIZE, 3), name="input")
    x = layers.Conv2D(96, 7, strides=2, padding="same", activation="relu", name="conv1", **kw())(inp)
    x = layers.MaxPooling2D(3, 2, name="pool1")(x)
    x = fire(x, "fire2", 16, 64, 64, kw)
    x = fire(x, "fire3", 16, 64, 64, kw)
    x = layers.MaxPooling2D(3, 2, name="pool3")(x)
    x = fire(x, "fire4", 24, 64, 64, kw)
    x = layers.Dropout(0.5, name="drop")(x)
    # Positive classifier weights so that no class is stuck at relu(negative) = 0 on every image.
    x = layers.Conv2D(KERAS_CLASSES, 1, activation="relu", name="conv10",
                      bias_initializer=keras.initializers.RandomUniform(0.0, 0.05, seed=next(seeds)),
                      kernel_initializer=keras.initializers.RandomUniform(0.0, 0.4, seed=next(seeds)))(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Softmax(name="prob")(x)
    return keras.Model(inp, out, name="keras_squeezenet")


def ops_model():
    """Tiny model whose conversion holds every op of OPS_REQUIRED (shapes in the docstring)."""
    keras.utils.set_random_seed(SEED)
    kw, _ = seeded_kw(SEED * 200)
    c = OPS_WIDTH
    # Batch size 1: with a free batch, Flatten converts to SHAPE/STRIDED_SLICE/PACK/RESHAPE.
    inp = keras.Input((OPS_SIZE, OPS_SIZE, 3), batch_size=1, name="input")
    # Biases well above 0 make this output's range lopsided, so that in int8 the PAD after it pads
    # with a zero point far from 0 (padding with int8 0 would then be visibly wrong).
    x = layers.Conv2D(c, 3, strides=2, padding="same", name="conv_s2_same", **kw((0.4, 0.8)))(inp)
    # Pad 2 then a 3x3 'valid' conv: a pad of 1 would be folded into a 'same' conv (no PAD op).
    x = layers.ZeroPadding2D(2, name="pad2")(x)
    x = layers.Conv2D(c, 3, padding="valid", name="conv_valid", **kw())(x)
    x = layers.ReLU(max_value=6, name="relu6")(x)                    # fused into the conv
    a = layers.Conv2D(c, 1, name="branch_1x1", **kw((-0.05, 0.05)))(x)
    b = layers.Conv2D(c, 3, padding="same", name="branch_3x3", **kw((-0.05, 0.05)))(x)
    r = layers.ReLU(name="relu")(layers.Add(name="residual")([a, b]))  # fused into the ADD
    p = layers.AveragePooling2D(3, 1, padding="same", name="avgpool_same")(r)
    x = layers.Concatenate(name="concat")([r, p])
    x = layers.MaxPooling2D(3, 2, padding="same", name="maxpool_same")(x)
    g = layers.GlobalAveragePooling2D(name="gap")(x)
    # Flatten of a 3x3 map stays a RESHAPE; of the [1,1,1,C] GAP output it would fold into the FC.
    # A PAD before a max pool (as ceil-mode pools convert): its zeros are never the max after ReLUs.
    f = layers.Flatten(name="flatten")(layers.MaxPooling2D(3, 3, name="maxpool_valid")(layers.ZeroPadding2D(1, name="pad1")(x)))
    x = layers.Concatenate(name="concat_head")([g, f])
    # Small weights keep the softmax off saturation, so that int8 outputs are not all 0 but one.
    x = layers.Dense(OPS_CLASSES, name="fc", **kw((-0.05, 0.05), GAIN_FC))(x)
    out = layers.Softmax(name="prob")(x)
    return keras.Model(inp, out, name="ops")


def squeezenet11_from_onnx(onnx_path):
    """SqueezeNet 1.1 in Keras, NHWC, with the ONNX model's weights (convN_W OIHW -> HWIO)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(onnx_path)
    w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    assert len(convs) == 26, len(convs)
    it = iter(convs)

    def conv(x, filters, k, stride=1, padding="valid", name=None):
        node = next(it)
        W, B = w[node.input[1]], w[node.input[2]]
        assert W.shape[0] == filters and W.shape[2] == k, (node.name, W.shape)
        layer = layers.Conv2D(filters, k, strides=stride, padding=padding, activation="relu", name=node.output[0])
        y = layer(x)
        layer.set_weights([W.transpose(2, 3, 1, 0), B])
        return y

    def fire11(x, s, e):
        s_ = conv(x, s, 1)
        a = conv(s_, e, 1)
        b = conv(s_, e, 3, padding="same")
        return layers.Concatenate(axis=-1)([a, b])

    inp = keras.Input((224, 224, 3), name="data")
    x = conv(inp, 64, 3, stride=2)                     # 111
    x = layers.MaxPooling2D(3, 2)(x)                   # 55 (ceil == floor here)
    x = fire11(x, 16, 64)
    x = fire11(x, 16, 64)
    x = layers.MaxPooling2D(3, 2)(x)                   # 27
    x = fire11(x, 32, 128)
    x = fire11(x, 32, 128)
    x = layers.MaxPooling2D(3, 2)(x)                   # 13
    x = fire11(x, 48, 192)
    x = fire11(x, 48, 192)
    x = fire11(x, 64, 256)
    x = fire11(x, 64, 256)
    x = layers.Dropout(0.5)(x)
    x = conv(x, 1000, 1)
    out = layers.GlobalAveragePooling2D(name="logits")(x)
    return keras.Model(inp, out, name="squeezenet1_1")


# ---------------------------------------------------------------- conversion

def convert(model, calib=None, int8_io=True):
    """float32 .tflite if calib is None, else full-integer int8 (int8 input and output if int8_io,
    else float32 ones, which makes the converter add QUANTIZE and DEQUANTIZE ops)."""
    # (from_concrete_functions on a Keras 3 model leaves READ_VARIABLE ops that break calibration.)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if calib is not None:
        def rep():
            for x in calib:
                yield [x]
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    return conv.convert()


def write_float_and_int8(out_dir, stem, model, calib, int8_io=True):
    """Converts `model` to <stem>-f32.tflite and, calibrated on `calib`, <stem>-int8.tflite in out_dir; returns both paths."""
    paths = (os.path.join(out_dir, f"{stem}-f32.tflite"), os.path.join(out_dir, f"{stem}-int8.tflite"))
    for path, data in zip(paths, (None, calib)):
        with open(path, "wb") as f:
            f.write(convert(model, data, int8_io) if data is not None else convert(model))
    return paths


def ref_interpreter(path, keep_all=False):
    it = tf.lite.Interpreter(model_path=path, experimental_preserve_all_tensors=keep_all,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it


# ---------------------------------------------------------------- reading the .tflite

OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
ENUM_OPTIONS = {"padding": schema.Padding, "fused_activation_function": schema.ActivationFunctionType}
# Quantizer bookkeeping (int16 and hybrid modes, shuffled weights), unused by float32 and int8 files.
SKIP_OPTIONS = {"quantized_bias_type", "pot_scale_int16", "asymmetric_quantize_inputs", "weights_format"}


def snake(name):
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def op_options(op):
    """The builtin options of an operator as a dict with schema.fbs's names; enums by name."""
    if op.builtinOptions is None:
        return {}
    out = {}
    for key, v in vars(op.builtinOptions).items():
        key = snake(key)
        if key in SKIP_OPTIONS:
            continue
        if key in ENUM_OPTIONS:
            v = next(k for k, n in vars(ENUM_OPTIONS[key]).items() if n == v and not k.startswith("_"))
        out[key] = v.tolist() if isinstance(v, (np.generic, np.ndarray)) else v
    return out


def tensor_quant(t):
    q = t.quantization
    if t.type != schema.TensorType.INT8 or q is None or q.scale is None or len(q.scale) != 1:
        return None
    return {"scale": float(q.scale[0]), "zero_point": int(q.zeroPoint[0])}


def op_details(path):
    """Each operator of subgraph 0, read from the flatbuffer: name, options, shapes, int8 output quantization."""
    with open(path, "rb") as f:
        m = schema.ModelT.InitFromPackedBuf(f.read(), 0)
    g = m.subgraphs[0]
    out = []
    for op in g.operators:
        code = m.operatorCodes[op.opcodeIndex]
        d = {"op": OP_NAMES[max(code.builtinCode, code.deprecatedBuiltinCode)], **op_options(op),
             "inputs": [[int(n) for n in g.tensors[i].shape] for i in op.inputs if i >= 0],
             "outputs": [[int(n) for n in g.tensors[i].shape] for i in op.outputs]}
        q = tensor_quant(g.tensors[op.outputs[0]])
        if q:
            d["output_quantization"] = q
        out.append(d)
    return out


def op_text(d):
    """One line per op for the log: name, the options that matter, input -> output shape."""
    keys = ("filter_height", "stride_h", "padding", "fused_activation_function", "axis", "keep_dims", "keep_num_dims")
    opts = " ".join(f"{k}={d[k]}" for k in keys if k in d)
    q = d.get("output_quantization")
    q = f" q={q['scale']:.4g}/{q['zero_point']}" if q else ""
    return f"{d['op']:16s} {opts} {d['inputs'][0]} -> {d['outputs'][0]}{q}"


def quant_of(d):
    q = d["quantization_parameters"]
    return {"scale": [float(s) for s in q["scales"]], "zero_point": [int(z) for z in q["zero_points"]],
            "quantized_dimension": int(q["quantized_dimension"])}


def tensor_info(d):
    return {"name": d["name"], "shape": d["shape"].tolist(), "dtype": np.dtype(d["dtype"]).name,
            "quantization": quant_of(d)}


def describe(path):
    """Interpreter, and the manifest's description of the file (ops, tensors, quantization)."""
    it = ref_interpreter(path)
    details = op_details(path)
    per_channel = sum(1 for d in it.get_tensor_details()
                      if d["dtype"] == np.int8 and len(d["quantization_parameters"]["scales"]) > 1)
    return it, {
        "file": os.path.basename(path), "bytes": os.path.getsize(path), "sha256": sha256(path),
        "op_resolver": "BUILTIN_REF",
        "ops": [d["op"] for d in details],
        "op_details": details,
        "input": tensor_info(it.get_input_details()[0]),
        "output": tensor_info(it.get_output_details()[0]),
        "int8_tensors_per_channel": per_channel,
    }


# ---------------------------------------------------------------- op checks

def pads_window(d):
    """True if a SAME conv/pool has padding, i.e. some window lies partly outside the input."""
    (_, h, _, _), (_, oh, _, _) = d["inputs"][0], d["outputs"][0]
    k = d["filter_height"] if "filter_height" in d else d["inputs"][1][1]
    return d["padding"] == "SAME" and (oh - 1) * d["stride_h"] + k > h


def is_op(name, **want):
    return lambda d: d["op"] == name and all(d.get(k) == v for k, v in want.items())


# (what the fixture must show, test); every op of the ops model, with the options an importer must honour.
OPS_REQUIRED = [
    ("PAD", is_op("PAD")),
    ("CONV_2D VALID with fused RELU6", is_op("CONV_2D", padding="VALID", fused_activation_function="RELU6")),
    ("CONV_2D stride 2 SAME, padded, no activation",
     lambda d: is_op("CONV_2D", stride_h=2, fused_activation_function="NONE")(d) and pads_window(d)),
    ("CONV_2D 3x3 stride 1 SAME, no activation",
     lambda d: is_op("CONV_2D", stride_h=1, padding="SAME", fused_activation_function="NONE")(d) and pads_window(d)),
    ("AVERAGE_POOL_2D SAME, edge windows partly outside", lambda d: is_op("AVERAGE_POOL_2D")(d) and pads_window(d)),
    ("MAX_POOL_2D SAME, edge windows partly outside", lambda d: is_op("MAX_POOL_2D")(d) and pads_window(d)),
    ("MAX_POOL_2D VALID", is_op("MAX_POOL_2D", padding="VALID")),
    ("ADD with fused RELU", is_op("ADD", fused_activation_function="RELU")),
    ("CONCATENATION on channels of 4-D tensors", lambda d: is_op("CONCATENATION")(d) and len(d["outputs"][0]) == 4),
    ("MEAN over H, W", lambda d: is_op("MEAN")(d) and d["inputs"][1] == [2]),
    ("RESHAPE (Flatten)", is_op("RESHAPE")),
    ("FULLY_CONNECTED", is_op("FULLY_CONNECTED")),
    ("SOFTMAX", is_op("SOFTMAX")),
]
OPS_ALLOWED = {"PAD", "CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "CONCATENATION", "MEAN", "RESHAPE",
               "FULLY_CONNECTED", "SOFTMAX"}
SQUEEZE_REQUIRED = [("CONV_2D with fused RELU", is_op("CONV_2D", fused_activation_function="RELU")),
                    ("MAX_POOL_2D VALID", is_op("MAX_POOL_2D", padding="VALID")),
                    ("CONCATENATION", is_op("CONCATENATION")), ("MEAN", is_op("MEAN"))]
SQUEEZE_ALLOWED = {"CONV_2D", "MAX_POOL_2D", "CONCATENATION", "MEAN", "SOFTMAX"}


def check_ops(label, info, required, allowed, ends=None):
    """Fails loudly if the converter made other ops than the fixture is meant to hold (or lacks one).
    ends: (first, last) ops that must open and close the graph and appear nowhere else."""
    names = info["ops"]
    inner = names[1:-1] if ends else names
    extra = sorted(set(inner) - allowed)
    missing = [what for what, test in required if not any(test(d) for d in info["op_details"])]
    after = [info["ops"][i - 1] for i, op in enumerate(info["ops"]) if op == "MAX_POOL_2D"]
    if label.startswith("ops") and "PAD" not in after:
        missing.append("PAD before MAX_POOL_2D")
    ends_ok = not ends or (names[0], names[-1]) == ends
    if extra or missing or not ends_ok:
        sys.exit(f"{label}: the converter's ops are not the expected ones: unexpected {extra}, missing {missing}, "
                 f"expected first/last {ends}; ops: {names}")
    print(f"   ops checked: {len(required)} required kinds present, nothing else"
          + (f", {ends[0]} first and {ends[1]} last" if ends else ""))


# ---------------------------------------------------------------- goldens

def pixel_cases(out_dir, images, size, suffix=""):
    """Golden cases of `images` at size x size; writes each one's pixels once, as pixels/<image><suffix>.npy."""
    cases = []
    for f in images:
        p = pixels_at(f, size)
        cases.append({"image": os.path.basename(f), "pixels": p,
                      "pixels_path": save_pixels(out_dir, stem_of(f) + suffix, p)})
    return cases


def calibration(cases, norm, mirror=True):
    """Float inputs for the representative dataset (and their mirror images: more data, same range)."""
    xs = [float_input(c["pixels"], norm) for c in cases]
    return xs + [x[:, :, ::-1, :].copy() for x in xs] if mirror else xs


def input_spec(it, norm):
    """input_from_pixels of the interpreter's input tensor: the float formula, plus its quantization for int8."""
    d = it.get_input_details()[0]
    if d["dtype"] == np.float32:
        return {"kind": "float32", **norm}
    q = quant_of(d)
    return {"kind": "int8", **norm, "scale": q["scale"][0], "zero_point": q["zero_point"][0]}


def output_json(y):
    """Raw output tensor, flattened: ints for int8; for float32 the double equal to each value (exact in JSON)."""
    return [int(v) for v in y.ravel()] if y.dtype == np.int8 else [float(v) for v in y.ravel()]


def case_input(c, spec, out_dir, name):
    """(input tensor, golden entry head): from the pixels by the spec, else the case's float tensor, saved as .npy."""
    if "pixels" in c:
        return model_input(c["pixels"], spec), {"image": c["image"], "pixels": c["pixels_path"]}
    x = c["float_input"]
    if spec["kind"] == "int8":
        x = tflite_quantize(x, spec["scale"], spec["zero_point"])
    rel = os.path.join(name, f"{c['image']}.input.npy")
    os.makedirs(os.path.join(out_dir, name), exist_ok=True)
    np.save(os.path.join(out_dir, rel), x)
    return x, {"image": c["image"], "input": rel}


def goldens(path, name, cases, norm, out_dir):
    """Runs the reference interpreter on every case; returns the model's manifest entry."""
    it, info = describe(path)
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    spec = input_spec(it, norm)
    entries, shortcut = [], spec["kind"] == "int8"
    for c in cases:
        x, entry = case_input(c, spec, out_dir, name)
        assert x.dtype == ind["dtype"] and list(x.shape) == ind["shape"].tolist(), (x.dtype, x.shape)
        if shortcut and "pixels" in c:
            shortcut = np.array_equal(x[0].astype(np.float64), c["pixels"] - np.asarray(norm["mean"], np.float64))
        it.set_tensor(ind["index"], x)
        it.invoke()
        y = it.get_tensor(outd["index"])
        entries.append({**entry, "output": output_json(y), "argmax": int(np.argmax(y))})
    if spec["kind"] == "int8":
        spec["equals_p_minus_mean"] = bool(shortcut)
    info.update({"input_from_pixels": spec, "goldens": entries})
    return info


def outputs_float(info):
    """The goldens' outputs as float32 rows, dequantized if the output is int8."""
    y = np.array([e["output"] for e in info["goldens"]], np.float32)
    q = info["output"]["quantization"]
    return (y - q["zero_point"][0]) * np.float32(q["scale"][0]) if info["output"]["dtype"] == "int8" else y


def check_quantize_op(path, xs):
    """tflite_quantize against the model's own first op, QUANTIZE, on xs and on random floats
    (near ties, and beyond the clamp)."""
    it = ref_interpreter(path, keep_all=True)
    op = it._get_ops_details()[0]
    assert op["op_name"] == "QUANTIZE", op
    t = it.get_tensor_details()[op["outputs"][0]]
    scale, zp = float(t["quantization_parameters"]["scales"][0]), int(t["quantization_parameters"]["zero_points"][0])
    rng = np.random.default_rng(SEED)
    shape = xs[0].shape
    near_ties = ((rng.integers(-140, 140, shape) + 0.5) * np.float32(scale) - zp * np.float32(scale)).astype(np.float32)
    tries = list(xs) + [rng.uniform(-1.2, 1.2, shape).astype(np.float32), near_ties]
    bad = 0
    for x in tries:
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        bad += int(np.sum(it.get_tensor(t["index"]) != tflite_quantize(x, scale, zp)))
    # The check has teeth: on the near-ties (the last try), rounding half to even gives other values.
    even = int(np.sum(it.get_tensor(t["index"]) != np.clip(np.round(near_ties / np.float32(scale)) + zp, -128, 127)))
    print(f"   QUANTIZE op (scale {scale!r}, zero point {zp}) vs tflite_quantize on {len(tries)} tensors: {bad} differ "
          f"(half to even: {even} differ)")
    assert bad == 0, "tflite_quantize does not round like TFLite's QUANTIZE"


def print_summary(path, info):
    print(f"\n== {path}: {os.path.getsize(path)} bytes, sha256 {sha256(path)[:16]}")
    for d in info["op_details"]:
        print(f"   {op_text(d)}")
    print(f"   input  {info['input']}")
    print(f"   output {info['output']}")
    print(f"   input_from_pixels {info['input_from_pixels']}")
    print(f"   int8 tensors with per-channel quantization: {info['int8_tensors_per_channel']}")


def compact_json(obj):
    """json with indent 1, but every list of plain values (shapes, outputs, op names) on one line."""
    def one_line(m):
        try:
            return json.dumps(json.loads(m.group(0)))
        except ValueError:   # a bracket inside a string
            return m.group(0)
    text = re.sub(r"\[[^\[\]{}]*\]", one_line, json.dumps(obj, indent=1))
    assert json.loads(text) == obj
    return text + "\n"


def write_manifest(out_dir, manifest):
    path = os.path.join(out_dir, "manifest.json")
    with open(path, "w") as f:
        f.write(compact_json(manifest))
    return path


def new_manifest(preprocessing):
    return {"_about": "Written by scripts/make-tflite-fixtures.py; outputs from tf.lite.Interpreter with "
                      "OpResolverType.BUILTIN_REF on the input tensors that input_from_pixels makes. NHWC.",
            "_format": MANIFEST_FORMAT.splitlines(), "_tensorflow": tf.__version__,
            "_preprocessing": preprocessing, "models": {}}


# ---------------------------------------------------------------- main

def make_keras_squeezenet(images, models):
    """keras-squeezenet-{f32,int8}.tflite and their goldens; returns the files written."""
    model = keras_squeezenet()
    calib = calibration([{"pixels": pixels_at(f, KERAS_SIZE)} for f in images], KERAS_NORM)
    f32, i8 = write_float_and_int8(OUT_COMMITTED, "keras-squeezenet", model, calib)
    cases = pixel_cases(OUT_COMMITTED, images[:GOLDEN_IMAGES], KERAS_SIZE)
    for path, name in ((f32, "keras-squeezenet-f32"), (i8, "keras-squeezenet-int8")):
        models[name] = goldens(path, name, cases, KERAS_NORM, OUT_COMMITTED)
        print_summary(path, models[name])
        check_ops(name, models[name], SQUEEZE_REQUIRED, SQUEEZE_ALLOWED)
    report_accuracy(model, cases, KERAS_NORM, models["keras-squeezenet-f32"], models["keras-squeezenet-int8"])
    return [f32, i8] + [os.path.join(OUT_COMMITTED, c["pixels_path"]) for c in cases]


def make_ops(images, models):
    """ops-{f32,int8}.tflite (float32 in/out for both) and their goldens; returns the files written."""
    model = ops_model()
    calib = calibration([{"pixels": pixels_at(f, OPS_SIZE)} for f in images], KERAS_NORM)
    f32, i8 = write_float_and_int8(OUT_COMMITTED, "ops", model, calib, int8_io=False)
    cases = pixel_cases(OUT_COMMITTED, images[:GOLDEN_IMAGES], OPS_SIZE, f".{OPS_SIZE}x{OPS_SIZE}")
    for path, name, ends in ((f32, "ops-f32", None), (i8, "ops-int8", ("QUANTIZE", "DEQUANTIZE"))):
        models[name] = goldens(path, name, cases, KERAS_NORM, OUT_COMMITTED)
        print_summary(path, models[name])
        check_ops(name, models[name], OPS_REQUIRED, OPS_ALLOWED, ends)
    check_quantize_op(i8, [float_input(c["pixels"], KERAS_NORM) for c in cases])
    report_accuracy(model, cases, KERAS_NORM, models["ops-f32"], models["ops-int8"])
    return [f32, i8] + [os.path.join(OUT_COMMITTED, c["pixels_path"]) for c in cases]


def report_accuracy(model, cases, norm, f32_info, i8_info):
    """Keras vs the float .tflite, and the int8 .tflite (dequantized) vs the float one: sanity, not a test."""
    keras_out = np.concatenate([model(float_input(c["pixels"], norm), training=False).numpy() for c in cases])
    fl, q8 = outputs_float(f32_info), outputs_float(i8_info)
    print(f"\n   max |keras - tflite f32| = {np.abs(keras_out - fl).max():.3g}; "
          f"max |int8 - f32| = {np.abs(q8 - fl).max():.4f}; argmax f32 {fl.argmax(1).tolist()}, "
          f"int8 {q8.argmax(1).tolist()}")


def make_refused():
    """Two small files the importer must refuse, naming why: a DEPTHWISE_CONV_2D (an op it does not
    convert), and a dynamic-range model (float activations, int8 weights: Optimize.DEFAULT without a
    representative dataset)."""
    tf.keras.utils.set_random_seed(7)
    x = tf.keras.Input(shape=(16, 16, 3), batch_size=1)
    y = layers.DepthwiseConv2D(3, padding="same")(layers.Conv2D(8, 1)(x))
    y = layers.Dense(4)(layers.GlobalAveragePooling2D()(y))
    depthwise = tf.keras.Model(x, y)
    x = tf.keras.Input(shape=(16, 16, 3), batch_size=1)
    y = layers.Conv2D(64, 3, padding="same")(x)    # 1,728 weights: above dynamic range's 1,024
    dynamic = tf.keras.Model(x, layers.Dense(4)(layers.GlobalAveragePooling2D()(y)))
    paths = []
    for name, model, optimize in (("refused-depthwise", depthwise, False), ("refused-dynamic-range", dynamic, True)):
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        if optimize:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
        path = os.path.join(OUT_COMMITTED, f"{name}.tflite")
        with open(path, "wb") as f:
            f.write(conv.convert())
        paths.append(path)
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--skip-squeezenet11", action="store_true")
    ap.add_argument("--analyze", action="store_true", help="also print tf.lite.experimental.Analyzer output")
    args = ap.parse_args()
    tf.config.experimental.enable_op_determinism()

    images = fixture_images()
    os.makedirs(OUT_COMMITTED, exist_ok=True)
    manifest = new_manifest("PIL RGB decode, centre crop 224, PIL BILINEAR resize to 96x96 (keras-squeezenet) or "
                            "32x32 (ops) -> uint8 p; the model input from p as input_from_pixels says")
    written = make_keras_squeezenet(images, manifest["models"]) + make_ops(images, manifest["models"]) + make_refused()
    written.append(write_manifest(OUT_COMMITTED, manifest))
    if args.analyze:
        for p in written:
            if p.endswith(".tflite"):
                tf.lite.experimental.Analyzer.analyze(model_path=p, gpu_compatibility=False)

    if not args.skip_squeezenet11:
        squeezenet11(args.shared, images, args.analyze)

    print("\ncommitted files:")
    total = 0
    for p in written:
        total += os.path.getsize(p)
        print(f"  {os.path.getsize(p):8d}  {sha256(p)[:16]}  {p}")
    print(f"  {total:8d}  total written to {OUT_COMMITTED}")
    assert total < 1_000_000, "committed fixtures should stay well under 1 MB"


def squeezenet11(shared, images, analyze):
    onnx_path = os.path.join(shared, "models", "squeezenet1.1.onnx")
    model = squeezenet11_from_onnx(onnx_path)
    gold_dir = os.path.join(OUT_LARGE, "squeezenet1.1-goldens")
    shutil.rmtree(gold_dir, ignore_errors=True)   # all of it is this script's: a rerun leaves nothing stale
    ref_in = np.load(os.path.join(shared, "models", "squeezenet1.1-reference", "input_0.npy"))
    ref_out = np.load(os.path.join(shared, "models", "squeezenet1.1-reference", "output_0.npy"))
    cases = pixel_cases(gold_dir, images, 224)
    extra = sorted(glob.glob(os.path.join(shared, "imagenet-sample", "*.JPEG")))[:CALIB_SHARED]
    calib = calibration(cases, SQ11_NORM, mirror=False) + [float_input(pixels_at(f, 224), SQ11_NORM) for f in extra]
    cases.append({"image": "zoo-reference", "float_input": ref_in.transpose(0, 2, 3, 1).copy()})

    os.makedirs(OUT_LARGE, exist_ok=True)
    f32, i8 = write_float_and_int8(OUT_LARGE, "squeezenet1.1", model, calib)
    manifest = new_manifest("PIL RGB decode, centre crop 224 (shorter side already 256) -> uint8 p; "
                            "the model input from p as input_from_pixels says ((p/255-mean)/std)")
    models = manifest["models"]
    for path, name in ((f32, "squeezenet1.1-f32"), (i8, "squeezenet1.1-int8")):
        models[name] = goldens(path, name, cases, SQ11_NORM, gold_dir)
        print_summary(path, models[name])
        check_ops(name, models[name], SQUEEZE_REQUIRED, SQUEEZE_ALLOWED - {"SOFTMAX"})
    write_manifest(gold_dir, manifest)
    compare_onnx(onnx_path, model, cases, models, ref_out)
    if analyze:
        for p in (f32, i8):
            tf.lite.experimental.Analyzer.analyze(model_path=p, gpu_compatibility=False)
    for p in (f32, i8):
        print(f"  {os.path.getsize(p):8d}  {sha256(p)[:16]}  {p}")


def compare_onnx(onnx_path, model, cases, models, ref_out):
    """Checks: Keras vs onnxruntime, tflite (reference kernels) vs onnxruntime, int8 vs float."""
    inputs = [c["float_input"] if "float_input" in c else float_input(c["pixels"], SQ11_NORM) for c in cases]
    keras_out = [model(x, training=False).numpy() for x in inputs]
    tfl, tfl8 = outputs_float(models["squeezenet1.1-f32"]), outputs_float(models["squeezenet1.1-int8"])
    print(f"   zoo reference: max |keras - zoo output| = {np.abs(keras_out[-1] - ref_out).max():.3g} "
          f"(|logits| up to {np.abs(ref_out).max():.0f})")
    try:
        import onnxruntime as ort
    except ImportError:
        print("   onnxruntime not installed: skipped the onnxruntime check")
        return
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    iname = sess.get_inputs()[0].name
    for c, x, k, t, t8 in zip(cases, inputs, keras_out, tfl, tfl8):
        o = sess.run(None, {iname: x.transpose(0, 3, 1, 2).copy()})[0]
        print(f"   {c['image']:34s} ort argmax {int(o.argmax()):4d} | max|keras-ort| {np.abs(k - o).max():.2e} "
              f"| max|tflite f32-ort| {np.abs(t - o).max():.2e} | int8 argmax {int(t8.argmax()):4d}, "
              f"max|int8-ort| {np.abs(t8 - o).max():.2f} (max|ort| {np.abs(o).max():.1f})")


if __name__ == "__main__":
    sys.exit(main())
