"""Hostile and broken model files: each is one line naming the file, exit status 1, and nothing runs."""

from __future__ import annotations

import os
import pathlib

import pytest
import torch

from facekeypoints.checkpoint import load_checkpoint
from facekeypoints.cli import main
from facekeypoints.shipped import shipped_weights


class _Payload:
    """Unpickling this calls Path.touch: a stand-in for any code a malicious file would run."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def _one_line_error(capsys, model: str) -> str:
    assert main(["predict", "--model", model, "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("facekeypoints: error: "), err
    return err


def _edited(tmp_path, name: str, **changes) -> str:
    payload = load_checkpoint(shipped_weights("fast"))
    payload.update(changes)
    torch.save(payload, tmp_path / name)
    return str(tmp_path / name)


def test_a_malicious_checkpoint_is_refused_in_one_line_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    torch.save({"format": 1, "model": "fast", "x": _Payload(marker)}, tmp_path / "evil.pt")
    err = _one_line_error(capsys, str(tmp_path / "evil.pt"))
    assert "evil.pt: not a facekeypoints checkpoint" in err and "not loaded" in err and "weights_only" not in err
    assert not marker.exists()


def test_random_bytes_and_folders_are_not_checkpoints(tmp_path, capsys):
    (tmp_path / "random.pt").write_bytes(os.urandom(4096))
    assert "random.pt: not a facekeypoints checkpoint" in _one_line_error(capsys, str(tmp_path / "random.pt"))
    (tmp_path / "empty.pt").write_bytes(b"")
    assert "empty.pt: not a facekeypoints checkpoint" in _one_line_error(capsys, str(tmp_path / "empty.pt"))


@pytest.mark.parametrize("changes, expected", [
    ({"state_dict": {}}, "weights do not fit model 'keypointnet': 102 missing (first: flip_offset)"),
    ({"state_dict": {"extra": torch.zeros(1)}}, "102 missing (first: flip_offset), 1 unexpected (first: extra)"),
    ({"model": "nosuch"}, "unknown model 'nosuch'; known: hourglass"),
    ({"config": "width 8"}, "its 'config' is missing or not a dict"),
    ({"config": {"width": "wide"}}, "bad settings for model 'keypointnet'"),
    ({"config": {"depth": 3}}, "bad settings for model 'keypointnet'"),
    ({"model": 7}, "its 'model' is missing or not a str"),
    ({"format": 99}, "not a facekeypoints checkpoint (format 1)"),
    # hostile sizes: a traceback from inside torch, or gigabytes allocated before the weights were compared
    ({"config": {"width": -8}}, "its setting width=-8 is no network's size"),
    ({"config": {"width": float("inf")}}, "its setting width=inf is no network's size"),
    ({"config": {"width": 10 ** 5}}, "do not fit model 'keypointnet': 84 mis-shaped"),  # compared on no memory
    ({"config": {"width": 10 ** 9}}, "checkpoint settings {'width': 1000000000} do not build model 'keypointnet'"),
    ({"config": {"width": 8, "depth": [10 ** 9, 1, 1, 1]}}, "its setting depth=[1000000000, 1, 1, 1] is no network"),
])
def test_a_checkpoint_of_the_right_format_with_wrong_contents_is_one_line(tmp_path, capsys, changes, expected):
    assert expected in _one_line_error(capsys, _edited(tmp_path, "bad.pt", **changes))


def test_mis_shaped_weights_are_named(tmp_path, capsys):
    weights = dict(load_checkpoint(shipped_weights("fast"))["state_dict"])
    name = next(k for k, v in weights.items() if v.ndim == 4)
    weights[name] = torch.zeros(1, 1, 1, 1)
    assert f"1 mis-shaped (first: {name})" in _one_line_error(capsys, _edited(tmp_path, "shape.pt", state_dict=weights))


def test_an_onnx_file_of_another_model_is_one_line(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    value = helper.make_tensor_value_info
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "other",
                              [value("x", TensorProto.FLOAT, [1, 3])], [value("y", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # one every ONNX Runtime reads
    onnx.save(model, tmp_path / "other.onnx")
    err = _one_line_error(capsys, str(tmp_path / "other.onnx"))
    assert "other.onnx is not a facekeypoints model: inputs x and outputs y" in err
    (tmp_path / "garbage.onnx").write_bytes(os.urandom(300))
    assert "cannot load ONNX model" in _one_line_error(capsys, str(tmp_path / "garbage.onnx"))
