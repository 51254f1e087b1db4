"""Keypoint sets as data: the set object, training on a 300-W folder of 68 points, and the model it makes running
through every predicting part (checkpoint, ONNX, photos, tracking, evaluation, CLI) with its own point names."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from facekeypoints import FaceKeypoints
from facekeypoints.codecs import IntegralCodec, codec_from_config
from facekeypoints.data.annotations import read_annotations, read_pts
from facekeypoints.data.faces import crops_of, load_faces
from facekeypoints.errors import FacekeypointsError
from facekeypoints.evaluation import evaluate, shared_points
from facekeypoints.inference import load_model
from facekeypoints.inference.export import export_onnx
from facekeypoints.keypoints import (
    FLIP_PAIRS, IBUG_68, KAGGLE_15, KEYPOINT_NAMES, MEAN_SHAPE, KeypointSet, four_point_faces, pairs_from_names,
    parse_flip_pairs, resolve_flip_pairs,
)
from facekeypoints.models import model_spec
from facekeypoints.photos import read_image
from facekeypoints.training import TrainConfig, run
from facekeypoints.training.loop import init_from


# ------------------------------------------------------------------------------------------------ the set


def test_a_set_round_trips_through_plain_data():
    for s in (KAGGLE_15, IBUG_68, KeypointSet("mine", ("a", "b"), None, ((1, 2), (3, 4)))):
        again = KeypointSet.from_dict(json.loads(json.dumps(s.to_dict())))
        assert again == s and again.flip_pairs == s.flip_pairs and again.mean_shape == s.mean_shape
    assert KeypointSet.from_dict(None) is KAGGLE_15  # what a model saved before sets were data predicts


def test_a_broken_set_is_refused_in_one_line():
    with pytest.raises(FacekeypointsError, match="twice"):
        KeypointSet("x", ("a", "a"))
    with pytest.raises(FacekeypointsError, match="flip pairs"):
        KeypointSet("x", ("a", "b"), ((0, 5),))
    with pytest.raises(FacekeypointsError, match="flip pairs"):
        KeypointSet("x", ("a", "b", "c"), ((0, 1), (1, 2)))  # a point in two pairs
    with pytest.raises(FacekeypointsError, match="mean shape"):
        KeypointSet("x", ("a", "b"), None, ((1, 2),))
    with pytest.raises(FacekeypointsError, match="not a keypoint set"):
        KeypointSet.from_dict({"names": ["a"]})


def test_mirror_pairs_come_from_names_or_not_at_all():
    assert pairs_from_names(KEYPOINT_NAMES) == FLIP_PAIRS
    assert pairs_from_names(["nose", "left_eye", "right_eye"]) == ((1, 2),)
    assert pairs_from_names(["nose", "l_ear", "r_ear", "LeftHand", "RightHand"]) == ((1, 2), (3, 4))
    assert pairs_from_names(["nose", "chin"]) is None  # nothing says a side: no flipping
    assert pairs_from_names(["left_eye", "nose"]) is None  # a side without its partner: no flipping either
    assert parse_flip_pairs(None) is None and parse_flip_pairs("None") == "none"
    assert resolve_flip_pairs(parse_flip_pairs("0:2, a:b"), ["a", "x", "y", "b"]) == ((0, 2), (0, 3))
    for bad in ("0-1", "a:", ""):
        with pytest.raises(FacekeypointsError, match="--flip-pairs"):
            parse_flip_pairs(bad)
    with pytest.raises(FacekeypointsError, match="neither"):
        resolve_flip_pairs((("a", "zz"),), ["a", "b"])


def test_ibug_pairs_mirror_the_real_68_point_faces(kaggle68):
    """Mirroring the labels with the set's pairs gives back a face of the same mean shape: wrong pairs (or none)
    would put each mirrored point on another point's place."""
    data = load_faces(kaggle68 / "test")
    assert data.keypoint_set == IBUG_68 and data.keypoints.shape == (600, 68, 2)
    mean = data.keypoints.mean(axis=0)
    mirrored = data.keypoints[:, list(IBUG_68.flip_permutation)].copy()
    mirrored[..., 0] = 95 - mirrored[..., 0]
    assert np.abs(mirrored.mean(axis=0) - mean).max() < 1.5
    unpaired = data.keypoints.copy()
    unpaired[..., 0] = 95 - unpaired[..., 0]
    assert np.abs(unpaired.mean(axis=0) - mean).max() > 20  # the test can fail: the jaw swaps sides


def test_aliases_give_kaggle_names_on_68_points(kaggle68):
    data = load_faces(kaggle68 / "test")
    nose = IBUG_68.lookup(data.keypoints, ["nose_tip", "left_eye_center"])
    assert np.allclose(nose[:, 0], data.keypoints[:, 30]) and np.allclose(nose[:, 1], data.keypoints[:, 42:48].mean(1))
    with pytest.raises(FacekeypointsError, match="has no chin"):
        IBUG_68.lookup(data.keypoints, ["chin"], "this test")
    _, _, names = shared_points(KAGGLE_15, IBUG_68)
    assert len(names) == 13 and "nose_tip" in names and "left_eye_center" not in names  # a mean is not a point


def test_codecs_and_models_take_their_size_from_the_set():
    model, codec, kwargs = model_spec("keypointnet").build({"width": 8}, IBUG_68)
    assert codec.heads == 68 and kwargs["heads"] == 68 and model.head.out_channels == 68
    assert model_spec("keypointnet").build({"width": 8})[1].heads == 19  # Kaggle's: 15 and the 4-point convention
    again = codec_from_config(json.loads(json.dumps(codec.config())))
    assert again.keypoint_set == IBUG_68 and again.heads == 68
    old = {k: v for k, v in IntegralCodec().config().items() if k != "keypoint_set"}  # a checkpoint from before
    assert codec_from_config(old).keypoint_set == KAGGLE_15
    assert not four_point_faces(np.ones((3, 68), bool), IBUG_68).any()


# ------------------------------------------------------------------------------- a 68-point model end to end


@pytest.fixture(scope="module")
def run68(kaggle68, tmp_path_factory):
    """A small keypointnet trained for one epoch on 64 of the 68-point faces: plumbing, not accuracy."""
    out = tmp_path_factory.mktemp("run68")
    run(TrainConfig(data=str(kaggle68 / "train"), out=str(out), options={"width": 8}, epochs=1, batch_size=32,
                    limit=64, val_fraction=0.25, threads=1), quiet=True)
    return out


def test_the_checkpoint_and_onnx_file_say_what_they_predict(run68, tmp_path):
    model = load_model(run68 / "best.pt", backend="torch", precision="fp32")
    assert model.keypoint_set.names == IBUG_68.names and model.keypoint_set.flip_pairs == IBUG_68.flip_pairs
    assert model.keypoint_set.mean_shape is not None  # from the training faces
    assert model.can_flip
    exported = tmp_path / "m.onnx"
    export_onnx(run68 / "best.pt", exported)
    onnx_model = load_model(exported)
    assert onnx_model.backend == "onnx" and onnx_model.keypoint_set == model.keypoint_set
    crops = np.random.default_rng(0).integers(0, 255, (3, 96, 96), np.uint8)
    a, b = model.predict(crops), onnx_model.predict(crops)
    assert a.shape == (3, 68, 2) and np.abs(a - b).max() < 1e-3


def test_a_68_point_model_runs_on_photos_with_its_own_names(run68, real_photos):
    # an epoch on 48 faces is no face model yet: its heatmaps spread wide, so nothing is dropped as "not a face"
    fk = FaceKeypoints(model=str(run68 / "best.pt"), max_spread=1e9)
    faces = fk(str(real_photos[0]))
    assert faces, "the detector finds the photo's face whatever the keypoint model"
    face = faces[0]
    assert list(face.keypoints) == list(IBUG_68.names) and face.as_array().shape == (68, 2)
    assert face.point("nose_tip") == face.keypoints["nose_bridge_4"]
    record = face.to_dict()
    assert list(record["keypoints"]) == list(IBUG_68.names)
    image = read_image(real_photos[0])
    aligned = face.aligned(image, 112)  # eyes, nose and mouth corners come from the aliases
    assert aligned.shape == (112, 112)


def test_a_68_point_model_follows_a_face_in_a_video(run68, real_photos):
    tracker = FaceKeypoints(model=str(run68 / "best.pt"), max_spread=1e9).tracker()
    image = read_image(real_photos[0])
    for t in range(3):  # crops fitted to its 68 points on the set's own mean shape (an epoch's model: not steady)
        faces = tracker(np.roll(image, 2 * t, axis=1), t / 30)
        assert faces and faces[0].track is not None and list(faces[0].keypoints) == list(IBUG_68.names)


def test_evaluate_scores_a_68_point_model_in_nme_and_the_15_point_one_on_shared_points(run68, kaggle68):
    done = evaluate(str(run68 / "best.pt"), str(kaggle68 / "test"), split="all")
    assert done.points == IBUG_68.names and done.nme is not None and 0 < done.nme < 1
    assert "NME" in done.format()
    kaggle = evaluate("keypointnet", str(kaggle68 / "test"), split="all")
    assert kaggle.shared and len(kaggle.points) == 13 and kaggle.nme is None
    assert kaggle.report.rmse < 4  # dlib's points and Kaggle's labellers' differ, but not by much


def test_init_keeps_the_backbone_and_the_heads_of_shared_points():
    shipped = load_model("keypointnet", backend="torch").module.state_dict()
    model, codec, _ = model_spec("keypointnet").build({}, IBUG_68)
    init_from(model, codec, "keypointnet")
    state = model.state_dict()
    assert torch.equal(state["stem.0.0.weight"], shipped["stem.0.0.weight"])
    nose_new, nose_old = IBUG_68.aliases["nose_tip"][0], KEYPOINT_NAMES.index("nose_tip")
    assert torch.equal(state["head.weight"][nose_new], shipped["head.weight"][nose_old])
    assert not torch.equal(state["head.weight"][0], shipped["head.weight"][0])  # the jaw's head is new
    hourglass, hg_codec, _ = model_spec("hourglass").build({}, IBUG_68)
    with pytest.raises(FacekeypointsError, match="is a keypointnet model"):
        init_from(hourglass, hg_codec, "keypointnet")


def test_a_set_without_mirror_pairs_trains_without_flipping(tmp_path, kaggle68):
    """Five points with plain names: nothing says which mirror which, so the model must not learn from flips."""
    for i in range(1, 41):
        (tmp_path / f"{i:03d}.png").write_bytes((kaggle68 / "train" / f"{i:05d}.png").read_bytes())
        points = read_pts(kaggle68 / "train" / f"{i:05d}.pts")[[36, 45, 30, 48, 54]] + 1
        (tmp_path / f"{i:03d}.pts").write_text("version: 1\nn_points: 5\n{\n"
                                               + "".join(f"{x} {y}\n" for x, y in points) + "}\n")
    data = load_faces(tmp_path)
    assert data.keypoint_set.names == tuple(f"point_{i}" for i in range(1, 6)) and not data.keypoint_set.can_flip
    out = tmp_path / "run"
    run(TrainConfig(data=str(tmp_path), out=str(out), options={"width": 8}, epochs=1, batch_size=16,
                    val_fraction=0.25, threads=1), quiet=True)
    model = load_model(out / "best.pt", backend="torch")
    assert not model.can_flip and model.predict(data.images[:2]).shape == (2, 5, 2)
    paired = load_faces(tmp_path, parse_flip_pairs("0:1,3:4"))
    assert paired.keypoint_set.flip_pairs == ((0, 1), (3, 4))


# -------------------------------------------------------------------------- faces in photos: detector crops


def test_faces_in_photos_are_cut_as_the_detector_cuts_them(tmp_path, real_photos):
    """A photo annotated with (here) the shipped model's own points: its training crop is the detector's crop, so
    the points land where Kaggle's crops hold them on average; an image without a face is left out, and said."""
    photo = real_photos[0]
    face = FaceKeypoints()(str(photo))[0]
    cv2.imwrite(str(tmp_path / "face.png"), read_image(photo))
    pts = "".join(f"{x + 1} {y + 1}\n" for x, y in face.as_array())
    (tmp_path / "face.pts").write_text("version: 1\nn_points: 15\n{\n" + pts + "}\n")
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((300, 300), 128, np.uint8))
    (tmp_path / "blank.pts").write_text("version: 1\nn_points: 15\n{\n" + pts + "}\n")
    crops = crops_of(read_annotations(tmp_path))
    assert len(crops.data) == 1 and crops.not_found == ["blank.pts"]
    assert np.abs(crops.data.keypoints[0] - np.array(MEAN_SHAPE)).mean() < 6  # framed as Kaggle's crops


def test_a_colour_photo_gives_the_crop_inference_cuts(tmp_path, real_photos, monkeypatch):
    """Colour photos, annotated with the shipped model's own points: each training crop is the very crop the
    model is given at inference (the detector sees the colour pixels both times; on grey it frames a few pixels
    apart), and the points land in it where inference maps them."""
    fk = FaceKeypoints()
    given = []
    predict = fk.model.predict_with_spread
    monkeypatch.setattr(fk.model, "predict_with_spread", lambda crops: (given.append(crops.copy()), predict(crops))[1])
    colour = [p for p in real_photos if p.name in ("astronaut.png", "gus.jpg")]
    assert len(colour) == 2, "astronaut.png and gus.jpg, the colour photos of ../shared/data/photos"
    faces = []
    for photo in colour:
        [face] = fk(str(photo))
        faces.append(face)
        (tmp_path / photo.name).write_bytes(photo.read_bytes())  # the file as it is, colour kept
        pts = "".join(f"{x + 1} {y + 1}\n" for x, y in face.as_array())
        (tmp_path / photo.with_suffix(".pts").name).write_text("version: 1\nn_points: 15\n{\n" + pts + "}\n")
    crops = crops_of(read_annotations(tmp_path))  # in the .pts files' order: astronaut, gus
    assert crops.not_found == [] and len(crops.data) == 2
    apart = {photo.name: float(np.abs(crops.data.images[i].astype(int) - given[i][0]).mean())
             for i, photo in enumerate(colour)}
    assert not any(apart.values()), f"mean grey-level difference from inference's crop: {apart}"
    for i, face in enumerate(faces):
        np.testing.assert_allclose(crops.data.keypoints[i], face.crop.to_crop(face.as_array()), atol=1e-3)


def test_the_shipped_models_say_what_they_predict():
    """In the files themselves, not by the loaders' default for files from before sets were data."""
    import onnx

    from facekeypoints.shipped import SHIPPED, shipped_onnx, shipped_weights

    for name in SHIPPED:
        meta = torch.load(shipped_weights(name), weights_only=True)["meta"]
        assert meta["codec"]["keypoint_set"] == KAGGLE_15.to_dict()
        props = {p.key: p.value for p in onnx.load(str(shipped_onnx(name))).metadata_props}
        assert json.loads(props["facekeypoints"])["codec"]["keypoint_set"] == KAGGLE_15.to_dict()


def test_kaggle_data_as_coco_trains_exactly_as_the_csv(real_data, tmp_path):
    """Parity: the training CSV written out as COCO keypoints JSON gives the same faces, the same split and, with
    the same seed, the very same validation RMSE as the CSV itself."""
    from facekeypoints.data import load_training
    from facekeypoints.data.annotations import convert

    coco = tmp_path / "kaggle.json"
    convert(real_data, coco)
    csv, json_faces = load_training(real_data), load_faces(coco)
    assert json_faces.keypoint_set == KAGGLE_15
    for field in ("images", "keypoints", "mask", "lines"):
        assert np.array_equal(getattr(csv, field), getattr(json_faces, field), equal_nan=True), field
    reports = [run(TrainConfig(data=str(data), out=str(tmp_path / name), options={"width": 8}, epochs=2,
                               batch_size=32, limit=400, threads=1, seed=3), quiet=True)
               for name, data in (("csv", real_data), ("coco", coco))]
    assert reports[0].rmse == reports[1].rmse and reports[0].count == reports[1].count


def test_every_predicting_command_works_with_a_68_point_model(run68, real_photos, kaggle68, tmp_path, capsys):
    from facekeypoints.cli import main

    def cli(*argv) -> tuple[int, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out + err

    photo = real_photos[0]
    code, said = cli("predict", photo, "--model", run68, "--json", tmp_path / "f.json", "--max-spread", "1e9")
    assert code == 0, said
    record = json.loads((tmp_path / "f.json").read_text())[0]
    assert list(record["faces"][0]["keypoints"]) == list(IBUG_68.names)
    code, said = cli("export", "--model", run68, "--out", tmp_path / "m.onnx")
    assert code == 0, said
    code, said = cli("evaluate", "--model", tmp_path / "m.onnx", "--data", kaggle68 / "test", "--split", "all")
    assert code == 0 and "NME" in said and "inner_lip_8" in said, said
    code, said = cli("show", kaggle68 / "test", "--model", run68, "--out", tmp_path / "s.png", "--count", "4")
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 0, said
    code, said = cli("show", real_photos[0].parent.parent / "facial-keypoints-detection", "--model", run68,
                     "--out", tmp_path / "k.png", "--count", "4")
    assert code == 1 and "predicts ibug-68" in said


def test_every_annotation_format_gives_the_same_training_faces(kaggle68, tmp_path):
    """The 68-point faces as a 300-W folder, COCO JSON and dlib XML: `train` gets the same crops and points."""
    from dataclasses import replace

    from facekeypoints.data.annotations import write_annotations

    faces = read_annotations(kaggle68 / "test")
    few = replace(faces, faces=faces.faces[:30])
    loaded = []
    for name in ("few", "few.json", "few.xml"):
        write_annotations(few, tmp_path / name)
        loaded.append(load_faces(tmp_path / name))
    for other in loaded[1:]:
        assert other.keypoint_set == IBUG_68
        assert np.array_equal(other.images, loaded[0].images)
        assert np.array_equal(other.keypoints, loaded[0].keypoints)  # kaggle-68's points are whole pixels
