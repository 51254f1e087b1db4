"""Models: each network's shape, and the registry (choices, defaults, options, rebuilding) that makes a model
one file."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from conftest import make_faces

from facekeypoints.errors import FacekeypointsError
from facekeypoints.models import Option, create_model, register_model


def test_hourglass_is_fully_convolutional_at_full_resolution():
    model = create_model("hourglass", stacks=2, channels=16).train()
    outputs = model(torch.rand(2, 1, 96, 96))
    assert len(outputs) == 2 and all(o.shape == (2, 15, 96, 96) for o in outputs)
    assert model.eval()(torch.rand(1, 1, 96, 96)).shape == (1, 15, 96, 96)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_resnet18_regressor_shape(in_channels):
    model = create_model("resnet18", in_channels=in_channels).eval()
    assert model(torch.rand(2, 1, 96, 96)).shape == (2, 30)
    n = sum(p.numel() for p in model.parameters())
    assert 11_000_000 < n < 13_000_000  # ResNet-18 (11.2 M without its classifier) + the tutorial's head


def test_keypointnet_shape_and_size():
    model = create_model("keypointnet", width=16).eval()
    assert model(torch.rand(2, 1, 96, 96)).shape == (2, 19, 24, 24)  # 15 + 4 heads at stride 4
    default = create_model("keypointnet")
    assert sum(p.numel() for p in default.parameters()) * 4 < 10_000_000  # float32 weights under 10 MB


TOY_MODEL = '''
from torch import nn

from facekeypoints.codecs import RegressionCodec
from facekeypoints.models import Option, register_model


@register_model(codec=RegressionCodec, summary="a toy: one hidden layer", options={"hidden": Option(8, "hidden units")},
                train={"epochs": 1, "batch_size": 4})
class Toy(nn.Module):
    name = "toy"

    def __init__(self, hidden: int = 8):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(96 * 96, hidden), nn.ReLU(), nn.Linear(hidden, 30))

    def forward(self, images):
        return self.net(images)
'''


def test_a_model_is_one_file(kaggle_dir, tmp_path, monkeypatch, capsys):
    """A new model in one file: registered, it trains, evaluates and predicts through the command line, with
    its own option, its own defaults and its checkpoint rebuilt from the registry."""
    import importlib
    import sys

    from facekeypoints.checkpoint import load_checkpoint
    from facekeypoints.cli import main
    from facekeypoints.models import _registry

    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))  # forgotten after the test
    (tmp_path / "toy_model.py").write_text(TOY_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "toy_model", raising=False)
    importlib.import_module("toy_model")

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines where the text falls
    assert "toy: a toy: one hidden layer" in help_text and "--hidden" in help_text
    out = tmp_path / "run"
    assert main(["train", "--model", "toy", "--hidden", "4", "--data", str(kaggle_dir), "--out", str(out),
                 "--val-fraction", "0.25", "--threads", "1", "-q"]) == 0
    payload = load_checkpoint(out / "best.pt")
    assert payload["model"] == "toy" and payload["config"] == {"hidden": 4}
    assert payload["meta"]["codec"]["name"] == "regression"
    # a model without a number of heads predicts Kaggle's 15, whatever mean shape the data gave them; no other set
    from facekeypoints.errors import FacekeypointsError
    from facekeypoints.keypoints import IBUG_68, KAGGLE_15

    _registry.model_spec("toy").build({"hidden": 4}, KAGGLE_15.with_mean_shape([(48.0, 48.0)] * 15))
    with pytest.raises(FacekeypointsError, match="predicts Kaggle's 15 keypoints only"):
        _registry.model_spec("toy").build({"hidden": 4}, IBUG_68)
    config = payload["meta"]["train_config"]
    assert config["epochs"] == 1 and config["batch_size"] == 4 and config["lr"] == 1e-3  # its own, then common
    assert main(["evaluate", "--model", str(out), "--data", str(kaggle_dir), "--val-fraction", "0.25"]) == 0
    assert "toy" not in capsys.readouterr().err
    assert main(["train", "--model", "resnet18", "--hidden", "4", "--data", str(kaggle_dir), "--out",
                 str(tmp_path / "r"), "-q"]) == 1  # an option of another model
    assert "model resnet18 has no option hidden" in capsys.readouterr().err


def test_every_file_in_models_registers_a_model():
    from pathlib import Path

    import facekeypoints.models as models
    from facekeypoints.models import list_models, model_spec

    files = {p.stem for p in Path(models.__file__).parent.glob("*.py") if not p.stem.startswith("_")}
    defined_in = {model_spec(name).cls.__module__.rpartition(".")[2] for name in list_models()}
    assert files == defined_in
    for name in list_models():  # each declares a summary and codec, and options its constructor takes
        spec = model_spec(name)
        assert spec.summary and spec.codec
        network, _ = spec.split_options({})
        spec.cls(**network)


def test_unknown_model_or_bad_config_is_one_clear_error():
    with pytest.raises(FacekeypointsError, match="unknown model 'nope'; known: hourglass, keypointnet"):
        create_model("nope")
    with pytest.raises(FacekeypointsError, match="bad settings for model 'keypointnet'"):
        create_model("keypointnet", colour=True)


def test_mean_shape_fit():
    _, keypoints, mask = make_faces(30, seed=5)
    model = create_model("mean").fit(keypoints, mask)
    np.testing.assert_allclose(model.shape.numpy(), np.nanmean(keypoints, axis=0), rtol=1e-5)


def test_the_registry_refuses_a_second_model_of_a_name_and_an_option_without_default():
    from facekeypoints.codecs import RegressionCodec
    from facekeypoints.models import _registry

    class Other(torch.nn.Module):
        name = "keypointnet"

    before = dict(_registry._REGISTRY)
    with pytest.raises(ValueError, match="two models named 'keypointnet'"):
        register_model(codec=RegressionCodec, summary="another")(Other)
    assert _registry._REGISTRY == before
    with pytest.raises(ValueError, match="needs a default"):
        Option(None, "a size")


def test_only_models_that_learn_a_flip_offset_average_with_the_mirror():
    """Test-time flip averaging needs the labels' learned offset: the registry says which models have one."""
    from facekeypoints.inference.torch_backend import KeypointModel
    from facekeypoints.models import flip_offset, model_spec

    assert [n for n in ("hourglass", "keypointnet", "mean", "resnet18") if model_spec(n).flip_offset] == ["keypointnet"]
    mean = KeypointModel.load("mean")
    assert not mean.can_flip and not mean.resolve_flip(True)  # asked, but it cannot: the plain answer
    faces = np.random.default_rng(0).integers(0, 255, (3, 96, 96), dtype=np.uint8)
    assert np.array_equal(mean.predict(faces, flip=True), mean.predict(faces))
    assert flip_offset(create_model("resnet18")) is None
    assert flip_offset(create_model("keypointnet", width=8)).shape == (19,)
    kp = KeypointModel.load("fast")
    assert kp.can_flip and not kp.flips_by_default  # shipped without it, for speed: see docs/models.md
    assert not np.allclose(kp.predict(faces, flip=True), kp.predict(faces))


@pytest.mark.parametrize("model, options, message", [
    ("hourglass", {"stacks": 0}, "--stacks must be a number of 1 or more, not 0"),
    ("hourglass", {"sigma": float("nan")}, "--sigma must be a number of 0.1 or more, not nan"),
    ("keypointnet", {"width": -3}, "--width must be a number of 1 or more, not -3"),
    ("resnet18", {"in_channels": 2}, "--in-channels must be one of 1, 3, not 2"),
])
def test_a_model_option_out_of_range_is_refused_before_any_data_is_read(model, options, message, tmp_path, capsys):
    """--stacks 0 ended in an AttributeError traceback after the data had loaded, --width 0 in torch's, and
    --sigma nan in advice to lower --lr."""
    from facekeypoints.training import TrainConfig, run

    with pytest.raises(FacekeypointsError, match=re.escape(message)):
        run(TrainConfig(model=model, data=str(tmp_path / "absent"), out=str(tmp_path / "run"), options=options))
    flag, value = next(iter(options.items()))
    from facekeypoints.cli import main

    with pytest.raises(SystemExit):  # the command line refuses it too, in one line
        main(["train", "--model", model, f"--{flag.replace('_', '-')}", str(value), "--out", str(tmp_path / "r"),
              "--data", str(tmp_path / "absent")])
    assert capsys.readouterr().err.count("\n") == 1
