"""Training faces from any annotation file: `load_faces(path)` -> `KeypointData` of 96x96 grey crops.

Kaggle's CSV and other 96x96 images are crops already and are taken as they are. Faces in photos of any
other size are cut the way the photo pipeline cuts them at inference: the detector runs on the photo in colour,
the detection that holds the annotated face gives the crop (`Crop.from_detection`: upright, framed as the
detector frames), and the points are mapped into it. So a model trained on them sees at inference the
framing it learned. A face the detector does not find is left out, and counted (`FaceCrops.not_found`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .._progress import progress
from ..errors import DataError
from ..keypoints import IMAGE_SIZE, KeypointSet
from .annotations import Annotations, read_annotations
from .kaggle import KeypointData, load_training
from .sources import NotFound, resolve


@dataclass
class FaceCrops:
    """What `crops_of` made of annotations: the faces (`KeypointData`) and those it could not use."""

    data: KeypointData
    not_found: list[str]  # entries of faces in photos that the detector did not find


def is_kaggle(path: str | Path) -> bool:
    """Whether `path` is Kaggle's training data (its CSV, a zip or a folder holding it)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return True
    if not (path.is_dir() or path.suffix.lower() == ".zip") or any(path.rglob("*.pts")):
        return False
    try:
        resolve(path, "training")
    except NotFound:
        return False
    except DataError:
        return path.suffix.lower() == ".zip"
    return True


def load_faces(path: str | Path, flip_pairs=None, detector=None, show_progress: bool = False) -> KeypointData:
    """The training faces at `path`, of any annotation format (`data.annotations`), as 96x96 crops with their
    keypoint set. flip_pairs: as `annotations.keypoint_set_for` takes them. detector: for faces in photos
    (default: the photo pipeline's). Faces the detector misses are left out; if none is left, a DataError."""
    if is_kaggle(path) and flip_pairs is None:
        return load_training(path)
    crops = crops_of(read_annotations(path, flip_pairs), detector, show_progress)
    if not len(crops.data):
        raise DataError(f"the detector found none of its {len(crops.not_found)} faces", str(path))
    return crops.data


def crops_of(annotations: Annotations, detector=None, show_progress: bool = False) -> FaceCrops:
    """Each annotated face as a 96x96 grey crop with its points in crop pixels, in the annotations' order."""
    from ..photos import read_colour

    images, points, lines, not_found = [], [], [], []
    by_image: dict[Path, list[int]] = {}
    for i, face in enumerate(annotations.faces):
        by_image.setdefault(face.image, []).append(i)
    cut: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for image_path, members in progress(list(by_image.items()), desc="cutting faces", unit="image",
                                        disable=not show_progress):
        faces = [annotations.faces[i] for i in members]
        # read as inference reads a file (read_colour), so that the detector sees the same colour pixels
        colour = None if faces[0].pixels is not None else read_colour(image_path)
        grey = faces[0].pixels if colour is None else cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
        if grey.shape == (IMAGE_SIZE, IMAGE_SIZE):  # a crop already, as Kaggle's
            for i, face in zip(members, faces):
                cut[i] = grey, face.points
            continue
        if detector is None:
            from ..photos import create_detector

            detector = create_detector()
        if colour is None:  # pixels a file holds (Kaggle's CSV) are grey: the detector gets them as BGR
            colour = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
        for i, found in zip(members, _detector_crops(colour, grey, faces, detector)):
            if found is None:
                not_found.append(annotations.faces[i].entry)
            else:
                cut[i] = found
    for i in sorted(cut):
        images.append(cut[i][0])
        points.append(cut[i][1])
        face_id = annotations.faces[i].id  # its number in the file (a Kaggle line, a COCO id), for messages
        lines.append(face_id if face_id is not None else i + 1)
    k = len(annotations.keypoint_set)
    keypoints = np.array(points, np.float32).reshape(-1, k, 2)
    data = KeypointData(np.array(images, np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE), keypoints,
                        np.isfinite(keypoints).all(axis=2), np.array(lines, np.int64), annotations.source,
                        annotations.keypoint_set)
    return FaceCrops(data, not_found)


def _detector_crops(colour: np.ndarray, grey: np.ndarray, faces, detector
                    ) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """For each face of one photo, (crop, points in it) from the detection that holds it, or None: the detector
    runs on the colour photo, as at inference (on grey it frames faces a few pixels apart), the crop is cut grey."""
    from ..photos import Crop, detect

    detections = detect(detector, colour)
    taken: set[int] = set()
    out = []
    for face in faces:
        labelled = face.points[np.isfinite(face.points).all(axis=1)]
        best = _holding(labelled, [d.box for d in detections], taken)
        if best is None:
            out.append(None)
            continue
        taken.add(best)
        crop = Crop.from_detection(detections[best])
        out.append((crop.cut(grey), crop.to_crop(face.points)))
    return out


def _holding(points: np.ndarray, boxes, taken: set[int]) -> int | None:
    """The box (x, y, w, h) that holds a face's points: most of them inside it grown by a quarter, its centre the
    nearest to theirs (relative to its size); None if no box holds three quarters of them."""
    if len(points) == 0:
        return None
    centre = points.mean(axis=0)
    best, best_distance = None, np.inf
    for j, (x, y, w, h) in enumerate(boxes):
        if j in taken:
            continue
        grow = 0.25 * max(w, h)
        inside = ((points[:, 0] >= x - grow) & (points[:, 0] <= x + w + grow)
                  & (points[:, 1] >= y - grow) & (points[:, 1] <= y + h + grow)).mean()
        distance = np.hypot(*(centre - (x + w / 2, y + h / 2))) / max(w, h)
        if inside >= 0.75 and distance < 0.5 and distance < best_distance:
            best, best_distance = j, distance
    return best


def mean_shape(data: KeypointData) -> tuple[tuple[float, float], ...]:
    """Each keypoint's mean position over the faces that label it (crop pixels); a point nobody labels gets the
    crop's centre."""
    sums = np.where(data.mask[..., None], data.keypoints, 0).sum(axis=0, dtype=np.float64)
    counts = data.mask.sum(axis=0)[:, None]
    shape = np.where(counts > 0, sums / np.maximum(counts, 1), (IMAGE_SIZE - 1) / 2)
    return tuple((round(float(x), 2), round(float(y), 2)) for x, y in shape)


def with_mean_shape(keypoint_set: KeypointSet, data: KeypointData) -> KeypointSet:
    """The set with a mean shape from `data` where it has none (Kaggle's has its own)."""
    return keypoint_set if keypoint_set.mean_shape is not None else keypoint_set.with_mean_shape(mean_shape(data))
