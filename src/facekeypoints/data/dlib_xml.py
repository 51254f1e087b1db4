"""dlib's imglab XML, as `train_shape_predictor` takes it: read and written.

    <dataset><images>
      <image file='a.jpg'>
        <box top='4' left='8' width='87' height='87'>
          <part name='00' x='9' y='32'/> ...

Parts are numbered ("00".."67" for 300-W's 68 points, which is iBUG 68); a part missing from a box is not
labelled; a box with ignore='1' is left out. dlib's coordinates are 0-based pixel centres, as the package's;
dlib holds whole numbers, so the writer rounds points and boxes (and says how many it rounded). dlib numbers the
parts and keeps no names: a set other than iBUG 68 reads back as points "00", "01", ... Image paths are relative
to the XML's folder, as dlib reads them.

A file that declares a DOCTYPE or an entity is refused where the declaration starts, before anything is
expanded: entities are how an XML file expands a few bytes into gigabytes ("billion laughs") or reads other
files; imglab files never have them.
"""

from __future__ import annotations

import contextlib
import os
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from .._fs import atomic_folder, atomic_output, refuse_existing
from .._progress import progress
from ..errors import DataError, FacekeypointsError
from ..keypoints import IBUG_68
from .annotated import AnnotatedFace, Annotations, encode_png, face_box, find_image, keypoint_set_for, number, \
    output_names
from .coco import images_folder


def _fail(message: str, path: Path, line: int | None = None):
    raise DataError(message, str(path), line)


@dataclass
class _Element:
    line: int
    attributes: dict[str, str]
    children: list[_Element] = field(default_factory=list)


def _parse(raw: bytes, path: Path) -> tuple[str, bool, list[_Element]]:
    """The file's root tag, whether it has <images>, and its <image> elements with their <box>es and those boxes'
    <part>s, each with its line, in one pass of expat. A DOCTYPE or an entity declaration stops the parse where it
    starts (nothing is expanded)."""
    parser = xml.parsers.expat.ParserCreate()
    stack: list[str] = []
    images: list[_Element] = []
    found = {"root": "", "images": False}

    def refuse(what):
        def handler(*_):
            raise DataError(f"declares {what}: refused (imglab files have none; entities can expand a small file "
                            "into gigabytes)", str(path), parser.CurrentLineNumber)
        return handler

    def start(tag, attributes):
        where = tuple(stack)
        element = _Element(parser.CurrentLineNumber, attributes)
        if not stack:
            found["root"] = tag
        elif where == ("dataset",) and tag == "images":
            found["images"] = True
        elif where == ("dataset", "images") and tag == "image":
            images.append(element)
        elif where == ("dataset", "images", "image") and tag == "box":
            images[-1].children.append(element)
        elif where == ("dataset", "images", "image", "box") and tag == "part":
            images[-1].children[-1].children.append(element)
        stack.append(tag)

    parser.StartDoctypeDeclHandler = refuse("a DOCTYPE")
    parser.EntityDeclHandler = refuse("an entity")
    parser.ExternalEntityRefHandler = refuse("an external entity")
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    try:
        parser.Parse(raw, True)
    except xml.parsers.expat.ExpatError as error:
        _fail(f"not valid XML: {xml.parsers.expat.errors.messages[error.code]} (column {error.offset + 1})", path,
              error.lineno)
    return found["root"], found["images"], images


def read_dlib(path: str | Path, flip_pairs=None) -> Annotations:
    """An imglab XML file: one face per box (boxes marked ignore left out), in the file's order."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        _fail(f"cannot read: {error.strerror}", path)
    root, has_images, images = _parse(raw, path)
    if root != "dataset":
        _fail(f"the root element is <{root}>, not <dataset>: not a dlib imglab file", path)
    if not has_images:
        _fail("no <images> in <dataset>: not a dlib imglab file", path)
    seen_files: dict[str, int] = {}
    raw_faces, spelled, ignored = [], {}, 0  # spelled: each part number as the file first writes it
    for i, image in enumerate(images, start=1):
        file = image.attributes.get("file")
        if not file:
            _fail(f"image {i}: no file attribute", path, image.line)
        if file in seen_files:
            _fail(f"image {i}: file {file!r} is also image {seen_files[file]}'s: give each image once, with all "
                  "its boxes", path, image.line)
        seen_files[file] = i
        found = None
        for j, box in enumerate(image.children, start=1):
            where = f"image {file!r}, box {j}"
            if box.attributes.get("ignore", "0").strip() == "1":
                ignored += 1
                continue
            try:
                top, left, width, height = (number(_attribute(box, "box", a, where, path), a)
                                            for a in ("top", "left", "width", "height"))
            except ValueError as error:
                _fail(f"{where}: {error}", path, box.line)
            if width < 0 or height < 0:
                _fail(f"{where}: negative width or height", path, box.line)
            parts = {}
            for part in box.children:
                name = _attribute(part, "part", "name", where + ", a part", path)
                if not (name.isascii() and name.isdigit()):
                    _fail(f"{where}: part name {name!r} is not a number (dlib numbers the parts: 00, 01, ...)", path,
                          part.line)
                if int(name) in parts:
                    _fail(f"{where}: part {name} appears twice", path, part.line)
                try:
                    parts[int(name)] = tuple(number(_attribute(part, "part", axis, f"{where}, part {name}", path),
                                                    f"part {name}'s {axis}") for axis in "xy")
                except ValueError as error:
                    _fail(f"{where}: {error}", path, part.line)
                spelled.setdefault(int(name), name)
            if found is None:
                found = find_image(file, (path.parent,))
                if found is None:
                    _fail(f"image {i}: image file {file!r} not found (looked in {path.parent})", path, image.line)
            raw_faces.append((found, (left, top, width, height), parts, where))
    if not spelled:
        _fail("no box has parts: a detector's dataset (boxes only), not keypoints", path)
    first = 0 if 0 in spelled else 1  # "00".."67" (dlib) or "1".."68"
    count = max(spelled) + 1 - first
    width = max(map(len, spelled.values()))  # a number no box has is named as its neighbours are
    names = [spelled.get(n, str(n).zfill(width)) for n in range(first, first + count)]
    try:
        keypoint_set = keypoint_set_for(names, f"{path.stem}-{count}", flip_pairs)
    except FacekeypointsError as error:
        raise DataError(str(error), str(path)) from None
    faces = []
    for image, box, parts, where in raw_faces:
        points = np.full((count, 2), np.nan)
        for n, xy in parts.items():
            points[n - first] = xy
        faces.append(AnnotatedFace(image, points, box, where))
    notes = [f"{ignored} boxes marked ignore='1' left out"] if ignored else []
    return Annotations(keypoint_set, faces, str(path), "dlib", tuple(notes))


def _attribute(element: _Element, tag: str, name: str, where: str, path: Path) -> str:
    value = element.attributes.get(name)
    if value is None:
        _fail(f"{where}: <{tag}> has no {name} attribute", path, element.line)
    return value


def write_dlib(annotations: Annotations, path: str | Path, force: bool = False) -> str:
    """Write imglab XML (atomically; never over an existing file without `force`). Returns a summary."""
    path = Path(path)
    refuse_existing(path, force)
    kset = annotations.keypoint_set
    width = max(2, len(str(len(kset) - 1)))
    names = [f"{i:0{width}d}" for i in range(len(kset))]
    pixel_faces = any(f.pixels is not None for f in annotations.faces)
    folder = images_folder(path)
    by_image: dict[Path, list[str]] = {}
    order: list[tuple[Path, str]] = []
    rounded = made = 0
    with atomic_output(path, force) as tmp, \
            (atomic_folder(folder, force) if pixel_faces else contextlib.nullcontext()) as staged:
        for face, stem in progress(list(zip(annotations.faces, output_names(annotations.faces))),
                                   desc="writing dlib XML", unit="face"):
            if face.image not in by_image:
                if face.pixels is not None:
                    (staged / f"{stem}.png").write_bytes(encode_png(face.pixels, face.entry))
                    file = f"{folder.name}/{stem}.png"
                else:
                    file = Path(os.path.relpath(face.image.resolve(), path.parent.resolve())).as_posix()
                by_image[face.image] = []
                order.append((face.image, file))
            made += face.box is None
            box = [round(v) for v in face_box(face)]
            lines = [f'    <box top="{box[1]}" left="{box[0]}" width="{box[2]}" height="{box[3]}">']
            for name, (x, y) in zip(names, face.points.tolist()):
                if not np.isnan(x):
                    rounded += (x != round(x)) + (y != round(y))
                    lines.append(f'      <part name="{name}" x="{round(x)}" y="{round(y)}"/>')
            by_image[face.image].append("\n".join(lines + ["    </box>"]))
        body = "".join(f"  <image file={quoteattr(file)}>\n" + "\n".join(by_image[image]) + "\n  </image>\n"
                       for image, file in order)
        comment = f"{kset.name} keypoints, written by facekeypoints from {annotations.source}"
        tmp.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<dataset>\n<name>facekeypoints</name>\n'
                       f"<comment>{_escape(comment)}</comment>\n<images>\n{body}</images>\n</dataset>\n",
                       encoding="utf-8")
    extra = [f"their pixels as PNG in {folder}"] if pixel_faces else []
    if rounded:
        extra.append(f"{rounded} coordinates rounded to whole pixels (dlib's XML holds whole numbers)")
    if made:
        extra.append(f"{made} boxes made from the points or the image (the input gave none)")
    if kset.names != IBUG_68.names:
        extra.append(f"the points are numbered {names[0]}..{names[-1]} (dlib keeps no names)")
    return (f"wrote {path}: dlib XML, {len(annotations)} faces in {len(order)} images"
            + "".join(f"; {e}" for e in extra))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
