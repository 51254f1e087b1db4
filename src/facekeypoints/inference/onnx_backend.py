"""The ONNX Runtime backend: runs a graph written by `facekeypoints export`, with no torch at all."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import FacekeypointsError
from ..keypoints import KeypointSet
from .predictor import Predictor

EXPECTED_OUTPUTS = ["keypoints", "spread"]  # as `facekeypoints export` names them


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
        self.meta = json.loads(props.get("facekeypoints", "{}"))
        self.name = self.meta.get("model", "onnx")
        # the points it predicts: in its metadata since keypoint sets are data; older files predict Kaggle's 15
        self.keypoint_set = KeypointSet.from_dict(self.meta.get("codec", {}).get("keypoint_set"))
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
        points, spread = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})
        return points, spread
