"""The ONNX Runtime backend: runs a graph written by `facekeypoints export`, with no torch at all."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import FacekeypointsError
from ..keypoints import IMAGE_SIZE, KeypointSet
from .predictor import Predictor

EXPECTED_OUTPUTS = ["keypoints", "spread"]  # as `facekeypoints export` names them


def signature(points: int) -> dict[str, tuple[str, list]]:
    """Each input's and output's type and shape as `facekeypoints export` writes them for a model of `points`
    keypoints (None: the batch, any size)."""
    return {"faces": ("tensor(uint8)", [None, IMAGE_SIZE, IMAGE_SIZE]), "four_point": ("tensor(bool)", [None]),
            "keypoints": ("tensor(float)", [None, points, 2]), "spread": ("tensor(float)", [None, points])}


def _misfits(args, points: int) -> list[str]:
    """What in a graph's inputs or outputs differs from `signature(points)`, in words (a dimension the graph
    leaves symbolic could be anything: taken as fitting)."""
    wrong = []
    for arg in args:
        kind, shape = signature(points)[arg.name]
        given = list(arg.shape or [])
        if arg.type != kind or len(given) != len(shape) or any(
                isinstance(g, int) and w is not None and g != w for g, w in zip(given, shape)):
            wrong.append(f"{arg.name} is {arg.type} {given}, not {kind} {['N' if w is None else w for w in shape]}")
    return wrong


def onnx_runtime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxKeypointModel(Predictor):
    """A model exported by `facekeypoints export`, run by ONNX Runtime on the CPU.

    threads: intra-op threads (default: ONNX Runtime's, one per core). Flip averaging is fixed when the
    graph is exported (its "flip" metadata).
    """

    backend = "onnx"

    def __init__(self, model: str | Path | bytes, threads: int | None = None, source: str = ""):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        # Idle threads sleep rather than spin: spinning after each run burnt a second core while the detector ran
        # (`FaceKeypoints()` on the shared photos: CPU time 1.87 times the wall time, 1.02 without; the wall time
        # 6 % shorter without: `benchmarks/photos.py` section 8), and a batch of 256 faces ran as fast without it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        data = model if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise FacekeypointsError(f"cannot load ONNX model {source or model}: {error}") from None
        self.inputs = {i.name for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if "faces" not in self.inputs or not self.inputs <= {"faces", "four_point"} or outputs != EXPECTED_OUTPUTS:
            raise FacekeypointsError(  # a graph of some other model would fail later, with ONNX Runtime's words
                f"{source or model} is not a facekeypoints model: inputs {', '.join(sorted(self.inputs))} and "
                f"outputs {', '.join(outputs)}, where `facekeypoints export` writes inputs faces, four_point and "
                f"outputs {', '.join(EXPECTED_OUTPUTS)}")
        props = self.session.get_modelmeta().custom_metadata_map
        try:
            self.meta = json.loads(props.get("facekeypoints", "{}"))
            # the points it predicts: in its metadata since keypoint sets are data; older files predict Kaggle's 15
            self.keypoint_set = KeypointSet.from_dict(self.meta.get("codec", {}).get("keypoint_set"))
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError, KeyError) as error:
            raise FacekeypointsError(f"{source or model}: its facekeypoints metadata cannot be read ({error})"
                                     ) from None
        misfits = _misfits(list(self.session.get_inputs()) + list(self.session.get_outputs()), len(self.keypoint_set))
        if misfits:  # the right names on some other graph: ONNX Runtime would fail on the first face
            raise FacekeypointsError(f"{source or model} is not a facekeypoints model: {'; '.join(misfits)}")
        self.name = self.meta.get("model", "onnx")
        self.flips = bool(self.meta.get("flip", False))
        self.source = source or str(model)

    @property
    def can_flip(self) -> bool:
        return self.flips

    def _run(self, faces, four_point, flip):
        if flip != self.flips:
            raise FacekeypointsError(
                f"{self.source} was exported {'with' if self.flips else 'without'} flip averaging; export it "
                f"again with {'--no-flip' if self.flips else '--flip'} to predict "
                f"{'without' if self.flips else 'with'}")
        feed = {"faces": faces, "four_point": four_point}
        try:
            points, spread = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})
        except Exception as error:  # onnxruntime's own exception types: a graph broken inside
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise FacekeypointsError(f"{self.source}: ONNX Runtime cannot run it ({first})") from None
        return points, spread
