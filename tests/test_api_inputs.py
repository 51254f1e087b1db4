"""The Python API's inputs (issue 14 item 9): every array or image that says its grey levels without doubt is
accepted and gives the same faces as the file; anything else is refused with a ValueError or TypeError that says
what was expected, never a raw OpenCV or ONNX Runtime error and never a silent wrong answer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from facekeypoints import FaceKeypoints
from facekeypoints.photos import find_faces, read_colour
from facekeypoints.shipped import sample_image


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()


@pytest.fixture(scope="module")
def rgb():
    return cv2.cvtColor(read_colour(sample_image()), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def points(fk):
    [face] = fk(sample_image())
    return face.as_array()


@pytest.mark.parametrize("convert", [
    lambda a: a.astype(np.float64) / 255,
    lambda a: a.astype(np.float32),  # 0-255 floats: found 0 faces when taken to be in [0, 1]
    lambda a: a.astype(np.float16) / 255,
    lambda a: a.astype(np.int32),
    lambda a: a.astype(np.int64)[..., ::-1].copy()[..., ::-1],  # a strided view
    lambda a: a.astype(">u2") * 257,  # big-endian 16 bits
], ids=["float64 [0,1]", "float32 [0,255]", "float16 [0,1]", "int32", "int64 strided", "uint16 big-endian"])
def test_colour_arrays_of_any_depth_give_the_same_face(fk, rgb, points, convert):
    faces = fk(convert(rgb))
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0].as_array(), points, atol=0.5)  # float16 rounds a level here and there


def test_bool_and_grey_arrays_are_accepted(fk, rgb):
    mask = np.dstack([rgb.mean(axis=2) > 128] * 3)  # raised OpenCV's "Unsupported depth" error
    assert isinstance(fk(mask), list)
    assert len(fk(rgb.mean(axis=2) / 255)) == 1


@pytest.mark.parametrize("array, expected", [
    (np.full((50, 50, 3), -0.5), "float grey levels in \\[0, 1\\] or \\[0, 255\\]"),
    (np.full((50, 50, 3), 300.0), "float grey levels in \\[0, 1\\] or \\[0, 255\\]"),
    (np.full((50, 50), np.nan, np.float32), "float grey levels"),
    (np.full((50, 50, 3), 300, np.int32), "grey levels in 0-255 \\(a uint16 array for 16 bits\\)"),
    (np.full((50, 50, 3), -1, np.int8), "grey levels in 0-255"),
    (np.zeros((0, 50)), "empty"),
    (np.zeros((50, 50, 2), np.uint8), "1, 3 or 4 channels"),
])
def test_ambiguous_arrays_are_refused_saying_what_was_expected(fk, array, expected):
    with pytest.raises(ValueError, match=expected):
        fk(array)


def test_arrays_that_are_not_numbers_are_refused(fk):
    for not_an_image in (np.array([["a", "b"]]), None, np.zeros((9, 9), complex), b"\x89PNG"):
        with pytest.raises(TypeError, match="expected an image"):
            fk(not_an_image)
    with pytest.raises(ValueError, match='channels "rgb" or "bgr"'):
        fk(np.zeros((9, 9, 3), np.uint8), channels="RGB!")


def test_a_16_bit_pil_image_finds_the_face_its_file_finds(fk, tmp_path, points):
    grey = cv2.imread(str(sample_image()), cv2.IMREAD_GRAYSCALE).astype(np.uint16) * 257
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), grey)
    from_file = fk(path)
    with Image.open(path) as image:
        assert image.mode.startswith("I")  # "I;16": converting it to RGB clipped every level above 255
        from_pil = fk(image)
    assert len(from_file) == len(from_pil) == 1
    np.testing.assert_allclose(from_pil[0].as_array(), from_file[0].as_array(), atol=1e-3)
    eight_bit = fk((grey // 257).astype(np.uint8))  # the same levels in 8 bits: the same answer
    np.testing.assert_allclose(from_file[0].as_array(), eight_bit[0].as_array(), atol=1e-3)


def test_predict_crops_reads_levels_by_their_range_and_refuses_the_rest(fk):
    crops = find_faces(cv2.imread(str(sample_image()), cv2.IMREAD_GRAYSCALE), fk.detector).faces
    expected = fk.predict_crops(crops)
    np.testing.assert_allclose(fk.predict_crops(crops / 255.0), expected, atol=1e-4)  # was 28 px off
    np.testing.assert_allclose(fk.predict_crops(crops.astype(np.float32)), expected, atol=1e-4)
    np.testing.assert_allclose(fk.predict_crops(crops.astype(np.int64)), expected, atol=1e-4)
    for wrapping in (crops.astype(np.int32) - 1, crops.astype(np.int32) + 300):  # wrapped around modulo 256
        with pytest.raises(ValueError, match="0-255"):
            fk.predict_crops(wrapping)
    with pytest.raises(ValueError, match=r"\(N, 96, 96\)"):
        fk.predict_crops(crops[0])
    with pytest.raises(TypeError, match="numbers"):
        fk.predict_crops(crops.astype(object))


def test_four_point_of_the_wrong_length_or_kind_is_refused(fk):
    crops = np.full((3, 96, 96), 128, np.uint8)
    assert fk.predict_crops(crops, four_point=[True, False, 1]).shape == (3, 15, 2)
    for wrong in ([True, False], np.ones((3, 1), bool), [0, 1, 2], ["yes", "no", "no"]):
        with pytest.raises(ValueError, match="four_point"):
            fk.predict_crops(crops, four_point=wrong)


def test_detect_files_takes_one_path_as_one_input(fk, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "." and "/" are not walked: the string is not a list of its characters
    for one in (str(sample_image()), sample_image()):
        results = list(fk.detect_files(one, workers=0))
        assert [(r.source, r.error, len(r.faces)) for r in results] == [(sample_image(), None, 1)]
    with pytest.raises(TypeError):
        list(fk.detect_files(b"photo.jpg"))


@pytest.mark.parametrize("option", [{"max_spread": float("nan")}, {"max_spread": 0}, {"max_pixels": -1},
                                    {"max_pixels": "many"}])
def test_nonsense_limits_are_refused(fk, option):
    with pytest.raises(ValueError, match=next(iter(option))):
        FaceKeypoints(fk.model, **option)
