#!/usr/bin/env python3
"""The .tflite import (issue 19) measured against onnxruntime and TensorFlow Lite's reference kernels.

The second half of `npm run eval:tflite`. bench/tflite-eval.ts converted
bench/out/tflite/squeezenet1.1-{f32,int8}.tflite with convertTflite, ran squeezewasm on every image
and wrote, per image, the exact input tensor it fed (bench/out/tflite-eval/<image>.<f32|int8>.bin,
NHWC little-endian: float32, or int8 = squeezewasm's stored uint8 minus 128) and its raw output
(index.json: float32 logits, or TFLite's int8 output values). This script feeds the same tensors to
  - onnxruntime (CPU, one thread) on ../shared/models/squeezenet1.1.onnx (NCHW: the float tensor
    transposed), the float reference: top-1 agreement, max |logit diff| and max |logit diff| / range;
  - tf.lite.Interpreter with OpResolverType.BUILTIN_REF (TFLite's reference kernels, not XNNPACK or
    ruy) on the float .tflite, and on the int8 .tflite with the int8 tensor: top-1 agreement and,
    for int8, how many images have every output element bit-identical (the importer claims all);
and reports each one's top-1 / top-5 accuracy against the labels. Writes bench/out/tflite-eval.json.

The reference interpreter is slow (about a second per image and model): --jobs splits the images
over that many processes (default 2), each single-threaded.

  npm run eval:tflite                     # squeezewasm: inputs, outputs, index.json
  python3 scripts/tflite-eval.py [--jobs 2] [--shared ../shared]

If an int8 output differs, it prints the image and the first differing output index. Then
  npm run eval:tflite -- --steps <image>[,<image>...]   # also dumps every int8 step's output
  python3 scripts/tflite-eval.py --diagnose <image>[,<image>...]
compares every squeezewasm step's output with the interpreter's tensor of the same name
(experimental_preserve_all_tensors=True) and names the first layer that differs.

Run from the repository root. Needs tensorflow(-cpu) (2.21 here), onnxruntime, numpy.
"""

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np

# tf.lite.Interpreter still ships in 2.21 and is the reference here; its deprecation notice is noise.
warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated")

OUT = os.path.join("bench", "out", "tflite-eval")
RESULT = os.path.join("bench", "out", "tflite-eval.json")


# ---------------------------------------------------------------- runtimes (one set per worker process)

def ref_interpreter(path, keep_all=False):
    import tensorflow as tf
    it = tf.lite.Interpreter(model_path=path, num_threads=1, experimental_preserve_all_tensors=keep_all,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it


def run_interpreter(it, x):
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    assert x.dtype == ind["dtype"] and list(x.shape) == ind["shape"].tolist(), (x.dtype, x.shape, ind)
    it.set_tensor(ind["index"], x)
    it.invoke()
    return it.get_tensor(outd["index"]).ravel().copy()


_W = {}


def init_worker(onnx_path, f32_path, int8_path):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    assert inp.shape == [1, 3, 224, 224] and inp.type == "tensor(float)", (inp.name, inp.shape, inp.type)
    _W.update(ort=sess, ort_input=inp.name, f32=ref_interpreter(f32_path), int8=ref_interpreter(int8_path))


def read_input(row, variant):
    dtype = np.float32 if variant == "f32" else np.int8
    x = np.fromfile(os.path.join(OUT, row[variant]["input"]), dtype=dtype)
    assert x.size == 224 * 224 * 3, (row["file"], variant, x.size)
    return x.reshape(1, 224, 224, 3)


def evaluate(job):
    """Runs the three references on one image's tensors; returns their outputs and timings."""
    i, row = job
    x32, x8 = read_input(row, "f32"), read_input(row, "int8")
    t = [time.perf_counter()]
    ort_out = _W["ort"].run(None, {_W["ort_input"]: np.ascontiguousarray(x32.transpose(0, 3, 1, 2))})[0].ravel()
    t.append(time.perf_counter())
    tfl32 = run_interpreter(_W["f32"], x32)
    t.append(time.perf_counter())
    tfl8 = run_interpreter(_W["int8"], x8)
    t.append(time.perf_counter())
    return i, ort_out.astype(np.float32), tfl32.astype(np.float32), tfl8, np.diff(t)


# ---------------------------------------------------------------- comparison

def top(y, k):
    """Indices of the k largest, ties to the lower index (as np.argmax and squeezewasm's topK)."""
    return np.argsort(-np.asarray(y, np.float64), kind="stable")[:k]


def compare(index, results):
    rows = index["images"]
    n = len(rows)
    per_image = []
    acc = {k: [0, 0] for k in ("squeezewasm_f32", "onnxruntime", "tflite_f32_ref", "squeezewasm_int8", "tflite_int8_ref")}
    agree = {k: 0 for k in ("f32_squeezewasm_vs_onnxruntime", "f32_squeezewasm_vs_tflite_f32", "f32_tflite_vs_onnxruntime",
                            "int8_squeezewasm_vs_tflite_int8", "int8_squeezewasm_vs_onnxruntime", "int8_tflite_vs_tflite_f32")}
    worst = {"abs_vs_ort": 0.0, "rel_vs_ort": 0.0, "abs_vs_tfl": 0.0, "rel_vs_tfl": 0.0, "abs_tfl_vs_ort": 0.0}
    identical, int8_diffs, max_range = 0, [], 0.0
    for i, row in enumerate(rows):
        ort_out, tfl32, tfl8 = results[i][:3]
        ours32 = np.array(row["f32"]["output"], np.float32)
        ours8 = np.array(row["int8"]["output"], np.int64)
        label = row["label"]
        tops = {"squeezewasm_f32": top(ours32, 5), "onnxruntime": top(ort_out, 5), "tflite_f32_ref": top(tfl32, 5),
                "squeezewasm_int8": top(ours8, 5), "tflite_int8_ref": top(tfl8, 5)}
        for k, t in tops.items():
            acc[k][0] += int(t[0] == label)
            acc[k][1] += int(label in t)
        # squeezewasm's own top-1 (index.json) must be the first largest of its output.
        assert row["f32"]["top1"] == tops["squeezewasm_f32"][0] and row["int8"]["top1"] == tops["squeezewasm_int8"][0], row["file"]
        t1 = {k: int(t[0]) for k, t in tops.items()}
        agree["f32_squeezewasm_vs_onnxruntime"] += t1["squeezewasm_f32"] == t1["onnxruntime"]
        agree["f32_squeezewasm_vs_tflite_f32"] += t1["squeezewasm_f32"] == t1["tflite_f32_ref"]
        agree["f32_tflite_vs_onnxruntime"] += t1["tflite_f32_ref"] == t1["onnxruntime"]
        agree["int8_squeezewasm_vs_tflite_int8"] += t1["squeezewasm_int8"] == t1["tflite_int8_ref"]
        agree["int8_squeezewasm_vs_onnxruntime"] += t1["squeezewasm_int8"] == t1["onnxruntime"]
        agree["int8_tflite_vs_tflite_f32"] += t1["tflite_int8_ref"] == t1["tflite_f32_ref"]
        rng = float(ort_out.max() - ort_out.min())
        max_range = max(max_range, rng)
        d_ort = float(np.abs(ours32.astype(np.float64) - ort_out).max())
        d_tfl = float(np.abs(ours32.astype(np.float64) - tfl32).max())
        d_tfl_ort = float(np.abs(tfl32.astype(np.float64) - ort_out).max())
        worst["abs_vs_ort"] = max(worst["abs_vs_ort"], d_ort)
        worst["rel_vs_ort"] = max(worst["rel_vs_ort"], d_ort / rng)
        worst["abs_vs_tfl"] = max(worst["abs_vs_tfl"], d_tfl)
        worst["rel_vs_tfl"] = max(worst["rel_vs_tfl"], d_tfl / float(tfl32.max() - tfl32.min()))
        worst["abs_tfl_vs_ort"] = max(worst["abs_tfl_vs_ort"], d_tfl_ort)
        differ = np.nonzero(ours8 != tfl8.astype(np.int64))[0]
        if differ.size == 0:
            identical += 1
        else:
            int8_diffs.append({"image": row["file"], "first_index": int(differ[0]), "elements": int(differ.size),
                               "max_abs": int(np.abs(ours8 - tfl8.astype(np.int64)).max()),
                               "squeezewasm": int(ours8[differ[0]]), "tflite": int(tfl8[differ[0]])})
        per_image.append({"image": row["file"], "label": label, "top1": t1, "f32_max_abs_diff_vs_onnxruntime": d_ort,
                          "f32_logit_range_onnxruntime": rng, "f32_max_abs_diff_vs_tflite_f32": d_tfl,
                          "int8_identical": bool(differ.size == 0)})
    return {
        "images": n,
        "float": {
            "top1_agreement_squeezewasm_vs_onnxruntime": agree["f32_squeezewasm_vs_onnxruntime"],
            "top1_agreement_squeezewasm_vs_tflite_f32_ref": agree["f32_squeezewasm_vs_tflite_f32"],
            "top1_agreement_tflite_f32_ref_vs_onnxruntime": agree["f32_tflite_vs_onnxruntime"],
            "max_abs_logit_diff_vs_onnxruntime": worst["abs_vs_ort"],
            "max_abs_logit_diff_over_range_vs_onnxruntime": worst["rel_vs_ort"],
            "max_abs_logit_diff_vs_tflite_f32_ref": worst["abs_vs_tfl"],
            "max_abs_logit_diff_over_range_vs_tflite_f32_ref": worst["rel_vs_tfl"],
            "max_abs_logit_diff_tflite_f32_ref_vs_onnxruntime": worst["abs_tfl_vs_ort"],
            "largest_logit_range_onnxruntime": max_range,
        },
        "int8": {
            "top1_agreement_squeezewasm_vs_tflite_int8_ref": agree["int8_squeezewasm_vs_tflite_int8"],
            "bit_identical_images": identical,
            "differing_images": int8_diffs,
            "top1_agreement_squeezewasm_int8_vs_onnxruntime": agree["int8_squeezewasm_vs_onnxruntime"],
            "top1_agreement_tflite_int8_vs_tflite_f32": agree["int8_tflite_vs_tflite_f32"],
        },
        "accuracy": {k: {"top1": v[0] / n, "top5": v[1] / n} for k, v in acc.items()},
        "per_image": per_image,
    }


# ---------------------------------------------------------------- --diagnose: the first layer that differs

def diagnose(index, stems):
    """For each image, squeezewasm's per-step int8 outputs (steps/<stem>/, from `npm run eval:tflite
    -- --steps`) against the reference interpreter's tensors of the same names."""
    path = index["models"]["int8"]["file"]
    rows = {r["file"].rsplit(".", 1)[0]: r for r in index["images"]}
    for stem in stems:
        steps_dir = os.path.join(OUT, "steps", stem)
        if stem not in rows or not os.path.exists(os.path.join(steps_dir, "steps.json")):
            sys.exit(f"--diagnose {stem}: no step dump; run: npm run eval:tflite -- --steps {stem}")
        it = ref_interpreter(path, keep_all=True)
        run_interpreter(it, read_input(rows[stem], "int8"))
        by_name = {t["name"]: t["index"] for t in it.get_tensor_details()}
        with open(os.path.join(steps_dir, "steps.json")) as f:
            steps = json.load(f)
        print(f"\n{stem}: {len(steps)} squeezewasm steps vs the reference interpreter's tensors")
        first = None
        for s in steps:
            ours = np.fromfile(os.path.join(steps_dir, s["file"]), dtype=np.int8 if s["dtype"] == "int8" else np.dtype(s["dtype"]))
            if s["name"] not in by_name:
                print(f"   step {s['step']:2d} {s['op']:13s} {s['name'][:60]}: no tensor of that name in the interpreter")
                continue
            ref = it.get_tensor(by_name[s["name"]]).ravel()
            if ref.size != ours.size:
                print(f"   step {s['step']:2d} {s['op']:13s} sizes differ: {ours.size} vs {ref.size}")
                continue
            bad = np.nonzero(ours.astype(np.int64) != ref.astype(np.int64))[0]
            where = ""
            if bad.size:
                h, w, c = s["shape"]
                k = int(bad[0])
                where = (f": {bad.size} differ, first at (y {k // (w * c)}, x {k // c % w}, c {k % c}) squeezewasm "
                         f"{int(ours[k])} tflite {int(ref[k])}, max |diff| {int(np.abs(ours.astype(np.int64) - ref).max())}")
                first = first if first is not None else s
            print(f"   step {s['step']:2d} {s['op']:13s} {s['name'].split(';')[0][:48]:48s} {'identical' if not bad.size else 'DIFFERS'}{where}")
        print(f"   first differing step: {first['step']} {first['op']} {first['name']}" if first else "   every step identical")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--jobs", type=int, default=2, help="processes to split the images over (each one thread)")
    ap.add_argument("--diagnose", help="comma-separated images (stems) whose int8 steps to compare layer by layer")
    args = ap.parse_args()
    with open(os.path.join(OUT, "index.json")) as f:
        index = json.load(f)
    if args.diagnose:
        return diagnose(index, [s.rsplit(".", 1)[0] if s.upper().endswith((".JPEG", ".JPG", ".PNG")) else s for s in args.diagnose.split(",")])

    import onnxruntime
    import tensorflow as tf
    onnx_path = os.path.join(args.shared, "models", "squeezenet1.1.onnx")
    paths = (onnx_path, index["models"]["f32"]["file"], index["models"]["int8"]["file"])
    rows = index["images"]
    n = len(rows)
    print(f"{n} images; onnxruntime {onnxruntime.__version__}, tensorflow {tf.__version__} (BUILTIN_REF); {args.jobs} processes")
    started = time.perf_counter()
    results, seconds = [None] * n, np.zeros(3)
    jobs = list(enumerate(rows))
    # Interleaved so that both processes take every other image.
    with mp.get_context("spawn").Pool(args.jobs, initializer=init_worker, initargs=paths) as pool:
        for done, (i, o, t32, t8, dt) in enumerate(pool.imap_unordered(evaluate, jobs, chunksize=1), 1):
            results[i] = (o, t32, t8)
            seconds += dt
            if done % 25 == 0 or done == n:
                el = time.perf_counter() - started
                print(f"   {done}/{n} images, {el:.0f} s elapsed, ~{el / done * (n - done):.0f} s to go", flush=True)
    wall = time.perf_counter() - started

    report = compare(index, results)
    f, q, a = report["float"], report["int8"], report["accuracy"]
    report.update({
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "dir": index["dir"], "onnx": onnx_path,
        "tflite": {k: {"file": index["models"][k]["file"], "sha256": index["models"][k]["sha256"]} for k in ("f32", "int8")},
        "versions": {"onnxruntime": onnxruntime.__version__, "tensorflow": tf.__version__, "numpy": np.__version__, "node": index["node"]},
        "seconds": {"wall": wall, "processes": args.jobs, "onnxruntime_per_image": seconds[0] / n,
                    "tflite_f32_ref_per_image": seconds[1] / n, "tflite_int8_ref_per_image": seconds[2] / n},
        "criterion": {"float_top1_agreement_with_onnxruntime_at_least_99_5_percent": f["top1_agreement_squeezewasm_vs_onnxruntime"] >= 0.995 * n,
                      "int8_top1_equal_to_tflite_on_every_image": q["top1_agreement_squeezewasm_vs_tflite_int8_ref"] == n},
    })
    per_image = report.pop("per_image")
    report["per_image"] = per_image
    with open(RESULT, "w") as fh:
        json.dump(report, fh, indent=1)

    pct = lambda k: f"{100 * a[k]['top1']:5.1f} % {100 * a[k]['top5']:5.1f} %"
    print(f"\n{n} images from {index['dir']}, {wall:.0f} s on {args.jobs} processes "
          f"(per image: onnxruntime {1000 * seconds[0] / n:.1f} ms, TFLite ref f32 {seconds[1] / n:.2f} s, int8 {seconds[2] / n:.2f} s)")
    print("\nfloat (squeezenet1.1-f32.tflite imported by squeezewasm)")
    print(f"   top-1 = onnxruntime        {f['top1_agreement_squeezewasm_vs_onnxruntime']}/{n}   "
          f"max |logit diff| {f['max_abs_logit_diff_vs_onnxruntime']:.3g}, / range {f['max_abs_logit_diff_over_range_vs_onnxruntime']:.2e}")
    print(f"   top-1 = TFLite f32 (ref)   {f['top1_agreement_squeezewasm_vs_tflite_f32_ref']}/{n}   "
          f"max |logit diff| {f['max_abs_logit_diff_vs_tflite_f32_ref']:.3g}, / range {f['max_abs_logit_diff_over_range_vs_tflite_f32_ref']:.2e}")
    print(f"   (TFLite f32 vs onnxruntime: top-1 {f['top1_agreement_tflite_f32_ref_vs_onnxruntime']}/{n}, "
          f"max |logit diff| {f['max_abs_logit_diff_tflite_f32_ref_vs_onnxruntime']:.3g}; logit range up to {f['largest_logit_range_onnxruntime']:.0f})")
    print("\nint8 (squeezenet1.1-int8.tflite imported by squeezewasm)")
    print(f"   top-1 = TFLite int8 (ref)  {q['top1_agreement_squeezewasm_vs_tflite_int8_ref']}/{n}")
    print(f"   every output bit-identical {q['bit_identical_images']}/{n}")
    for d in q["differing_images"][:20]:
        print(f"      {d['image']}: {d['elements']} outputs differ, first at index {d['first_index']} "
              f"(squeezewasm {d['squeezewasm']}, tflite {d['tflite']}), max |diff| {d['max_abs']}")
    print(f"   (top-1 = onnxruntime f32 {q['top1_agreement_squeezewasm_int8_vs_onnxruntime']}/{n}; "
          f"TFLite int8 = TFLite f32 {q['top1_agreement_tflite_int8_vs_tflite_f32']}/{n})")
    print("\naccuracy vs labels            top-1   top-5")
    for k in a:
        print(f"   {k:26s} {pct(k)}")
    c = report["criterion"]
    print(f"\ncriterion: float >= 99.5 % top-1 = onnxruntime: {'PASS' if c['float_top1_agreement_with_onnxruntime_at_least_99_5_percent'] else 'FAIL'}; "
          f"int8 top-1 = TFLite on every image: {'PASS' if c['int8_top1_equal_to_tflite_on_every_image'] else 'FAIL'}")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    sys.exit(main())
