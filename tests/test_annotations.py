"""Annotation formats (COCO JSON, dlib XML, 300-W folders, Kaggle's CSV): reading, writing, round trips, and a
clear error for every kind of malformed input, on small generated files and on the real shared data."""

from __future__ import annotations

import json
import math
import os
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facekeypoints.data import load_training
from facekeypoints.data.annotations import (AnnotatedFace, Annotations, as_keypoint_data, convert, keypoint_set_for,
                                            flip_pairs_for, read_annotations, read_coco, read_dlib, write_300w,
                                            write_annotations, write_coco, write_dlib)
from facekeypoints.data.coco import from_coco, to_coco
from facekeypoints.errors import DataError, FacekeypointsError, OutputExistsError
from facekeypoints.keypoints import IBUG_68, KAGGLE_15, KEYPOINT_NAMES
from facekeypoints.photos import IMAGE_SUFFIXES

from conftest import DEFAULT_DATA, make_faces, training_csv

NAMES = ["left_eye", "right_eye", "nose", "mouth"]


def _png(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (height, width), np.uint8))
    return path


def _coco(tmp_path: Path, name: str = "a.json", **changes) -> Path:
    """A valid COCO keypoints file of 3 faces on 2 images (one in images/, as CVAT exports), then `changes`
    applied: key -> value (None deletes), with dotted keys into lists ("annotations.1.keypoints")."""
    _png(tmp_path / "one.png")
    _png(tmp_path / "images" / "two.png", seed=1)
    data = {
        "images": [{"id": 1, "file_name": "one.png", "width": 64, "height": 48},
                   {"id": 7, "file_name": "two.png", "width": 64, "height": 48}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [5, 6, 40, 30],
             "keypoints": [30.5, 20.5, 2, 10.25, 21.0, 1, 20, 30, 2, 0, 0, 0]},
            {"id": 11, "image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4],
             "keypoints": [1, 2, 2, 3, 4, 2, 5, 6, 2, 7, 8, 2]},
            {"id": 12, "image_id": 1, "category_id": 1,
             "keypoints": [40, 10, 2, 0, 0, 0, 0, 0, 0, 50.5, 40.5, 2]},
        ],
        "categories": [{"id": 1, "name": "face", "keypoints": NAMES, "skeleton": [[1, 2]]}],
    }
    for key, value in changes.items():
        *parents, last = key.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = int(last) if isinstance(target, list) else last
        if value is None:
            del target[last]
        else:
            target[last] = value
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _random_annotations(tmp_path: Path, n: int = 9, k: int = 5, seed: int = 0) -> Annotations:
    """Faces with float32-valued points (some unlabelled), several faces on one image, boxes on some."""
    rng = np.random.default_rng(seed)
    images = [_png(tmp_path / "src" / f"im{i}.png", 80, 60, seed=i) for i in range(4)]
    faces = []
    for i in range(n):
        points = rng.uniform(-0.4, 59, (k, 2)).astype(np.float32).astype(np.float64)
        points[rng.random(k) < 0.3] = np.nan
        box = tuple(float(v) for v in rng.uniform(0, 40, 4).astype(np.float32)) if i % 2 else None
        faces.append(AnnotatedFace(images[i % 4], points, box, f"face {i}"))
    kset = keypoint_set_for([f"p{j}" for j in range(k)], "mine", "0:1")
    return Annotations(kset, faces, "generated", "test")


def _same_points(a: Annotations, b: Annotations) -> None:
    assert len(a) == len(b)
    for fa, fb in zip(a.faces, b.faces):
        assert np.array_equal(fa.points, fb.points, equal_nan=True)  # bit for bit
        assert fa.image.resolve() == fb.image.resolve()


# ---------------------------------------------------------------------------------------------------- COCO


def test_coco_reads_points_as_pixel_centres_with_unlabelled_as_nan(tmp_path):
    ann = read_coco(_coco(tmp_path))
    assert ann.format == "coco" and len(ann) == 3 and ann.keypoint_set.names == tuple(NAMES)
    assert ann.keypoint_set.flip_pairs == ((0, 1),)  # from the names: left_eye <-> right_eye
    first = ann.faces[0]
    np.testing.assert_array_equal(first.points[:3], [[30, 20], [9.75, 20.5], [19.5, 29.5]])  # COCO's centre at +0.5
    assert np.isnan(first.points[3]).all()  # v = 0
    assert first.box == (5, 6, 40, 30) and first.id == 10 and first.image == tmp_path / "one.png"
    assert ann.faces[1].image == tmp_path / "images" / "two.png"  # CVAT's images/ folder
    assert ann.faces[2].box is None and ann.faces[2].labelled.tolist() == [True, False, False, True]
    assert "annotations[2] (id 12)" in ann.faces[2].entry


def test_coco_finds_the_images_of_a_cvat_export(tmp_path):
    source = _coco(tmp_path / "src")
    for layout in ("images", "images/default"):
        root = tmp_path / layout.replace("/", "-")
        (root / "annotations").mkdir(parents=True)
        _png(root / layout / "one.png")
        _png(root / layout / "two.png")
        path = root / "annotations" / "person_keypoints_default.json"
        path.write_bytes(source.read_bytes())
        assert [f.image for f in read_coco(path).faces][:2] == [root / layout / "one.png", root / layout / "two.png"]
    (root / "images" / "default" / "two.png").unlink()
    looked = r"\(looked in .*annotations, .*annotations/images, .*images, .*images/default\)"
    with pytest.raises(DataError, match=r"image file 'two.png' not found " + looked):
        read_coco(path)


def test_coco_flip_pairs_from_names_or_given(tmp_path):
    path = _coco(tmp_path, **{"categories.0.keypoints": ["left_eye", "right_eye", "nose_tip", "l_ear"]})
    assert read_coco(path).keypoint_set.flip_pairs is None  # l_ear has no partner: better no flip than a wrong one
    path = _coco(tmp_path, "b.json", **{"categories.0.keypoints": ["left_eye", "right_eye", "nose_tip", "chin"]})
    assert read_coco(path).keypoint_set.flip_pairs == ((0, 1),)
    assert read_coco(path, flip_pairs="none").keypoint_set.flip_pairs is None
    assert read_coco(_coco(tmp_path, "c.json"), flip_pairs="left_eye:right_eye").keypoint_set.flip_pairs == ((0, 1),)


def test_coco_with_several_keypoint_categories_needs_one_chosen(tmp_path):
    cats = [{"id": 1, "name": "face", "keypoints": NAMES}, {"id": 2, "name": "hand", "keypoints": ["a", "b"]},
            {"id": 3, "name": "car"}]
    path = _coco(tmp_path, categories=cats)
    with pytest.raises(DataError, match=r"a.json: 2 keypoint categories \(face \(id 1\), hand \(id 2\)\): say which"):
        read_coco(path)
    assert len(read_coco(path, category="face")) == 3 and len(read_coco(path, category=1)) == 3
    with pytest.raises(DataError, match="no keypoint category 'car'"):
        read_coco(path, category="car")
    hands = read_coco(_coco(tmp_path, "b.json", categories=cats, **{"annotations.0.category_id": 2,
                                                                     "annotations.0.keypoints": [1, 1, 2, 2, 2, 2]}),
                      category="hand")
    assert len(hands) == 1 and "2 annotations of other categories left out" in hands.notes


@pytest.mark.parametrize("changes, message", [
    ({"images": None}, "no 'images' list"),
    ({"categories": {}}, "'categories' is an object, not a list"),
    ({"annotations.1.image_id": None}, r"annotations\[1\]: no 'image_id'"),
    ({"annotations.0.keypoints": None}, r"annotations\[0\] \(id 10\): no 'keypoints'"),
    ({"images.1.file_name": None}, r"images\[1\]: no 'file_name'"),
    ({"annotations.1.keypoints": [1, 2, 2] * 3}, r"annotations\[1\] \(id 11\): keypoints has 9 values, expected 3 x 4"),
    ({"annotations.1.keypoints": [1, 2, 2] * 3 + [1, "x", 2]}, r"\(id 11\): point 3's y 'x' is not a number"),
    ({"annotations.1.keypoints": [1, 2, 2] * 3 + [1, None, 2]}, r"point 3's y None is not a number"),
    ({"annotations.1.keypoints": [1, 2, 2] * 3 + ["1", 2, 2]}, r"\(id 11\): point 3's x '1' is not a number"),
    ({"annotations.1.keypoints": [1, 2, 2] * 3 + [1, 2, 3]}, r"point 3 has visibility 3, expected 0"),
    ({"annotations.1.keypoints": [1, 2, 2] * 3 + [1, 2, True]}, r"point 3 has visibility True"),
    ({"annotations.2.image_id": 99}, r"annotations\[2\] \(id 12\): image_id 99 is not in images"),
    ({"annotations.2.category_id": 5}, r"annotations\[2\] \(id 12\): category_id 5 is not in categories"),
    ({"annotations.2.id": 10}, r"annotations\[2\] \(id 10\): id 10 is also annotations\[0\]'s"),
    ({"annotations.0.image_id": "1"}, r"annotations\[0\]: image_id '1' is not a whole number"),
    ({"images.1.id": 1}, r"images\[1\] \(id 1\): id 1 is also images\[0\]'s"),
    ({"images.1.file_name": "one.png"}, r"images\[1\] \(id 7\): file_name 'one.png' is also images\[0\]'s"),
    ({"images.1.file_name": "gone.png"}, r"images\[1\] \(id 7\): image file 'gone.png' not found"),
    ({"categories.0.keypoints": ["a", "b", "a", "c"]}, "keypoint names a appear twice"),
    ({"categories.0.keypoints": ["a", 2, "b", "c"]}, "keypoints must be a list of names"),
    ({"categories.0.keypoints": None}, "no category with 'keypoints' names"),
    ({"categories.0.id": None}, r"categories\[0\]: no 'id'"),
    ({"annotations.0.bbox": [1, 2, 3]}, r"\(id 10\): bbox must be \[x, y, width, height\]"),
    ({"annotations.0.bbox": [1, 2, -3, 4]}, r"\(id 10\): bbox \[1, 2, -3, 4\] has a negative width"),
    ({"annotations.2": 5}, r"annotations\[2\]: a number, not an object"),
    ({"images.0.file_name": 3}, r"images\[0\]: file_name is a number, not a string"),
])
def test_malformed_coco_names_the_file_the_entry_and_the_problem(tmp_path, changes, message):
    path = _coco(tmp_path, **changes)
    with pytest.raises(DataError, match=message) as caught:
        read_coco(path)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize("text, message", [
    ('{"images": [], "annotations": [], ', r"line 1: not valid JSON: Expecting property name"),
    ('{"images": [NaN]}', "NaN is not a JSON number"),
    ('[1, 2]', "holds a list, not an object"),
    ('{"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "keypoints": ["a"]}], '
     '"annotations": [{"image_id": 1, "category_id": 1, "keypoints": [1e999, 1, 2]}]}',
     r"annotations\[0\]: point 0's x 1E\+999 is too large"),
    ("\xff\xfe", "not valid JSON|not UTF-8"),
])
def test_what_is_not_coco_json(tmp_path, text, message):
    path = tmp_path / "x.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=message):
        read_coco(path)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0 or math.copysign(1, x) > 0))
def test_coco_coordinates_are_exact_both_ways(x):
    """x + 0.5 then - 0.5 in decimal: every float comes back bit for bit (in floats, 1e-20 + 0.5 - 0.5 is 0)."""
    assert from_coco(Decimal(to_coco(x))) == x
    assert Decimal(to_coco(x)) - Decimal(repr(x)) == Decimal("0.5")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**10), st.integers(0, 6))
def test_coco_numbers_with_a_few_decimals_are_written_back_as_they_were(digits, places):
    text = str(Decimal(digits).scaleb(-places))
    assert Decimal(to_coco(from_coco(Decimal(text)))) == Decimal(text)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_faces_round_trip_through_coco(tmp_path_factory, data):
    """Faces of any number of points, labelled or not, with or without boxes and ids, several to an image: written
    and read back, the same faces in the same order, points bit for bit."""
    k = data.draw(st.integers(1, 6))
    coordinate = st.floats(-1e4, 1e4, allow_nan=False) | st.just(np.nan)
    folder = tmp_path_factory.mktemp("any")
    images = [folder / f"i{i}.png" for i in range(3)]
    for image in images:
        _png(image, 8, 6)
    faces = []
    for n in range(data.draw(st.integers(1, 6))):
        points = np.array(data.draw(st.lists(st.tuples(coordinate, coordinate), min_size=k, max_size=k)))
        points[np.isnan(points).any(axis=1)] = np.nan
        box = data.draw(st.none() | st.tuples(*[st.floats(0, 100)] * 4))
        faces.append(AnnotatedFace(data.draw(st.sampled_from(images)), points, box, f"face {n}", id=n * 7 + 1))
    ann = Annotations(keypoint_set_for([f"p{j}" for j in range(k)], "any"), faces, "generated", "test")
    write_coco(ann, folder / "out.json")
    back = read_coco(folder / "out.json")
    _same_points(ann, back)
    assert [f.id for f in back.faces] == [f.id for f in faces]
    for a, b in zip(faces, back.faces):  # a box given is kept; the writer makes one where none was
        assert b.box == a.box if a.box is not None else b.box is not None


def test_points_round_trip_through_coco_bit_for_bit(tmp_path):
    ann = _random_annotations(tmp_path)
    summary = write_coco(ann, tmp_path / "out" / "x.json")
    assert "9 faces in 4 images" in summary and "5 boxes made" in summary
    back = read_coco(tmp_path / "out" / "x.json")
    _same_points(ann, back)
    assert back.keypoint_set == ann.keypoint_set  # names and the given pairs (kept in the category)
    for a, b in zip(ann.faces, back.faces):
        assert b.box == a.box if a.box is not None else b.box is not None
    again = tmp_path / "out" / "y.json"
    write_coco(back, again)
    assert json.loads(again.read_text())["annotations"] == json.loads((tmp_path / "out" / "x.json").read_text())[
        "annotations"]


def test_writers_never_overwrite_without_force_and_leave_no_temporary_files(tmp_path):
    ann = _random_annotations(tmp_path)
    out = tmp_path / "x.json"
    out.write_text("precious")
    with pytest.raises(OutputExistsError, match="x.json already exists"):
        write_coco(ann, out)
    assert out.read_text() == "precious"
    write_coco(ann, out, force=True)
    assert len(read_coco(out)) == len(ann)
    folder = tmp_path / "w300"
    for writer, target in ((write_dlib, tmp_path / "x.xml"), (write_300w, folder)):
        if writer is write_300w:
            for face in ann.faces:
                face.points[np.isnan(face.points)] = 1.0
        writer(ann, target)
        with pytest.raises(OutputExistsError):
            writer(ann, target)
        writer(ann, target, force=True)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_kaggle_pixels_go_to_an_images_folder_and_its_clash_is_refused_first(tmp_path):
    images, keypoints, _ = make_faces(5, seed=3)
    (tmp_path / "training.csv").write_bytes(training_csv(images, keypoints))
    ann = read_annotations(tmp_path / "training.csv")
    assert ann.format == "kaggle" and ann.keypoint_set == KAGGLE_15 and ann.faces[0].box == (0, 0, 96, 96)
    assert ann.faces[1].image.name == "training.csv#line-3" and ann.faces[1].id == 3
    (tmp_path / "k-json-images").mkdir()
    with pytest.raises(OutputExistsError, match="k-json-images already exists"):
        write_coco(ann, tmp_path / "k.json")
    assert not (tmp_path / "k.json").exists()
    write_coco(ann, tmp_path / "k.json", force=True)
    assert sorted(p.name for p in (tmp_path / "k-json-images").iterdir()) == [f"0000{i}.png" for i in range(1, 6)]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "k-json-images" / "00002.png"), cv2.IMREAD_UNCHANGED),
                                  images[1])


# ---------------------------------------------------------------------------------------------------- dlib


DLIB = """<?xml version='1.0' encoding='ISO-8859-1'?>
<?xml-stylesheet type='text/xsl' href='image_metadata_stylesheet.xsl'?>
<dataset>
<name>faces</name>
<images>
  <image file='one.png'>
    <box top='4' left='8' width='40' height='30'>
      <part name='00' x='9' y='32'/>
      <part name='02' x='11' y='12'/>
    </box>
    <box top='1' left='1' width='5' height='5' ignore='1'/>
  </image>
  <image file='sub/two.png'>
    <box top='0' left='0' width='10' height='10'><part name='01' x='3' y='4'/><part name='00' x='1' y='2'/></box>
  </image>
</images>
</dataset>
"""


def _dlib(tmp_path: Path, text: str = DLIB, name: str = "a.xml") -> Path:
    _png(tmp_path / "one.png")
    _png(tmp_path / "sub" / "two.png")
    (tmp_path / name).write_text(text, encoding="latin-1")
    return tmp_path / name


def test_dlib_reads_boxes_as_faces_and_missing_parts_as_unlabelled(tmp_path):
    ann = read_dlib(_dlib(tmp_path))
    assert ann.format == "dlib" and len(ann) == 2 and ann.keypoint_set.names == ("00", "01", "02")
    assert ann.notes == ("1 boxes marked ignore='1' left out",)
    np.testing.assert_array_equal(ann.faces[0].points, [[9, 32], [np.nan, np.nan], [11, 12]])
    np.testing.assert_array_equal(ann.faces[1].points, [[1, 2], [3, 4], [np.nan, np.nan]])
    assert ann.faces[0].box == (8, 4, 40, 30) and ann.faces[1].image == tmp_path / "sub" / "two.png"
    assert ann.faces[1].entry == "image 'sub/two.png', box 1"


def test_dlib_part_names_are_kept_as_written(tmp_path):
    text = "<dataset><images><image file='one.png'><box top='0' left='0' width='9' height='9'><part name='1' x='1' " \
           "y='1'/><part name='3' x='3' y='3'/></box></image></images></dataset>"
    ann = read_dlib(_dlib(tmp_path, text), flip_pairs="1:3")  # 1-based, and "2" is in no box
    assert ann.keypoint_set.names == ("1", "2", "3") and ann.keypoint_set.flip_pairs == ((0, 2),)


def test_dlib_68_numbered_parts_are_ibug_68(tmp_path):
    parts = "".join(f"<part name='{i:02d}' x='{i}' y='{i + 1}'/>" for i in range(68) if i != 30)
    text = f"<dataset><images><image file='one.png'><box top='0' left='0' width='9' height='9'>{parts}</box>" \
           "</image></images></dataset>"
    ann = read_dlib(_dlib(tmp_path, text))
    assert ann.keypoint_set == IBUG_68
    assert np.isnan(ann.faces[0].points[30]).all() and ann.faces[0].points[67].tolist() == [67, 68]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<dataset><name>&lol3;</name><images/></dataset>
"""


@pytest.mark.parametrize("text, message", [
    (BILLION_LAUGHS, r"line 2: declares a DOCTYPE: refused"),
    ('<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "file:///etc/passwd">\n<dataset/>', "line 2: declares a DOCTYPE"),
    (DLIB.replace("name='02'", "name='nose'"), r"a.xml, line 9: image 'one.png', box 1: part name 'nose' is not a "
                                               "number"),
    (DLIB.replace("name='02'", "name='00'"), r"image 'one.png', box 1: part 00 appears twice"),
    (DLIB.replace("x='11'", "x='eleven'"), r"image 'one.png', box 1: part 02's x 'eleven' is not a number"),
    (DLIB.replace("x='11'", "x='1_1'"), r"image 'one.png', box 1: part 02's x '1_1' is not a number"),
    (DLIB.replace("x='11'", "x='inf'"), r"image 'one.png', box 1: part 02's x 'inf' is not a number"),
    (DLIB.replace("x='11'", "x='1e999'"), r"image 'one.png', box 1: part 02's x '1e999' is not a finite number"),
    (DLIB.replace(" y='32'", ""), r"image 'one.png', box 1, part 00: <part> has no y attribute"),
    (DLIB.replace(" top='4'", ""), r"line 7: image 'one.png', box 1: <box> has no top attribute"),
    (DLIB.replace("width='40'", "width='-4'"), r"image 'one.png', box 1: negative width"),
    (DLIB.replace("sub/two.png", "gone.png"), r"image 2: image file 'gone.png' not found"),
    (DLIB.replace("sub/two.png", "one.png"), r"image 2: file 'one.png' is also image 1's"),
    (DLIB.replace("<image file='one.png'>", "<image>"), r"image 1: no file attribute"),
    (DLIB.replace("<dataset>", "<set>").replace("</dataset>", "</set>"), r"the root element is <set>"),
    (DLIB.replace("</images>", ""), r"line 1\d: not valid XML: mismatched tag"),
    ("<dataset><images><image file='one.png'><box top='0' left='0' width='9' height='9'/></image></images></dataset>",
     "no box has parts"),
])
def test_malformed_dlib_names_the_file_the_entry_and_the_problem(tmp_path, text, message):
    path = _dlib(tmp_path, text)
    with pytest.raises(DataError, match=message) as caught:
        read_dlib(path)
    assert str(caught.value).startswith(f"{path}")


def test_dlib_round_trip_keeps_whole_pixel_points_and_says_what_it_rounds(tmp_path):
    ann = _random_annotations(tmp_path)
    summary = write_dlib(ann, tmp_path / "x.xml")
    assert "coordinates rounded to whole pixels" in summary and "numbered 00..04" in summary
    back = read_dlib(tmp_path / "x.xml")
    by_image = sorted(range(len(ann)), key=lambda i: [f.image for f in ann.faces].index(ann.faces[i].image))
    for i, face in zip(by_image, back.faces):  # dlib groups the boxes by image
        assert np.array_equal(face.points, np.round(ann.faces[i].points), equal_nan=True)
    write_dlib(back, tmp_path / "y.xml")
    assert "rounded" not in write_dlib(back, tmp_path / "y.xml", force=True)
    _same_points(back, read_dlib(tmp_path / "y.xml"))


# ---------------------------------------------------------------------------------------------------- 300-W


def test_300w_writer_refuses_unlabelled_points_before_writing(tmp_path):
    ann = _random_annotations(tmp_path)
    with pytest.raises(DataError, match=r"face 0: \d of its 5 points are not labelled, and a .pts file holds every"):
        write_300w(ann, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_300w_round_trip_through_coco(tmp_path):
    ann = _random_annotations(tmp_path)
    for face in ann.faces:
        face.points[np.isnan(face.points)] = 7.0
    write_300w(ann, tmp_path / "a")
    first = read_annotations(tmp_path / "a")
    assert first.format == "300w" and len(first) == 9
    assert sorted(p.name for p in (tmp_path / "a").glob("im0*")) == ["im0.png", "im0.pts", "im0_2.png", "im0_2.pts",
                                                                     "im0_3.png", "im0_3.pts"]
    write_coco(first, tmp_path / "a.json")
    write_300w(read_coco(tmp_path / "a.json"), tmp_path / "b")
    for path in (tmp_path / "a").iterdir():
        assert (tmp_path / "b" / path.name).read_bytes() == path.read_bytes(), path.name


PTS = "version: 1\nn_points: 3\n{\n1 2\n3.5 4\n5 6\n}\n"


@pytest.mark.parametrize("text, message", [
    (PTS.replace("3.5", "x"), r"a.pts, line 5: expected a point 'x y' of two finite numbers, got 'x 4'"),
    (PTS.replace("3.5 4", "3.5 4 1"), r"line 5: expected a point 'x y'"),
    (PTS.replace("3.5", "nan"), r"line 5: expected a point 'x y' of two finite numbers"),
    (PTS.replace("n_points: 3", "n_points: 4"), r"a.pts: n_points says 4, the file holds 3"),
    (PTS.replace("n_points: 3\n", ""), r"the header needs 'n_points: N'"),
    (PTS.replace("}\n", ""), r"no '}' closing the points"),
    (PTS.replace("{\n", ""), r"line 3: expected a header line"),
])
def test_malformed_pts_names_the_file_the_line_and_the_problem(tmp_path, text, message):
    folder = tmp_path / "w"
    _png(folder / "sub" / "a.png")
    (folder / "sub" / "a.pts").write_text(text)
    with pytest.raises(DataError, match=message):
        read_annotations(folder)


def test_300w_folder_needs_an_image_per_pts_and_one_point_count(tmp_path):
    folder = tmp_path / "w"
    _png(folder / "a.png")
    (folder / "a.pts").write_text(PTS)
    ann = read_annotations(folder)
    np.testing.assert_array_equal(ann.faces[0].points, [[0, 1], [2.5, 3], [4, 5]])  # 1-based in the file
    assert ann.keypoint_set.names == ("point_1", "point_2", "point_3") and ann.faces[0].entry == "a.pts"
    (folder / "b.pts").write_text(PTS)
    with pytest.raises(DataError, match=r"b.pts: no image beside it"):
        read_annotations(folder)
    _png(folder / "b.jpg")
    (folder / "b.pts").write_text(PTS.replace("n_points: 3", "n_points: 2").replace("5 6\n", ""))
    with pytest.raises(DataError, match=r"b.pts: 2 points where a.pts has 3"):
        read_annotations(folder)


@pytest.mark.parametrize("suffix", IMAGE_SUFFIXES)
def test_300w_folder_finds_its_image_under_every_suffix_photos_read(tmp_path, suffix):
    """One list of image suffixes: a .pts's image is found beside it in any format the photo pipeline reads (its
    own list once missed .jpe, .jp2, .pnm, .gif, .avif, ...). Only the name matters here: the bytes are a PNG's."""
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / f"a{suffix}").write_bytes(cv2.imencode(".png", np.zeros((48, 64), np.uint8))[1].tobytes())
    (folder / "a.pts").write_text(PTS)
    assert read_annotations(folder).faces[0].image == folder / f"a{suffix}"


# ------------------------------------------------------------------------------------------ flip pairs, sets


def test_flip_pairs_for():
    names = ["left_eye", "right_eye", "nose", "left_ear", "right_ear"]
    assert flip_pairs_for("0:1, 3:4", names) == ((0, 1), (3, 4))
    assert flip_pairs_for("left_eye:right_eye,left_ear:4", names) == ((0, 1), (3, 4))
    assert flip_pairs_for("none", names) == "none" and flip_pairs_for("auto", names) is None
    assert flip_pairs_for("01:00", ["00", "01"]) == ((1, 0),)  # dlib's names are numbers: names first
    assert flip_pairs_for((("left_eye", "1"), (3, "right_ear")), names) == ((0, 1), (3, 4))  # parsed already
    assert keypoint_set_for(names, "x", "0:1").flip_pairs == ((0, 1),)
    assert keypoint_set_for(names, "x").flip_pairs == ((0, 1), (3, 4))
    assert keypoint_set_for(names, "x", "none").flip_pairs is None


@pytest.mark.parametrize("text, message", [
    ("left_eye:rigth_eye", r"'left_eye:rigth_eye': no point named 'rigth_eye' in the set \(did you mean 'right_eye'"),
    ("0:9", r"'0:9': point 9 is out of range: the set has 5 points, 0..4"),
    ("2:2", r"'2:2' pairs point 2 with itself"),
    ("0:1,1:3", r"point 1 \(right_eye\) is in '0:1' and again in '1:3'"),
    ("0-1", r"expected pairs 'a:b' \(indices or names\) separated by commas, or 'none', got '0-1'"),
    ("0:1:2", r"'0:1:2': no point named '1:2' in the set"),
    ([("left_eye", 1, 2)], r"\('left_eye', 1, 2\) is not a pair of two points"),
])
def test_bad_flip_pairs_say_what_is_wrong(text, message):
    with pytest.raises(FacekeypointsError, match=message):
        flip_pairs_for(text, ["left_eye", "right_eye", "nose", "left_ear", "right_ear"])


# ----------------------------------------------------------------------------------------------- dispatch


def test_read_annotations_knows_the_format_from_the_path(tmp_path):
    assert read_annotations(_coco(tmp_path)).format == "coco"
    assert read_annotations(_dlib(tmp_path)).format == "dlib"
    ann = _random_annotations(tmp_path)
    for face in ann.faces:
        face.points[np.isnan(face.points)] = 1.0
    write_300w(ann, tmp_path / "w")
    assert read_annotations(tmp_path / "w").format == "300w"
    images, keypoints, _ = make_faces(3)
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "training.csv").write_bytes(training_csv(images, keypoints))
    assert read_annotations(tmp_path / "k").format == "kaggle"
    assert read_annotations(tmp_path / "k" / "training.csv").format == "kaggle"
    with pytest.raises(DataError, match="no such file"):
        read_annotations(tmp_path / "absent.json")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="notes.txt: not an annotation file this package reads"):
        read_annotations(tmp_path / "notes.txt")
    with pytest.raises(FacekeypointsError, match="the output is the input"):
        convert(tmp_path / "a.json", tmp_path / "a.json", force=True)
    with pytest.raises(FacekeypointsError, match="a 300-W folder is a folder"):
        write_annotations(ann, tmp_path / "x.csv", to="300w")
    with pytest.raises(FacekeypointsError, match="x.csv: Kaggle's CSV is read, not written: give NAME.json"):
        write_annotations(ann, tmp_path / "x.csv")
    import zipfile

    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:  # a CVAT export, zipped
        archive.writestr("annotations/person_keypoints_default.json", "{}")
    with pytest.raises(DataError, match="export.zip: no training.csv inside this zip; it holds annotations/"
                                        "person_keypoints_default.json: unzip it and give that file"):
        read_annotations(tmp_path / "export.zip")


# ---------------------------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_rows(real_data, tmp_path_factory) -> Path:
    """The first 200 faces of the real training.csv, as a CSV of their own (quick to parse)."""
    import zipfile

    if (real_data / "training.zip").is_file():
        with zipfile.ZipFile(real_data / "training.zip") as archive:
            lines = archive.read("training.csv").splitlines(keepends=True)
    else:  # the CSV unzipped, as `real_data` also takes it
        lines = (real_data / "training.csv").read_bytes().splitlines(keepends=True)
    path = tmp_path_factory.mktemp("real") / "training.csv"
    path.write_bytes(b"".join(lines[:201]))
    return path


def test_real_kaggle_to_coco_and_back_gives_the_same_faces(real_rows, tmp_path):
    kaggle = read_annotations(real_rows)
    assert len(kaggle) == 200 and kaggle.keypoint_set == KAGGLE_15
    write_annotations(kaggle, tmp_path / "k.json")
    back = read_annotations(tmp_path / "k.json")
    assert back.keypoint_set == KAGGLE_15 and len(back) == 200
    for a, b in zip(kaggle.faces, back.faces):
        assert a.id == b.id and a.box == b.box
        assert np.array_equal(a.points.astype(np.float32), b.points.astype(np.float32), equal_nan=True)
        assert np.array_equal(a.points, b.points, equal_nan=True)
        np.testing.assert_array_equal(cv2.imread(str(b.image), cv2.IMREAD_UNCHANGED), a.pixels)


def test_real_kaggle_written_as_coco_reads_back_as_load_trainings_data(real_rows, tmp_path):
    """The parity the training path rests on: the same arrays, bit for bit, from the CSV and from its COCO."""
    convert(real_rows, tmp_path / "coco" / "k.json")
    got, want = as_keypoint_data(read_annotations(tmp_path / "coco" / "k.json")), load_training(real_rows)
    for name in ("images", "keypoints", "mask", "lines"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b, equal_nan=True), name
    assert got.keypoints.dtype == np.float32 and np.isnan(got.keypoints).any()


def test_real_300w_to_coco_to_300w_gives_the_same_files(kaggle68, tmp_path):
    kaggle_68 = kaggle68 / "test"
    convert(kaggle_68, tmp_path / "t.json")
    summary = convert(tmp_path / "t.json", tmp_path / "again")
    assert "600 faces" in summary
    for path in sorted(kaggle_68.iterdir()):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name
    assert read_annotations(tmp_path / "t.json").keypoint_set == IBUG_68


def test_kaggle_names_survive_coco_but_not_dlib(tmp_path):
    images, keypoints, _ = make_faces(4, partial_every=2)
    (tmp_path / "training.csv").write_bytes(training_csv(images, keypoints))
    convert(tmp_path / "training.csv", tmp_path / "k.xml")
    back = read_annotations(tmp_path / "k.xml")
    assert back.keypoint_set.names == tuple(f"{i:02d}" for i in range(15)) and back.keypoint_set.flip_pairs is None
    back = read_annotations(tmp_path / "k.xml", flip_pairs=",".join(f"{a}:{b}" for a, b in KAGGLE_15.flip_pairs))
    assert back.keypoint_set.flip_pairs == KAGGLE_15.flip_pairs
    convert(tmp_path / "training.csv", tmp_path / "k.json")  # beside k.xml: each has its own images folder
    assert read_annotations(tmp_path / "k.json").keypoint_set.names == KEYPOINT_NAMES


def test_the_docs_examples_run_as_printed(tmp_path, real_rows, kaggle68):
    """docs/annotations.md's Python examples, beside the shared data's folders, print what the page says."""
    import re
    import subprocess
    import sys

    page = Path(__file__).resolve().parents[1] / "docs" / "annotations.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 2
    (tmp_path / "kaggle-68").mkdir()
    (tmp_path / "kaggle-68" / "test").symlink_to(kaggle68 / "test")
    (tmp_path / "facial-keypoints-detection").symlink_to(Path(os.environ.get("FKD_DATA_DIR", DEFAULT_DATA)))
    for index, block in enumerate(blocks):
        (tmp_path / f"example_{index}.py").write_text(block)
        done = subprocess.run([sys.executable, f"example_{index}.py"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        for expected in re.findall(r"^# -> (.*)$", block, re.M):
            assert expected in done.stdout, f"example {index + 1} says it prints {expected!r}:\n{done.stdout}"


def test_data_check_lists_the_suspicious_faces_of_an_annotation_file(tmp_path):
    from facekeypoints.data.check import check_path

    names = ["left_eye_center", "right_eye_center", "nose_tip", "chin"]
    annotations = [
        [40, 20, 2, 20, 20, 2, 30, 30, 2, 30, 40, 2],  # fine
        [0, 0, 0] * 4,  # nothing labelled
        [40, 20, 2, 20, 20, 2, 30, 30, 2, 30, 49, 2],  # chin below the 48-pixel image
        [20, 20, 2, 40, 20, 2, 30, 30, 2, 30, 40, 2],  # the subject's left eye on the image's left
        [40, 20, 2, 20, 20, 2, 30, 30, 2, 30, 40, 2],  # the first face again
    ]
    path = _coco(tmp_path, annotations=[{"id": i, "image_id": 1, "category_id": 1, "keypoints": k}
                                        for i, k in enumerate(annotations)],
                 **{"categories.0.keypoints": names, "images.0.width": 60})
    [result] = check_path(path)
    assert result.kind == "coco" and result.rows == 5 and result.errors == 0
    lines = result.problem_lines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "warning: annotations[0] (id 0), image 'one.png': the file says the image is 60x48, the image is 64x48",
        "warning: annotations[1] (id 1), image 'one.png': no point labelled",
        "warning: annotations[2] (id 2), image 'one.png': 1 point outside the 64x48 image, e.g. chin at (29.5, 48.5)",
        "warning: annotations[3] (id 3), image 'one.png': left and right eyes look swapped (the left eye's x is "
        "smaller)",
        "warning: annotations[4] (id 4), image 'one.png': the same face as annotations[0] (id 0), image 'one.png'",
    ]
    summary = result.summary()
    assert "COCO keypoints file, 5 faces, 0 errors, 5 warnings" in summary and "flip pairs: 1 (left_eye_center:" \
        "right_eye_center)" in summary and "1 images without a face of this category" in summary
    (tmp_path / "one.png").write_bytes(b"not a png")
    [result] = check_path(path)
    assert result.errors == 1 and "cannot read the image's size" in result.problem_lines(errors_only=True)[0]


def test_a_writer_that_fails_half_way_leaves_the_old_output_as_it_was(tmp_path):
    ann = _random_annotations(tmp_path)
    for face in ann.faces:
        face.points[np.isnan(face.points)] = 1.0
    write_300w(ann, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    ann.faces[5].points += 1
    ann.faces[6].image = tmp_path / "src" / "gone.png"  # copying its image fails after five faces are written
    with pytest.raises(DataError, match=r"gone.png: face 6: cannot copy its image \(No such file"):
        write_300w(ann, tmp_path / "out", force=True)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(DataError, match="gone.png: .*cannot read the image's size"):
        write_coco(ann, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists() and [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []
