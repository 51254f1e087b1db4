"""COCO keypoints JSON, as CVAT, Label Studio and most pose tools write it: read and written.

`images` ({id, file_name, width, height}), `annotations` ({id, image_id, category_id, keypoints [x, y, v, ...],
bbox [x, y, w, h], ...}) and `categories` ({id, name, keypoints [names], skeleton}). v = 0: not labelled
(x, y ignored); v = 1 (labelled, hidden) and v = 2 (labelled, visible) are both labelled.

Pixel convention: COCO's coordinates are continuous, with pixel i spanning [i, i + 1), so its centre is at
i + 0.5; the package's points are 0-based pixel centres. Reading subtracts 0.5 from each keypoint, writing adds
it back, both in exact decimal arithmetic on the numbers' text (the shortest text that gives the float back):
so written and read back, every point is the very same float, bit for bit, and a COCO file read and written
again holds the same numbers. Boxes are in pixel edges in both, and are not moved.

Image paths are relative to the JSON's folder; an `images/` folder beside it is tried too, and CVAT's export
layout (`annotations/person_keypoints_SUBSET.json` beside `images/` or `images/SUBSET/`).
The writer writes faces that carry their pixels (Kaggle's) as PNG files into the folder `NAME-json-images/`
beside `NAME.json`, and points to other images where they are.
"""

from __future__ import annotations

import contextlib
import json
import os
from decimal import Context, Decimal
from pathlib import Path

import numpy as np

from .._fs import atomic_folder, atomic_output, refuse_existing
from .._progress import progress
from ..errors import DataError, FacekeypointsError
from .annotated import AnnotatedFace, Annotations, encode_png, face_box, find_image, image_size, keypoint_set_for, \
    number, output_names

OFFSET = Decimal("0.5")  # COCO's coordinate of the centre of pixel 0
EXACT = 1100  # decimal digits: x +- 0.5 exact for every float64 (from 1e-324 to 1e308)


_EXACT = Context(prec=EXACT)


def to_coco(x: float) -> str:
    """A point's coordinate as COCO's JSON number: x + 0.5, exactly, from x's shortest text."""
    return str(_EXACT.add(Decimal(repr(float(x))), OFFSET))


def from_coco(value) -> float:
    """A COCO coordinate (int or the Decimal of its text) as a 0-based pixel centre: value - 0.5, rounded once."""
    return float(_EXACT.subtract(Decimal(value), OFFSET))


def _fail(message: str, path: Path):
    raise DataError(message, str(path))


def _load_json(path: Path):
    try:
        raw = path.read_bytes()
    except OSError as error:
        _fail(f"cannot read: {error.strerror}", path)

    def constant(name):  # Python's json takes NaN and Infinity; JSON does not have them
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(raw, parse_constant=constant, parse_float=Decimal)  # Decimal: the text, exactly
    except UnicodeDecodeError:
        _fail("not a JSON text file (not UTF-8)", path)
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON: {error.msg} (column {error.colno})", str(path), error.lineno) from None
    except ValueError as error:
        _fail(f"not valid JSON: {error}", path)


def _list(data: dict, key: str, path: Path) -> list:
    if key not in data:
        _fail(f"no {key!r} list: not a COCO keypoints file (it needs images, annotations and categories)", path)
    if not isinstance(data[key], list):
        _fail(f"{key!r} is {_json_type(data[key])}, not a list", path)
    return data[key]


def _entry(item, where: str, keys: dict[str, type], path: Path) -> dict:
    """An object of the file with these keys of these types (int: a whole number, not a bool)."""
    if not isinstance(item, dict):
        _fail(f"{where}: {_json_type(item)}, not an object", path)
    for key, kind in keys.items():
        if key not in item:
            _fail(f"{where}: no {key!r}", path)
        value = item[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            _fail(f"{where}: {key} {value!r} is not a whole number", path)
        if kind is not int and not isinstance(value, kind):
            _fail(f"{where}: {key} is {_json_type(value)}, not {_json_type(kind())}", path)
    return item


def _json_type(value) -> str:
    """How JSON names the type of a parsed value."""
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string"}.get(type(value), "a number")


def _pick_category(categories: list, category, path: Path) -> dict:
    seen: dict[int, int] = {}
    for i, cat in enumerate(categories):
        _entry(cat, f"categories[{i}]", {"id": int}, path)
        if cat["id"] in seen:
            _fail(f"categories[{i}]: id {cat['id']} is also categories[{seen[cat['id']]}]'s", path)
        seen[cat["id"]] = i
    with_points = [c for c in categories if c.get("keypoints")]
    if not with_points:
        _fail("no category with 'keypoints' names: not a COCO keypoints file", path)
    if category is not None:
        chosen = [c for c in with_points if str(category) in (str(c["id"]), str(c.get("name")))]
        if not chosen:
            _fail(f"no keypoint category {category!r} (there are: {_named(with_points)})", path)
        return chosen[0]
    if len(with_points) > 1:
        _fail(f"{len(with_points)} keypoint categories ({_named(with_points)}): say which with --category NAME "
              "(category= in Python)", path)
    return with_points[0]


def _named(categories: list) -> str:
    return ", ".join(f"{c.get('name', '?')} (id {c['id']})" for c in categories)


def read_coco(path: str | Path, flip_pairs=None, category=None) -> Annotations:
    """A COCO keypoints JSON file: the annotations of its keypoint category (`category`: its name or id, needed
    when the file has several), in the file's order. Crowd regions (iscrowd 1) are left out."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict):
        _fail(f"the file holds {_json_type(data)}, not an object with images, annotations and categories", path)
    images, annotations = _list(data, "images", path), _list(data, "annotations", path)
    categories = _list(data, "categories", path)
    cat = _pick_category(categories, category, path)
    names = cat["keypoints"]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        _fail(f"category {cat.get('name', cat['id'])!r}: keypoints must be a list of names (strings)", path)
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        _fail(f"category {cat.get('name', cat['id'])!r}: keypoint names {', '.join(doubled)} appear twice", path)
    pairs = flip_pairs if flip_pairs is not None else cat.get("flip_pairs")  # this package writes its pairs there
    try:
        keypoint_set = keypoint_set_for(names, str(cat.get("name") or path.stem), pairs)
    except FacekeypointsError as error:  # the pairs' or the set's own checks, said with the file's name
        raise DataError(f"category {cat.get('name', cat['id'])!r}: {error}", str(path)) from None
    k = len(names)
    category_ids = {c["id"] for c in categories}

    by_id: dict[int, tuple[int, str, tuple[int, int] | None]] = {}
    by_name: dict[str, int] = {}
    for i, image in enumerate(images):
        _entry(image, f"images[{i}]", {"id": int, "file_name": str}, path)
        where = f"images[{i}] (id {image['id']})"
        if image["id"] in by_id:
            _fail(f"{where}: id {image['id']} is also images[{by_id[image['id']][0]}]'s", path)
        if image["file_name"] in by_name:
            _fail(f"{where}: file_name {image['file_name']!r} is also images[{by_name[image['file_name']]}]'s",
                  path)
        size = None
        if image.get("width") is not None or image.get("height") is not None:
            _entry(image, where, {"width": int, "height": int}, path)
            if image["width"] <= 0 or image["height"] <= 0:
                _fail(f"{where}: width and height must be positive, not {image['width']}x{image['height']}", path)
            size = (image["width"], image["height"])
        by_id[image["id"]] = (i, image["file_name"], size)
        by_name[image["file_name"]] = i

    folders = image_folders(path)
    found: dict[int, Path] = {}
    faces, annotation_ids, skipped, crowd = [], {}, 0, 0
    for i, ann in enumerate(annotations):
        _entry(ann, f"annotations[{i}]", {"image_id": int, "category_id": int}, path)
        where = f"annotations[{i}]" + (f" (id {ann['id']})" if "id" in ann else "")
        if "id" in ann:
            _entry(ann, where, {"id": int}, path)
            if ann["id"] in annotation_ids:
                _fail(f"{where}: id {ann['id']} is also annotations[{annotation_ids[ann['id']]}]'s", path)
            annotation_ids[ann["id"]] = i
        if ann["category_id"] not in category_ids:
            _fail(f"{where}: category_id {ann['category_id']} is not in categories", path)
        if ann["image_id"] not in by_id:
            _fail(f"{where}: image_id {ann['image_id']} is not in images", path)
        if ann["category_id"] != cat["id"]:
            skipped += 1
            continue
        if ann.get("iscrowd") in (1, True):
            crowd += 1
            continue
        _entry(ann, where, {"keypoints": list}, path)
        points = _points(ann["keypoints"], k, where, path)
        box = None
        if ann.get("bbox") is not None:
            box = _box(ann["bbox"], where, path)
        image_index, file_name, size = by_id[ann["image_id"]]
        if ann["image_id"] not in found:
            image = find_image(file_name, folders)
            if image is None:
                _fail(f"images[{image_index}] (id {ann['image_id']}): image file {file_name!r} not found (looked "
                      f"in {', '.join(str(f) for f in folders)})", path)
            found[ann["image_id"]] = image
        faces.append(AnnotatedFace(found[ann["image_id"]], points, box, f"{where}, image {file_name!r}",
                                   id=ann.get("id"), size=size))
    notes = []
    if skipped:
        notes.append(f"{skipped} annotations of other categories left out")
    if crowd:
        notes.append(f"{crowd} crowd regions (iscrowd 1) left out")
    empty = len(images) - len({f.image for f in faces})
    if empty:
        notes.append(f"{empty} images without a face of this category")
    return Annotations(keypoint_set, faces, str(path), "coco", tuple(notes))


def image_folders(path: Path) -> tuple[Path, ...]:
    """Where a COCO file's images may be: beside it, in images/ beside it, and as CVAT's export lays them out
    (annotations/person_keypoints_SUBSET.json beside images/ or images/SUBSET/)."""
    folders = [path.parent, path.parent / "images"]
    if path.parent.name == "annotations":
        root = path.parent.parent / "images"
        subset = path.stem.rpartition("_")[2]
        folders += [root, root / subset] if subset and subset != path.stem else [root]
    return tuple(folders)


def _points(values: list, k: int, where: str, path: Path) -> np.ndarray:
    if len(values) != 3 * k:
        _fail(f"{where}: keypoints has {len(values)} values, expected 3 x {k} = {3 * k} (x, y, v for each of the "
              "category's points)", path)
    points = np.full((k, 2), np.nan)
    if set(map(type, values)) <= {int, Decimal} and set(values[2::3]) <= {0, 1, 2}:  # the usual file, quickly
        for j in range(k):
            if values[3 * j + 2]:
                points[j] = from_coco(values[3 * j]), from_coco(values[3 * j + 1])
        if not np.isinf(points).any():
            return points
    for j in range(k):  # the same, value by value, saying what is wrong
        x, y, v = values[3 * j: 3 * j + 3]
        if isinstance(v, bool) or v not in (0, 1, 2):
            _fail(f"{where}: point {j} has visibility {v!r}, expected 0 (not labelled), 1 (labelled, hidden) or "
                  "2 (labelled, visible)", path)
        for value, axis in ((x, "x"), (y, "y")):
            if type(value) not in (int, Decimal):  # a JSON number: not a string, not true or false
                _fail(f"{where}: point {j}'s {axis} {value!r} is not a number", path)
            if not np.isfinite(float(value)):
                _fail(f"{where}: point {j}'s {axis} {value} is too large", path)
        if v:
            points[j] = from_coco(x), from_coco(y)
    return points


def _box(values, where: str, path: Path) -> tuple[float, float, float, float]:
    if not isinstance(values, list) or len(values) != 4:
        _fail(f"{where}: bbox must be [x, y, width, height], got {str(values)[:60]}", path)
    try:
        box = tuple(number(v, "bbox value") for v in values)
    except ValueError as error:
        _fail(f"{where}: {error}", path)
    if box[2] < 0 or box[3] < 0:
        _fail(f"{where}: bbox {values} has a negative width or height", path)
    return box


def images_folder(path: Path) -> Path:
    """Where the writers put the images of faces that carry their pixels: NAME-json-images/ beside NAME.json
    (NAME-xml-images/ beside NAME.xml: one folder each, so both can sit side by side)."""
    return path.with_name(f"{path.stem}-{path.suffix.lstrip('.').lower() or 'out'}-images")


def write_coco(annotations: Annotations, path: str | Path, force: bool = False) -> str:
    """Write COCO keypoints JSON (atomically; never over an existing file without `force`). Returns a summary."""
    path = Path(path)
    refuse_existing(path, force)
    pixel_faces = any(f.pixels is not None for f in annotations.faces)
    folder = images_folder(path)
    kset = annotations.keypoint_set
    ids = [f.id for f in annotations.faces]
    keep_ids = None not in ids and len(set(ids)) == len(ids)
    images, image_ids, annotation_rows, made_boxes = [], {}, [], 0
    stems = output_names(annotations.faces)
    with atomic_output(path, force) as tmp, \
            (atomic_folder(folder, force) if pixel_faces else contextlib.nullcontext()) as staged:
        for n, (face, stem) in enumerate(progress(list(zip(annotations.faces, stems)), desc="writing COCO",
                                                  unit="face"), start=1):
            if face.image not in image_ids:
                width, height = image_size(face)
                if face.pixels is not None:
                    (staged / f"{stem}.png").write_bytes(encode_png(face.pixels, f"{face.entry}"))
                    file_name = f"{folder.name}/{stem}.png"
                else:
                    file_name = Path(os.path.relpath(face.image.resolve(), path.parent.resolve())).as_posix()
                image_ids[face.image] = len(images) + 1
                images.append({"id": len(images) + 1, "file_name": file_name, "width": width, "height": height})
            made_boxes += face.box is None
            x, y, w, h = face_box(face, (images[image_ids[face.image] - 1]["width"],
                                         images[image_ids[face.image] - 1]["height"]))
            keypoints = ",".join("0,0,0" if np.isnan(px) else f"{to_coco(px)},{to_coco(py)},2"
                                 for px, py in face.points.tolist())
            annotation_rows.append({
                "id": face.id if keep_ids else n, "image_id": image_ids[face.image], "category_id": 1,
                "keypoints": _Raw(f"[{keypoints}]"), "num_keypoints": int(face.labelled.sum()),
                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
        category = {"id": 1, "name": kset.name, "supercategory": "face", "keypoints": list(kset.names),
                    "skeleton": []}
        if kset.flip_pairs is not None:
            category["flip_pairs"] = [list(p) for p in kset.flip_pairs]
        info = {"description": f"{kset.name} keypoints, written by facekeypoints from {annotations.source}"}
        tmp.write_text(_dumps(info, images, annotation_rows, [category]))
    wrote = f"{len(annotation_rows)} faces in {len(images)} images"
    extra = [f"their pixels as PNG in {folder}"] if pixel_faces else []
    if made_boxes:
        extra.append(f"{made_boxes} boxes made from the points or the image (the input gave none)")
    return f"wrote {path}: COCO keypoints, {wrote}" + "".join(f"; {e}" for e in extra)


def _dumps(info: dict, images: list, annotations: list, categories: list) -> str:
    """The JSON, one image and one annotation a line: diffable, and readable in an editor."""
    def dumps(item: dict) -> str:  # keypoints are numbers' text already (exact decimals)
        return "{" + ", ".join(f"{json.dumps(k)}: {v.text if isinstance(v, _Raw) else json.dumps(v, allow_nan=False)}"
                               for k, v in item.items()) + "}"

    def rows(items):
        return "[\n" + ",\n".join("  " + dumps(item) for item in items) + "\n]"

    return ("{\n" + f'"info": {json.dumps(info)},\n"categories": {rows(categories)},\n"images": {rows(images)},\n'
            f'"annotations": {rows(annotations)}\n' + "}\n")



class _Raw:
    """JSON text to write as it is."""

    def __init__(self, text: str):
        self.text = text
