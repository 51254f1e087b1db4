"""ONNX export and the ONNX Runtime backend: same keypoints as PyTorch, usable without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from facekeypoints import load_model
from facekeypoints.cli import main
from facekeypoints.data import load_lookup, load_test
from facekeypoints.errors import FacekeypointsError
from facekeypoints.inference import OnnxKeypointModel
from facekeypoints.keypoints import four_point_faces
from facekeypoints.inference.torch_backend import KeypointModel
from facekeypoints.shipped import SHIPPED

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def public_faces(real_data):
    test, lookup = load_test(real_data), load_lookup(real_data)
    four_point = four_point_faces(lookup.requested(test.image_ids))
    chosen = np.concatenate([np.flatnonzero(four_point)[:48], np.flatnonzero(~four_point)[:48]])
    rng = np.random.default_rng(0)
    chosen = rng.permutation(chosen)  # both conventions, mixed within batches
    return test.images[chosen], four_point[chosen]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_onnx_matches_torch_on_real_images(name, public_faces):
    """The shipped .onnx files are the shipped checkpoints, decoding included (1e-3 px, fp32 both)."""
    images, four_point = public_faces
    assert four_point.any() and not four_point.all()  # both conventions are exercised
    torch_model = KeypointModel.load(name, precision="fp32")
    onnx_model = load_model(name, backend="onnx")
    assert isinstance(onnx_model, OnnxKeypointModel) and onnx_model.name == torch_model.name
    # keypointnet averages with the mirror image (it gains 0.055 px on validation), fast answers once, for speed
    assert onnx_model.flips_by_default == torch_model.flips_by_default == (name == "keypointnet")
    expected = torch_model.predict(images, four_point=four_point)
    got = onnx_model.predict(images, four_point=four_point, batch_size=40)  # batch sizes differ: dynamic axis
    np.testing.assert_allclose(got, expected, atol=1e-3, rtol=0)
    spread_torch = torch_model.predict_with_spread(images)[1]
    spread_onnx = onnx_model.predict_with_spread(images)[1]
    np.testing.assert_allclose(spread_onnx, spread_torch, atol=1e-3, rtol=0)
    assert np.isnan(spread_torch).all() == (name == "mean")


def test_export_cli_and_flip_choice(tmp_path, public_faces, capsys):
    images, four_point = public_faces
    out = tmp_path / "kp.onnx"
    assert main(["export", "--model", "fast", "--flip", "--out", str(out)]) == 0
    assert "flip averaging on" in capsys.readouterr().out
    assert main(["export", "--model", "fast", "--out", str(out)]) == 1  # never overwrites silently
    assert "already exists" in capsys.readouterr().err
    model = load_model(out)
    assert isinstance(model, OnnxKeypointModel) and model.can_flip and model.flips_by_default
    expected = KeypointModel.load("fast", precision="fp32").predict(images, four_point=four_point, flip=True)
    np.testing.assert_allclose(model.predict(images, four_point=four_point), expected, atol=1e-3, rtol=0)
    shipped = load_model("fast", backend="onnx")  # exported without flip averaging
    assert not shipped.can_flip
    with pytest.raises(FacekeypointsError, match="exported without flip"):
        shipped._run(images[:2], four_point[:2], True)  # predict(flip=True) asks only models that can
    with pytest.raises(FacekeypointsError, match="ONNX file"):
        load_model(out, backend="torch")


def test_checkpoint_runs_on_onnx_runtime_by_request(tmp_path, public_faces):
    """--backend onnx on a checkpoint exports it in memory."""
    images, _ = public_faces
    model = load_model("mean", backend="torch")
    assert isinstance(model, KeypointModel)
    from facekeypoints.shipped import shipped_weights

    onnx_model = load_model(shipped_weights("mean"), backend="onnx")
    assert isinstance(onnx_model, OnnxKeypointModel)
    np.testing.assert_allclose(onnx_model.predict(images), model.predict(images), atol=1e-3)
    with pytest.raises(FacekeypointsError, match="backend"):
        load_model("mean", backend="tensorrt")


def test_submit_with_onnx_file(tmp_path, real_data, capsys):
    onnx_file, submission = tmp_path / "mean.onnx", tmp_path / "sub.csv"
    assert main(["export", "--model", "mean", "--out", str(onnx_file), "-q"]) == 0
    assert main(["submit", "--data", str(real_data), "--model", str(onnx_file), "--out", str(submission), "-q"]) == 0
    assert main(["score", str(submission), str(real_data / "test_solution.csv"), "-q"]) == 0
    assert 3.0 < float(capsys.readouterr().out.split()[-1]) < 4.5  # the mean shape's score, as with torch


def test_photo_keypoints_without_torch():
    """With the shipped ONNX files, finding keypoints in a photo needs no torch: run it where torch cannot load."""
    script = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # any `import torch` now fails
        from facekeypoints import FaceKeypoints
        from facekeypoints.shipped import sample_image
        faces = FaceKeypoints()(sample_image())
        assert len(faces) == 1 and faces[0].keypoints is not None, faces
        print(type(FaceKeypoints().model).__name__, round(faces[0].keypoints["nose_tip"][0]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OnnxKeypointModel")


def test_idle_onnx_runtime_threads_sleep_rather_than_spin():
    """The default FaceKeypoints() ran the keypoint model on every core with ONNX Runtime's spinning threads: after
    each run they kept a second core busy while the detector worked (CPU time twice the wall time)."""
    from facekeypoints import FaceKeypoints

    fk = FaceKeypoints()
    sessions = [fk.model.session, *fk.detector.sessions.values()]
    for session in sessions:
        assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
