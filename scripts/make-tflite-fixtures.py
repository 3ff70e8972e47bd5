#!/usr/bin/env python3
"""Makes TFLite fixtures with TensorFlow's own converter, and goldens from TFLite's reference kernels.

Groundwork for issue 19 ("TFLite in"): a TFLite importer is tested against files that TensorFlow
itself wrote, and against outputs that TFLite's *reference* interpreter (BUILTIN_REF op resolver,
not the optimised XNNPACK/ruy kernels) computes on exactly the same input tensors.

What it writes
--------------
Committed (small, test/fixtures/tflite/):
  keras-squeezenet-f32.tflite    a SqueezeNet-style Keras model with random (seeded) weights, float32
  keras-squeezenet-int8.tflite   the same model, full-integer int8 (int8 input and output)
  goldens/manifest.json          for every model: input/output names, shapes, dtypes, quantization,
                                 op list, sha256 of the .tflite, and per image the .npy file names,
                                 the float output (dequantized for int8) and its argmax
  goldens/<model>/<image>.input.npy    the exact input tensor fed to the interpreter (NHWC)
  goldens/<model>/<image>.output.npy   the raw output tensor (int8 for the int8 model, float32 else)

  The Keras model (input 96x96x3 NHWC, 5 classes): Conv2D 7x7/2 96 filters 'same' + ReLU;
  MaxPool 3x3/2 ('valid'); Fire(16, 64, 64); Fire(16, 64, 64); MaxPool 3x3/2; Fire(24, 64, 64);
  Dropout(0.5); Conv2D 1x1 -> 5 + ReLU; GlobalAveragePooling2D; Softmax.  (Fire(s, e1, e3) =
  squeeze 1x1 s + ReLU, expand 1x1 e1 + ReLU and expand 3x3 e3 'same' + ReLU, concatenated on
  channels.)  It is the seed's Keras SqueezeNet variant, narrowed to three Fire modules so that the
  float file stays under ~300 KB.

  Image preprocessing for these goldens (what matters to a JS test is only the saved tensor):
  PIL decode to RGB; centre crop 224x224 (the fixture images already have their shorter side at 256);
  PIL resize to 96x96 with Image.BILINEAR (PIL's filter antialiases when it shrinks); p = uint8 pixels.
    float32 model input: (p - 128) / 128     (exact in float32)
    int8 model input:    the quantized input, round(x / scale) + zero_point; calibration over the
                         fixture images makes scale 1/128 and zero point 0, i.e. p - 128 (the script
                         checks and prints whether that happened).

Not committed (large, bench/out/tflite/, gitignored through bench/out/):
  squeezenet1.1-f32.tflite, squeezenet1.1-int8.tflite   SqueezeNet 1.1 rebuilt in Keras (NHWC) from
                         ../shared/models/squeezenet1.1.onnx (OIHW weights -> HWIO), input
                         224x224x3 RGB normalised ((x/255 - mean)/std, ImageNet mean/std), output the
                         1000 logits (no softmax).  torchvision's max pools use ceil_mode, but at a
                         224 input every pool (111->55, 55->27, 27->13) has the same size with floor
                         or ceil rounding and no partial window, so 'valid' pools are exact.
                         The int8 model is calibrated on the fixture images plus the first
                         CALIB_SHARED images of ../shared/imagenet-sample.
  squeezenet1.1-goldens/ the same kind of goldens as above, for these two models.
  The Keras float model and the float .tflite are compared with onnxruntime (if installed) on the
  fixture images and on the model zoo's reference input.

How to run
----------
  pip install tensorflow-cpu onnx onnxruntime pillow     # onnxruntime only for the check
  python3 scripts/make-tflite-fixtures.py [--shared ../shared] [--skip-squeezenet11]

Run from the repository root.  Deterministic: fixed seeds for weights and the representative
dataset; the script prints the sha256 of every file so that two runs can be compared.
`npm test` never runs this script; it only reads what the script committed.  ../shared is needed
only for part (b), the SqueezeNet 1.1 weights (and its calibration images); --skip-squeezenet11
makes the committed fixtures without it.
"""

import argparse
import glob
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
from PIL import Image
import tensorflow as tf
import keras
from keras import layers

SEED = 19
KERAS_SIZE = 96
KERAS_CLASSES = 5
CALIB_SHARED = 48
FIXTURES = "test/fixtures"
OUT_COMMITTED = os.path.join(FIXTURES, "tflite")
OUT_LARGE = os.path.join("bench", "out", "tflite")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- images

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


def keras_pixels(path):
    """uint8 [96, 96, 3] pixels for the Keras fixture model."""
    im = load_crop(path).resize((KERAS_SIZE, KERAS_SIZE), Image.BILINEAR)
    return np.asarray(im, np.uint8)


def keras_float_input(pixels):
    return ((pixels.astype(np.float32) - 128.0) / 128.0)[None]


def sq11_float_input(pixels):
    return ((pixels.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32)[None]


def fixture_images():
    files = sorted(glob.glob(os.path.join(FIXTURES, "images", "*")))
    assert files, "no fixture images"
    return files


# ---------------------------------------------------------------- models

def fire(x, name, squeeze, e1, e3, kw):
    s = layers.Conv2D(squeeze, 1, activation="relu", name=f"{name}_squeeze1x1", **kw())(x)
    a = layers.Conv2D(e1, 1, activation="relu", name=f"{name}_expand1x1", **kw())(s)
    b = layers.Conv2D(e3, 3, padding="same", activation="relu", name=f"{name}_expand3x3", **kw())(s)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([a, b])


def keras_squeezenet():
    keras.utils.set_random_seed(SEED)
    # A Keras 3 initializer with a fixed seed gives the same values on every call, so each layer
    # gets its own seeds (otherwise same-shaped layers share weights and the converter dedups them).
    seeds = iter(range(SEED * 100, SEED * 100 + 1000))

    def kw():
        return dict(kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)),
                    bias_initializer=keras.initializers.RandomUniform(0.0, 0.05, seed=next(seeds)))

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

def convert(model, calib=None):
    """float32 .tflite if calib is None, else full-integer int8 with int8 input and output."""
    # (from_concrete_functions on a Keras 3 model leaves READ_VARIABLE ops that break calibration.)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if calib is not None:
        def rep():
            for x in calib:
                yield [x]
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


def ref_interpreter(path):
    it = tf.lite.Interpreter(model_path=path,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it


def quant_of(d):
    q = d["quantization_parameters"]
    return {"scale": [float(s) for s in q["scales"]], "zero_point": [int(z) for z in q["zero_points"]],
            "quantized_dimension": int(q["quantized_dimension"])}


def describe(path):
    """Op list and quantization summary of a .tflite file (from the interpreter's view of it)."""
    it = ref_interpreter(path)
    ops = [o["op_name"] for o in it._get_ops_details()]
    per_channel, per_tensor = [], []
    for d in it.get_tensor_details():
        q = d["quantization_parameters"]
        if d["dtype"] == np.int8 and len(q["scales"]) > 1:
            per_channel.append(d["name"])
        elif d["dtype"] == np.int8 and len(q["scales"]) == 1 and len(d["shape"]) == 4 and "conv" in d["name"].lower():
            per_tensor.append(d["name"])
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    return it, {
        "ops": ops,
        "op_counts": {k: ops.count(k) for k in sorted(set(ops))},
        "input": {"name": ind["name"], "shape": ind["shape"].tolist(), "dtype": np.dtype(ind["dtype"]).name,
                  "quantization": quant_of(ind)},
        "output": {"name": outd["name"], "shape": outd["shape"].tolist(), "dtype": np.dtype(outd["dtype"]).name,
                   "quantization": quant_of(outd)},
        "int8_tensors_per_channel": len(per_channel),
    }


def goldens(model_path, name, inputs, out_dir, manifest):
    """Runs the reference interpreter on each (image, tensor) and saves input/output .npy files."""
    it, info = describe(model_path)
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    os.makedirs(os.path.join(out_dir, name), exist_ok=True)
    entries = []
    for image, x in inputs:
        assert x.dtype == ind["dtype"] and list(x.shape) == ind["shape"].tolist(), (x.dtype, x.shape)
        it.set_tensor(ind["index"], x)
        it.invoke()
        y = it.get_tensor(outd["index"]).copy()
        stem = os.path.splitext(image)[0]
        np.save(os.path.join(out_dir, name, f"{stem}.input.npy"), x)
        np.save(os.path.join(out_dir, name, f"{stem}.output.npy"), y)
        if y.dtype == np.int8:
            q = quant_of(outd)
            yf = (y.astype(np.float32) - q["zero_point"][0]) * q["scale"][0]
        else:
            yf = y.astype(np.float32)
        entries.append({"image": image, "input": f"{name}/{stem}.input.npy", "output": f"{name}/{stem}.output.npy",
                        "output_float": [round(float(v), 7) for v in yf.ravel()] if yf.size <= 16 else None,
                        "argmax": int(np.argmax(yf))})
    info.update({"file": os.path.basename(model_path), "bytes": os.path.getsize(model_path),
                 "sha256": sha256(model_path), "op_resolver": "BUILTIN_REF", "images": entries})
    manifest[name] = info
    return info


def print_summary(path, info):
    print(f"\n== {path}: {os.path.getsize(path)} bytes, sha256 {sha256(path)[:16]}")
    print(f"   ops: {info['op_counts']}")
    print(f"   input  {info['input']}")
    print(f"   output {info['output']}")
    print(f"   int8 tensors with per-channel quantization: {info['int8_tensors_per_channel']}")


# ---------------------------------------------------------------- main

def write_float_and_int8(out_dir, stem, model, calib):
    """Converts `model` to <stem>-f32.tflite and, calibrated on `calib`, <stem>-int8.tflite in out_dir; returns both paths."""
    paths = (os.path.join(out_dir, f"{stem}-f32.tflite"), os.path.join(out_dir, f"{stem}-int8.tflite"))
    for path, data in zip(paths, (None, calib)):
        with open(path, "wb") as f:
            f.write(convert(model, data) if data is not None else convert(model))
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--skip-squeezenet11", action="store_true")
    ap.add_argument("--analyze", action="store_true", help="also print tf.lite.experimental.Analyzer output")
    args = ap.parse_args()
    tf.config.experimental.enable_op_determinism()

    images = fixture_images()
    names = [os.path.basename(f) for f in images]
    gold_dir = os.path.join(OUT_COMMITTED, "goldens")
    os.makedirs(gold_dir, exist_ok=True)

    # (a) Keras SqueezeNet variant, random weights.
    model = keras_squeezenet()
    pixels = [keras_pixels(f) for f in images]
    xs = [keras_float_input(p) for p in pixels]
    calib = xs + [x[:, :, ::-1, :].copy() for x in xs]  # the fixture images and their mirror images
    f32, i8 = write_float_and_int8(OUT_COMMITTED, "keras-squeezenet", model, calib)

    manifest = {"_about": "Written by scripts/make-tflite-fixtures.py; outputs from tf.lite.Interpreter with "
                          "OpResolverType.BUILTIN_REF. Tensors are NHWC .npy files; int8 outputs are raw.",
                "_tensorflow": tf.__version__,
                "_preprocessing": "PIL RGB decode, centre crop 224, PIL BILINEAR resize to 96x96 -> uint8 p; "
                                  "f32 input (p-128)/128; int8 input quantized with the model's input scale/zero point"}
    info = goldens(f32, "keras-squeezenet-f32", list(zip(names, xs)), gold_dir, manifest)
    print_summary(f32, info)
    keras_out = [model(x, training=False).numpy() for x in xs]
    tfl_out = [np.load(os.path.join(gold_dir, e["output"])) for e in info["images"]]
    print(f"   max |keras - tflite ref| = {max(np.abs(a - b).max() for a, b in zip(keras_out, tfl_out)):.3g}; "
          f"argmax per image {[e['argmax'] for e in info['images']]}")

    it8 = ref_interpreter(i8)
    q = quant_of(it8.get_input_details()[0])
    s, z = q["scale"][0], q["zero_point"][0]
    x8 = [np.clip(np.round(x / s) + z, -128, 127).astype(np.int8) for x in xs]
    exact = s == 1 / 128 and z == 0 and all(np.array_equal(a.astype(np.int16), p[None].astype(np.int16) - 128)
                                            for a, p in zip(x8, pixels))
    print(f"\n   int8 input scale {s!r} zero point {z}: int8 input == p - 128 exactly: {exact}")
    manifest["_int8_input_is_p_minus_128"] = bool(exact)
    info8 = goldens(i8, "keras-squeezenet-int8", list(zip(names, x8)), gold_dir, manifest)
    print_summary(i8, info8)
    fl = np.array([e["output_float"] for e in info["images"]])
    q8 = np.array([e["output_float"] for e in info8["images"]])
    print(f"   max |int8 (dequantized) - f32| = {np.abs(fl - q8).max():.4f}; "
          f"argmax per image {[e['argmax'] for e in info8['images']]}")

    with open(os.path.join(gold_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    if args.analyze:
        for p in (f32, i8):
            tf.lite.experimental.Analyzer.analyze(model_path=p, gpu_compatibility=False)

    # (b) SqueezeNet 1.1 from ../shared's ONNX weights.
    if not args.skip_squeezenet11:
        squeezenet11(args.shared, images, names, args.analyze)

    print("\nfiles:")
    total = 0
    for root, _, files in sorted(os.walk(OUT_COMMITTED)):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            total += os.path.getsize(p)
            print(f"  {os.path.getsize(p):8d}  {sha256(p)[:16]}  {p}")
    print(f"  {total:8d}  total committed in {OUT_COMMITTED}")


def squeezenet11(shared, images, names, analyze):
    onnx_path = os.path.join(shared, "models", "squeezenet1.1.onnx")
    model = squeezenet11_from_onnx(onnx_path)
    xs = [sq11_float_input(np.asarray(load_crop(f), np.uint8)) for f in images]
    ref_in = np.load(os.path.join(shared, "models", "squeezenet1.1-reference", "input_0.npy"))
    ref_out = np.load(os.path.join(shared, "models", "squeezenet1.1-reference", "output_0.npy"))
    extra = sorted(glob.glob(os.path.join(shared, "imagenet-sample", "*.JPEG")))[:CALIB_SHARED]
    calib = xs + [sq11_float_input(np.asarray(load_crop(f), np.uint8)) for f in extra]

    os.makedirs(OUT_LARGE, exist_ok=True)
    f32, i8 = write_float_and_int8(OUT_LARGE, "squeezenet1.1", model, calib)

    gold_dir = os.path.join(OUT_LARGE, "squeezenet1.1-goldens")
    os.makedirs(gold_dir, exist_ok=True)
    manifest = {"_preprocessing": "PIL RGB decode, centre crop 224 (shorter side already 256), (p/255-mean)/std"}
    inputs = list(zip(names, xs)) + [("zoo-reference", ref_in.transpose(0, 2, 3, 1).copy())]
    info = goldens(f32, "squeezenet1.1-f32", inputs, gold_dir, manifest)
    print_summary(f32, info)
    it8 = ref_interpreter(i8)
    q = quant_of(it8.get_input_details()[0])
    s, z = q["scale"][0], q["zero_point"][0]
    x8 = [(n, np.clip(np.round(x / s) + z, -128, 127).astype(np.int8)) for n, x in inputs]
    info8 = goldens(i8, "squeezenet1.1-int8", x8, gold_dir, manifest)
    print_summary(i8, info8)
    with open(os.path.join(gold_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)

    # Checks: Keras vs onnxruntime, tflite (reference kernels) vs onnxruntime, int8 vs float.
    keras_out = [model(x, training=False).numpy() for _, x in inputs]
    tfl = [np.load(os.path.join(gold_dir, e["output"])) for e in info["images"]]
    oq = quant_of(it8.get_output_details()[0])
    tfl8 = [(np.load(os.path.join(gold_dir, e["output"])).astype(np.float32) - oq["zero_point"][0]) * oq["scale"][0]
            for e in info8["images"]]
    print(f"   zoo reference: max |keras - zoo output| = {np.abs(keras_out[-1] - ref_out).max():.3g} "
          f"(|logits| up to {np.abs(ref_out).max():.0f})")
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        iname = sess.get_inputs()[0].name
        for (n, x), k, t, t8 in zip(inputs, keras_out, tfl, tfl8):
            o = sess.run(None, {iname: x.transpose(0, 3, 1, 2).copy()})[0]
            print(f"   {n:34s} ort argmax {int(o.argmax()):4d} | max|keras-ort| {np.abs(k - o).max():.2e} "
                  f"| max|tflite f32-ort| {np.abs(t - o).max():.2e} | int8 argmax {int(t8.argmax()):4d}, "
                  f"max|int8-ort| {np.abs(t8 - o).max():.2f} (max|ort| {np.abs(o).max():.1f})")
    except ImportError:
        print("   onnxruntime not installed: skipped the onnxruntime check")
    if analyze:
        for p in (f32, i8):
            tf.lite.experimental.Analyzer.analyze(model_path=p, gpu_compatibility=False)
    for p in (f32, i8):
        print(f"  {os.path.getsize(p):8d}  {sha256(p)[:16]}  {p}")


if __name__ == "__main__":
    sys.exit(main())
