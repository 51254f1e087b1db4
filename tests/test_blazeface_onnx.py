"""The shipped BlazeFace face detectors (weights/blazeface_*.onnx, built by tools/blazeface_onnx.py from MediaPipe's
TFLite files): the interface the photo detector relies on, a dynamic batch that gives what single calls give, and
a face found where there is one."""

from __future__ import annotations

from importlib import resources

import cv2
import numpy as np
import pytest

from facekeypoints.photos.blazeface import FULL, SHORT
from facekeypoints.photos.io import read_colour
from facekeypoints.shipped import sample_image

ort = pytest.importorskip("onnxruntime")

# name -> (input side, anchors): MediaPipe's face_detection_{short_range,full_range}.pbtxt
MODELS = {"blazeface_short_range": (128, 896), "blazeface_full_range": (192, 2304)}


def weights(filename: str):
    return resources.files("facekeypoints") / "weights" / filename


@pytest.fixture(scope="module", params=MODELS)
def model(request):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(weights(f"{request.param}.onnx")), options,
                                   providers=["CPUExecutionProvider"])
    return request.param, session


def photo_tensors(side: int) -> np.ndarray:
    """The sample photo (square, so no letterbox border) and its mirror image, RGB in [-1, 1], NHWC."""
    image = read_colour(sample_image())
    assert image.shape[0] == image.shape[1]
    rgb = cv2.cvtColor(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    return np.stack([rgb, rgb[:, ::-1]]).astype(np.float32) / 127.5 - 1


def test_inputs_and_outputs_are_named_and_shaped_for_the_decoder(model):
    name, session = model
    side, anchors = MODELS[name]
    (given,) = session.get_inputs()
    assert (given.name, given.type, given.shape[3]) == ("input", "tensor(float)", 3)
    assert all(isinstance(dim, str) for dim in given.shape[:3])  # batch, height and width are free
    produced = {o.name: o for o in session.get_outputs()}
    assert sorted(produced) == ["classificators", "regressors"]
    assert produced["regressors"].shape[2] == 16 and produced["classificators"].shape[2] == 1
    batch_dims = {given.shape[0]} | {o.shape[0] for o in produced.values()}
    assert len(batch_dims) == 1  # one dynamic batch size for all
    # At the size it was trained at, MediaPipe's anchor count; at any other, the count the decoder's anchors give.
    net = {net.name: net for net in (SHORT, FULL)}[name]
    for height, width in ((side, side), (2 * side, side + 64), (96, 320)):
        regressors, scores = session.run(None, {"input": np.zeros((1, height, width, 3), np.float32)})
        expected = anchors if (height, width) == (side, side) else len(net.anchors(height, width))
        assert regressors.shape == (1, expected, 16) and scores.shape == (1, expected, 1)
        assert len(net.anchors(height, width)) == expected


def test_a_batch_gives_what_single_calls_give_and_finds_the_face(model):
    name, session = model
    images = photo_tensors(MODELS[name][0])
    together = session.run(["regressors", "classificators"], {"input": images})
    assert all(out.shape[0] == len(images) and np.isfinite(out).all() for out in together)
    for i, image in enumerate(images):
        single = session.run(["regressors", "classificators"], {"input": image[None]})
        for batched, alone in zip(together, single):
            np.testing.assert_allclose(batched[i], alone[0], rtol=1e-5, atol=1e-5)
    # a face scores over 0.5 (a positive logit) somewhere in each photo, and nowhere in a blank one
    assert (together[1].max(axis=(1, 2)) > 0).all()
    blank = np.zeros_like(images[:1])
    assert session.run(["classificators"], {"input": blank})[0].max() < 0


def test_the_mediapipe_licence_ships_beside_the_models():
    text = weights("LICENSE-mediapipe.txt").read_text()
    assert "Apache License" in text and "face_detection_full_range_sparse.tflite" in text
    assert all(weights(f"{name}.onnx").is_file() for name in MODELS)
