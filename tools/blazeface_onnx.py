"""Rebuild the shipped BlazeFace face detectors (weights/blazeface_*.onnx) from MediaPipe's TFLite files.

    pip install tflite onnx ai-edge-litert onnxruntime opencv-python-headless   # build-time only
    python tools/blazeface_onnx.py [--wheel PATH] [--out DIR] [--photos DIR] [--check]

1. The mediapipe 0.10.21 wheel (--wheel, else `pip download`ed into a temporary folder) must have the sha256
   recorded below; its two face_detection .tflite files and LICENSE are read from it.
2. Each model is converted to ONNX (opset 13, IR 8, so onnxruntime>=1.17 runs it): input `input` float32 NHWC
   [N, H, W, 3] in [-1, 1] with a dynamic batch N; outputs `regressors` [N, A, 16] and `classificators`
   [N, A, 1]. Sparse weights are densified, fp16 weights stay fp16 behind a Cast (exact; ONNX Runtime folds it
   when it loads the model). Nothing depends on the time or machine: a rebuild gives the same bytes.
   weights/LICENSE-mediapipe.txt gets the Apache-2.0 text with a NOTICE of what was converted. Each file
   written is printed with its size and sha256.
3. ONNX Runtime is compared with LiteRT (the .tflite originals) on real photos letterboxed to the input size,
   singly and as one batch, and timed; a difference over 1e-3 (relative where the value exceeds 1) exits 1.
   --check does only this, on the files already in --out.
Not imported by the package, which needs none of tflite, onnx, LiteRT or mediapipe.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

import mediapipe_wheel
from mediapipe_wheel import VERSION, WHEEL, WHEEL_SHA256, sha256

REPO = Path(__file__).resolve().parents[1]
# pip download pins the platform (mediapipe_wheel.py): every platform's wheel holds the same .tflite files but has
# its own sha256.
SOURCE = "mediapipe/modules/face_detection/"
# output name -> (file in the wheel, its sha256)
MODELS = {
    "blazeface_short_range": ("face_detection_short_range.tflite",
                              "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
    "blazeface_full_range": ("face_detection_full_range_sparse.tflite",
                             "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"),
}
SIZES = {"blazeface_short_range": 128, "blazeface_full_range": 192}  # the square input each was trained at
LICENSE = f"mediapipe-{VERSION}.dist-info/LICENSE"
APACHE_LINES = 201  # the rest of the wheel's LICENSE is a third-party notice for code unrelated to the models
OPSET, IR_VERSION = 13, 8
TOLERANCE = 1e-3


def fail(message: str) -> None:
    raise SystemExit(f"blazeface_onnx: error: {message}")


def read_wheel(path: Path | None) -> dict[str, bytes]:
    """The .tflite files and LICENSE from the wheel (downloaded when no path is given), all checked."""
    data = mediapipe_wheel.wheel(path, "blazeface_onnx")
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        files = {name: wheel.read(SOURCE + name) for name, _ in MODELS.values()}
        files["LICENSE"] = wheel.read(LICENSE)
    for name, digest in MODELS.values():
        if sha256(files[name]) != digest:
            fail(f"{path}: {SOURCE}{name} has sha256 {sha256(files[name])}, expected {digest}")
    return files


def license_text(apache: bytes) -> bytes:
    lines = apache.decode().splitlines()[:APACHE_LINES]
    if lines[-1].strip() != "limitations under the License.":
        fail(f"{LICENSE}: line {APACHE_LINES} is not the end of the Apache-2.0 text")
    sources = "\n".join(f"  {SOURCE}{name}  sha256 {digest}" for name, digest in MODELS.values())
    notice = f"""NOTICE
blazeface_short_range.onnx and blazeface_full_range.onnx in this folder are MediaPipe's face detectors
(BlazeFace, by The MediaPipe Authors, Apache-2.0), converted from mediapipe {VERSION}'s
mediapipe/modules/face_detection/face_detection_{{short_range,full_range_sparse}}.tflite to ONNX by
tools/blazeface_onnx.py; weights unchanged (sparse ones stored dense, fp16 kept as fp16), operators
re-expressed in ONNX ones, inputs and outputs renamed, batch size made dynamic.
Source: {WHEEL} (PyPI), sha256 {WHEEL_SHA256}
{sources}
The depths (z) of the head pose's 3D model in photos/pose.py are vertices of MediaPipe's canonical face model
(canonical_face_model.obj, The MediaPipe Authors, Apache-2.0), picked by the face mesh contours in the same wheel
and read from the copy in the npm package mind-ar 1.2.5; tools/pose_model.py rebuilds them (sha256 checked).
The Apache License 2.0 from the wheel's {LICENSE} follows.

"""
    return (notice + "\n".join(lines) + "\n").encode()


# ---- TFLite -> ONNX -------------------------------------------------------------------------------------------

def densify(values: np.ndarray, shape: list[int], sparsity) -> np.ndarray:
    """A TFLite sparse tensor (dense and CSR levels, identity traversal, no blocks) as a dense array."""
    import tflite

    levels = len(shape)
    if list(sparsity.TraversalOrderAsNumpy()) != list(range(levels)) or sparsity.BlockMapLength():
        fail("only sparse tensors without blocks or reordering are supported")

    def vector(table, kind):
        out = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}[kind]()
        out.Init(table.Bytes, table.Pos)
        return out.ValuesAsNumpy().astype(np.int64)

    position = np.zeros(1, np.int64)  # each stored element's index into the current level's storage
    flat = np.zeros(1, np.int64)  # and its offset into the dense array so far
    for level in range(levels):
        meta = sparsity.DimMetadata(level)
        if meta.Format() == 0:  # DENSE: every index of this dimension
            size = meta.DenseSize()
            position = (position[:, None] * size + np.arange(size)).ravel()
            flat = (flat[:, None] * shape[level] + np.arange(size)).ravel()
        else:  # SPARSE_CSR: segments[p]..segments[p + 1] of indices
            segments = vector(meta.ArraySegments(), meta.ArraySegmentsType())
            indices = vector(meta.ArrayIndices(), meta.ArrayIndicesType())
            counts = segments[position + 1] - segments[position]
            position = np.repeat(segments[position], counts) + np.arange(counts.sum()) - np.repeat(
                np.cumsum(counts) - counts, counts)
            flat = np.repeat(flat, counts) * shape[level] + indices[position]
    dense = np.zeros(int(np.prod(shape)), values.dtype)
    dense[flat] = values[position]
    return dense.reshape(shape)


def same_pads(size: list[int], kernel: list[int], strides: list[int], dilations: list[int]) -> list[int]:
    """TF's SAME padding as ONNX pads [top, left, bottom, right] (the odd pixel goes after)."""
    before, after = [], []
    for x, k, s, d in zip(size, kernel, strides, dilations):
        total = max((-(-x // s) - 1) * s + (k - 1) * d + 1 - x, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return before + after


def convert(tflite_bytes: bytes, source: str) -> "onnx.ModelProto":
    """One TFLite graph as ONNX. Activations run NCHW inside; the graph's input and outputs keep TFLite's layout."""
    import onnx
    import tflite
    from onnx import TensorProto, helper, numpy_helper
    from tflite.BuiltinOperator import BuiltinOperator

    opnames = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    dtypes = {0: np.float32, 1: np.float16, 2: np.int32}
    model = tflite.Model.GetRootAsModel(tflite_bytes, 0)
    graph = model.Subgraphs(0)
    tensors = [graph.Tensors(i) for i in range(graph.TensorsLength())]

    def shape(i):
        return [int(s) for s in tensors[i].ShapeAsNumpy()]

    consts = {}  # tensor -> numpy value (fp16 where TFLite dequantizes fp16 weights)
    for i, tensor in enumerate(tensors):
        buffer = model.Buffers(tensor.Buffer())
        if buffer is not None and buffer.DataLength():
            consts[i] = buffer.DataAsNumpy().view(dtypes[tensor.Type()])
            if tensor.Sparsity() is None:
                consts[i] = consts[i].reshape(shape(i))

    (graph_input,) = graph.InputsAsNumpy()
    outputs = [int(i) for i in graph.OutputsAsNumpy()]
    by_depth = {16: "regressors", 1: "classificators"}  # the full-range model calls them Identity, Identity_1
    names = {int(graph_input): "input_nchw", **{i: by_depth[shape(i)[-1]] for i in outputs}}
    nchw = {int(graph_input)}  # 4-D activations, held NCHW
    nodes = [helper.make_node("Transpose", ["input"], ["input_nchw"], perm=[0, 3, 1, 2])]
    initializers = []

    def name(i):
        return names.get(i) or tensors[i].Name().decode()

    def constant(value, base):
        """An initializer; fp16 ones are Cast to float (exact) so that the file keeps them at half the size."""
        base = f"{base}_{len(initializers)}"
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), base))
        if value.dtype != np.float16:
            return base
        nodes.append(helper.make_node("Cast", [base], [base + "_f32"], to=TensorProto.FLOAT))
        return base + "_f32"

    def add(op, inputs, out, fused=0, **attributes):
        """An ONNX node writing TFLite tensor `out`, then its fused ReLU."""
        if fused not in (0, 1):
            fail(f"{source}: fused activation {fused} is not supported")
        target = f"{name(out)}_linear" if fused else name(out)
        nodes.append(helper.make_node(op, inputs, [target], **attributes))
        if fused:
            nodes.append(helper.make_node("Relu", [target], [name(out)]))
        if len(shape(out)) == 4:
            nchw.add(out)

    def options(cls, op):
        table = op.BuiltinOptions()
        out = cls()
        out.Init(table.Bytes, table.Pos)
        return out

    for index in range(graph.OperatorsLength()):
        op = graph.Operators(index)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = opnames[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins = [int(i) for i in op.InputsAsNumpy()]
        (out,) = [int(i) for i in op.OutputsAsNumpy()]
        x = name(ins[0])
        if kind == "DENSIFY":
            consts[out] = densify(consts[ins[0]], shape(ins[0]), tensors[ins[0]].Sparsity())
        elif kind == "DEQUANTIZE" and consts.get(ins[0], np.empty(0)).dtype == np.float16:
            consts[out] = consts[ins[0]]  # stays fp16 until `constant` casts it
        elif kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            depthwise = kind == "DEPTHWISE_CONV_2D"
            opt = options(tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions, op)
            # TFLite [O, H, W, I] and depthwise [1, H, W, C] -> ONNX [O, I, H, W] and [C, 1, H, W]
            weights = consts[ins[1]].transpose((3, 0, 1, 2) if depthwise else (0, 3, 1, 2))
            strides = [opt.StrideH(), opt.StrideW()]
            dilations = [opt.DilationHFactor(), opt.DilationWFactor()]
            kernel = list(weights.shape[2:])
            pads = same_pads(shape(ins[0])[1:3], kernel, strides, dilations) if opt.Padding() == 0 else [0] * 4
            inputs = [x, constant(weights, name(ins[1]))]
            if len(ins) > 2 and ins[2] >= 0:
                inputs.append(constant(consts[ins[2]], name(ins[2])))
            add("Conv", inputs, out, opt.FusedActivationFunction(), kernel_shape=kernel, strides=strides,
                pads=pads, dilations=dilations, group=shape(ins[0])[3] if depthwise else 1)
        elif kind == "ADD":
            add("Add", [x, name(ins[1])], out, options(tflite.AddOptions, op).FusedActivationFunction())
        elif kind == "RELU":
            add("Relu", [x], out)
        elif kind == "PAD":
            before_after = consts[ins[1]].reshape(4, 2)[[0, 3, 1, 2]]  # NHWC -> NCHW
            add("Pad", [x, constant(before_after.T.ravel().astype(np.int64), "pads")], out, mode="constant")
        elif kind == "MAX_POOL_2D":
            opt = options(tflite.Pool2DOptions, op)
            kernel, strides = [opt.FilterHeight(), opt.FilterWidth()], [opt.StrideH(), opt.StrideW()]
            pads = same_pads(shape(ins[0])[1:3], kernel, strides, [1, 1]) if opt.Padding() == 0 else [0] * 4
            add("MaxPool", [x], out, opt.FusedActivationFunction(), kernel_shape=kernel, strides=strides, pads=pads)
        elif kind == "RESIZE_BILINEAR":
            opt = options(tflite.ResizeBilinearOptions, op)
            mode = "half_pixel" if opt.HalfPixelCenters() else "align_corners" if opt.AlignCorners() else "asymmetric"
            # scales rather than sizes, which would fix the batch size (Resize's `axes` needs opset 18)
            scales = np.array([1, 1, *(np.array(shape(out)[1:3]) / shape(ins[0])[1:3])], np.float32)
            add("Resize", [x, "", constant(scales, "scales")], out, mode="linear",
                coordinate_transformation_mode=mode)
        elif kind == "DEPTH_TO_SPACE":
            add("DepthToSpace", [x], out, blocksize=options(tflite.DepthToSpaceOptions, op).BlockSize(), mode="DCR")
        elif kind == "RESHAPE":
            if ins[0] in nchw:  # TFLite reshapes NHWC element order
                nodes.append(helper.make_node("Transpose", [x], [x + "_nhwc"], perm=[0, 2, 3, 1]))
                x += "_nhwc"
            # 0 copies the batch size, -1 leaves the number of anchors to the input's size
            add("Reshape", [x, constant(np.array([0, -1, shape(out)[-1]], np.int64), "shape")], out)
        elif kind == "CONCATENATION":
            opt = options(tflite.ConcatenationOptions, op)
            if any(i in nchw for i in ins):
                fail(f"{source}: CONCATENATION of 4-D tensors is not supported")
            add("Concat", [name(i) for i in ins], out, opt.FusedActivationFunction(), axis=opt.Axis())
        else:
            fail(f"{source}: TFLite operator {kind} is not supported")

    size = shape(graph_input)[1:]
    onnx_graph = helper.make_graph(
        nodes, Path(source).stem, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", "H", "W", 3])],
        [helper.make_tensor_value_info(name(i), TensorProto.FLOAT, ["N", "A", shape(i)[-1]]) for i in outputs],
        initializers)
    onnx_model = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
        producer_name="facekeypoints tools/blazeface_onnx.py", producer_version="1",
        doc_string=f"MediaPipe BlazeFace face detector, converted from mediapipe {VERSION}'s {SOURCE}{source} "
                   f"(Apache-2.0, The MediaPipe Authors; see LICENSE-mediapipe.txt). Input: RGB in [-1, 1], NHWC, "
                   f"trained at {size}, runs at any size that is a multiple of 32; outputs: regressors (box and 6 "
                   "keypoints per anchor), classificators (score logits).")
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


# ---- the check ------------------------------------------------------------------------------------------------

def letterbox(path: Path, size: int) -> np.ndarray:
    """A photo as the models take it: RGB, aspect kept with a black border, [-1, 1], (size, size, 3)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        fail(f"{path}: not an image OpenCV can read")
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = round(width * scale), round(height * scale)
    canvas = np.zeros((size, size, 3), np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1


def median_ms(call, repeats: int = 50) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def check(onnx_path: Path, tflite_bytes: bytes, photos: list[Path]) -> bool:
    """ONNX Runtime against LiteRT and batch against single calls; prints the differences and timings.

    A difference counts relative to the value where that exceeds 1: far from any face the models give
    regressors in the thousands and logits down to -8000, where float32 rounding alone moves the 5th digit.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    if not onnx_path.is_file():
        fail(f"{onnx_path}: no such file to check")
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    size = SIZES[onnx_path.stem]  # the graph takes any size (a multiple of 32): the check runs the trained one
    outputs = [o.name for o in session.get_outputs()]
    batch = np.stack([letterbox(p, size) for p in photos])

    def run(images):
        return dict(zip(outputs, session.run(outputs, {"input": images})))

    single = [run(image[None]) for image in batch]
    results = {"ORT 1 by 1": {out: np.concatenate([s[out] for s in single]) for out in outputs},
               f"ORT batch {len(batch)}": run(batch)}
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        print(f"{onnx_path.name}: ai_edge_litert is not installed: the comparison with LiteRT is skipped")
    else:
        depth = {"regressors": 16, "classificators": 1}  # TFLite's names differ between the two models
        # XNNPACK (what MediaPipe runs) and TFLite's reference kernels, which differ from each other too
        for label, resolver in [("LiteRT", OpResolverType.AUTO),
                                ("LiteRT reference kernels", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)]:
            litert = Interpreter(model_content=tflite_bytes, num_threads=1, experimental_op_resolver_type=resolver)
            litert.allocate_tensors()
            index = {out: next(d["index"] for d in litert.get_output_details() if d["shape"][-1] == depth[out])
                     for out in outputs}
            found = {out: [] for out in outputs}
            for image in batch:
                litert.set_tensor(litert.get_input_details()[0]["index"], image[None])
                litert.invoke()
                for out in outputs:
                    found[out].append(litert.get_tensor(index[out]))
            results[label] = {out: np.concatenate(found[out]) for out in outputs}
    ok = True
    pairs = [("ORT 1 by 1", label) for label in results if label != "ORT 1 by 1"]
    if "LiteRT" in results:
        pairs.append(("LiteRT", "LiteRT reference kernels"))  # for scale, not checked
    for a, b in pairs:
        for out in outputs:
            diff = abs(results[a][out] - results[b][out])
            scaled = (diff / np.maximum(1, abs(results[b][out]))).max()
            checked = a.startswith("ORT")
            ok &= bool(scaled <= TOLERANCE or not checked)
            print(f"{onnx_path.name}: {a} vs {b}, {out}: max |diff| {diff.max():.1e}, relative {scaled:.1e}"
                  + ("" if not checked else "  FAILS" if scaled > TOLERANCE else "  ok"))
    print(f"{onnx_path.name}: outputs {[o.shape for o in session.get_outputs()]}; best logit per photo "
          f"{[round(float(s['classificators'].max()), 2) for s in single]}, all finite: "
          f"{all(np.isfinite(r).all() for r in results[f'ORT batch {len(batch)}'].values())}")
    for n in (1, len(batch)):
        ms = median_ms(lambda: run(batch[:n]))
        print(f"{onnx_path.name}: ORT, 1 thread, batch {n}: {ms:.2f} ms per call, {ms / n:.2f} ms per image")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"{WHEEL} (default: pip download it)")
    parser.add_argument("--out", type=Path, default=REPO / "src" / "facekeypoints" / "weights")
    parser.add_argument("--photos", type=Path, default=REPO.parent / "shared" / "data" / "photos",
                        help="photos for the check (default ../shared/data/photos)")
    parser.add_argument("--check", action="store_true", help="only check the files already in --out")
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not photos:
        fail(f"{args.photos}: no .jpg or .png photos for the check")
    files = read_wheel(args.wheel)
    if not args.check:
        written = {f"{stem}.onnx": convert(files[source], source).SerializeToString()
                   for stem, (source, _) in MODELS.items()}
        written["LICENSE-mediapipe.txt"] = license_text(files["LICENSE"])
        args.out.mkdir(parents=True, exist_ok=True)
        for filename, data in written.items():
            temporary = args.out / f".{filename}.tmp"
            temporary.write_bytes(data)
            os.replace(temporary, args.out / filename)
            print(f"wrote {args.out / filename}: {len(data):,} bytes, sha256 {sha256(data)}")
    ok = all([check(args.out / f"{stem}.onnx", files[source], photos) for stem, (source, _) in MODELS.items()])
    if not ok:
        fail(f"ONNX Runtime differs by more than {TOLERANCE} (relative where the value exceeds 1)")


if __name__ == "__main__":
    main()
