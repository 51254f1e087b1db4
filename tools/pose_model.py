"""Rebuild the 3D face model of the 15 keypoints (`MODEL` in src/facekeypoints/photos/pose.py) and print it.

    python tools/pose_model.py [--wheel PATH] [--npm-package PATH] [--data DIR]

The model is MediaPipe's canonical face model (The MediaPipe Authors, Apache-2.0): 468 vertices of a mean face in
centimetres, x to the subject's left, y up, z out of the face (canonical_face_model.obj, in the MediaPipe
repository's mediapipe/modules/face_geometry/data). Neither the package nor this tool needs MediaPipe:
1. Which vertices are which feature comes from the mediapipe 0.10.21 wheel (--wheel, else `pip download`ed; sha256
   checked): the contours of mediapipe/python/solutions/face_mesh_connections.py, read as text, not imported.
2. The vertices: the wheel does not ship the canonical model, so they are read from the exact copy in the npm
   package mind-ar 1.2.5 (--npm-package, else `npm pack`ed; sha256 of the package and of the file checked), whose
   src/face-target/face-geometry/canonical-face-model.obj names its MediaPipe source.
3. Each of Kaggle's points is a mean of contour vertices, picked by position so that no index is typed by hand:
   an eye centre is the mean of its eye's contour; the eye corners are that contour's vertices nearest to and
   farthest from the midline (x = 0); an eyebrow end is the mean of the two ends of its contour's two strands on
   that side; the nose tip is the nose contour's most forward vertex; the mouth corners are the lips' vertices
   farthest from the midline; the lips' centres are the lips' highest and lowest midline vertices (the outer edge).
4. The front view (x, y) is Kaggle's mean face instead (the training faces with all 15 points; --data, default
   ../shared/data/facial-keypoints-detection), made symmetric (averaged with its mirror image) and put in
   centimetres by the least-squares similarity onto MediaPipe's points: Kaggle's labellers put the eyebrow ends
   and the nose tip lower than MediaPipe's vertices, so MediaPipe's own front view calls Kaggle's mean face, a
   portrait facing the camera, pitched down by 8 degrees. Printed: the residual of each point of MediaPipe's front
   view against Kaggle's mean face, in % of the inter-ocular distance, and the table for pose.py.
Not imported by the package.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from facekeypoints.data import load_training  # noqa: E402
from facekeypoints.keypoints import FLIP_PERMUTATION, KEYPOINT_NAMES  # noqa: E402
from facekeypoints.photos import fit_similarity  # noqa: E402
from mediapipe_wheel import WHEEL, fetched, sha256, wheel  # noqa: E402

CONNECTIONS = "mediapipe/python/solutions/face_mesh_connections.py"
NPM = "mind-ar-1.2.5.tgz"
NPM_SHA256 = "e14a0f6e1bdd85beb757d72354999a967efcaaac2fc9a036ce1852ea2d6c5193"
OBJ = "package/src/face-target/face-geometry/canonical-face-model.obj"
OBJ_SHA256 = "8bac80443397e113f41a8b565ea72c59390bc031d9defab289dba7bc0c54e618"
VERTICES = 468


def fail(message: str) -> None:
    raise SystemExit(f"pose_model: error: {message}")


def contours(wheel: bytes) -> dict[str, list[tuple[int, int]]]:
    """The FACEMESH_* edge sets of face_mesh_connections.py (literal frozensets; read, not run)."""
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        tree = ast.parse(archive.read(CONNECTIONS))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and node.value.args:
            name = node.targets[0].id
            if name.startswith("FACEMESH_") and isinstance(node.value.args[0], ast.List):
                found[name] = sorted(ast.literal_eval(node.value.args[0]))
    return found


def vertices(package: bytes) -> np.ndarray:
    """The canonical model's (468, 3) vertex positions."""
    with tarfile.open(fileobj=io.BytesIO(package)) as archive:
        text = archive.extractfile(OBJ).read()
    if sha256(text) != OBJ_SHA256:
        fail(f"{OBJ}: sha256 {sha256(text)}, expected {OBJ_SHA256}")
    rows = [line.split()[1:] for line in text.decode().splitlines() if line.startswith("v ")]
    if len(rows) != VERTICES:
        fail(f"{OBJ}: {len(rows)} vertices, expected {VERTICES}")
    return np.array(rows, np.float64)


def strand_ends(edges: list[tuple[int, int]]) -> list[int]:
    """The vertices at the ends of the open strands an edge set is made of (those in one edge only)."""
    ends = [v for pair in edges for v in pair]
    return sorted({v for v in ends if ends.count(v) == 1})


def keypoint_model(edges: dict[str, list[tuple[int, int]]], points: np.ndarray) -> dict[str, list[int]]:
    """Kaggle keypoint name -> the canonical-model vertices whose mean it is (see the module's docstring)."""
    def members(name: str) -> list[int]:
        return sorted({v for pair in edges[name] for v in pair})

    def by(indices: list[int], key) -> list[int]:
        return sorted(indices, key=lambda i: key(points[i]))

    chosen = {}
    for side in ("left", "right"):  # MediaPipe's left and right are the subject's, as Kaggle's
        eye, brow = members(f"FACEMESH_{side.upper()}_EYE"), strand_ends(edges[f"FACEMESH_{side.upper()}_EYEBROW"])
        chosen[f"{side}_eye_center"] = eye
        chosen[f"{side}_eye_inner_corner"] = by(eye, lambda p: abs(p[0]))[:1]
        chosen[f"{side}_eye_outer_corner"] = by(eye, lambda p: -abs(p[0]))[:1]
        chosen[f"{side}_eyebrow_inner_end"] = by(brow, lambda p: abs(p[0]))[:2]
        chosen[f"{side}_eyebrow_outer_end"] = by(brow, lambda p: -abs(p[0]))[:2]
    chosen["nose_tip"] = by(members("FACEMESH_NOSE"), lambda p: -p[2])[:1]
    lips = members("FACEMESH_LIPS")
    chosen["mouth_left_corner"] = by(lips, lambda p: -p[0])[:1]
    chosen["mouth_right_corner"] = by(lips, lambda p: p[0])[:1]
    midline = [i for i in lips if points[i, 0] == 0]
    chosen["mouth_center_top_lip"] = by(midline, lambda p: -p[1])[:1]
    chosen["mouth_center_bottom_lip"] = by(midline, lambda p: p[1])[:1]
    return {name: chosen[name] for name in KEYPOINT_NAMES}


def kaggle_mean_face(data: Path) -> np.ndarray:
    """Kaggle's mean face (15, 2) over the training faces with all 15 points, averaged with its mirror image."""
    faces = load_training(data)
    full = faces.mask.all(axis=1)
    print(f"# Kaggle's mean face: the {int(full.sum())} training faces with all 15 points")
    mean = faces.keypoints[full].mean(axis=0)
    mirror = mean[list(FLIP_PERMUTATION)] * (-1, 1)  # x mirrored about 0, then moved back onto the face
    mirror += mean.mean(axis=0) - mirror.mean(axis=0)
    return (mean + mirror) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"{WHEEL} (default: pip download it)")
    parser.add_argument("--npm-package", type=Path, help=f"{NPM} (default: npm pack it)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "facial-keypoints-detection")
    args = parser.parse_args()
    package = fetched(args.npm_package, NPM, NPM_SHA256, ["npm", "pack", "--silent", "mind-ar@1.2.5"], "pose_model")
    points = vertices(package)
    chosen = keypoint_model(contours(wheel(args.wheel, "pose_model")), points)
    mediapipe = np.array([points[chosen[name]].mean(axis=0) for name in KEYPOINT_NAMES])
    mean = kaggle_mean_face(args.data)  # pixels, y down
    front = mediapipe[:, :2] * (1, -1)  # MediaPipe's front view, y down as in images
    fit = fit_similarity(front, mean)
    residual = np.linalg.norm(front @ fit[:, :2].T + fit[:, 2] - mean, axis=1) / np.linalg.norm(mean[0] - mean[1])
    print("# MediaPipe's front view against Kaggle's mean face, in % of the inter-ocular distance:")
    for name, r in zip(KEYPOINT_NAMES, residual):
        print(f"#   {name:25s} {100 * r:4.1f}")
    print(f"#   mean {100 * residual.mean():.1f}, largest {100 * residual.max():.1f}")
    back = fit_similarity(mean, front)  # Kaggle's mean face in MediaPipe's centimetres
    xy = (mean @ back[:, :2].T + back[:, 2]) * (1, -1)
    model = np.column_stack([xy, mediapipe[:, 2]]) + 0.0  # + 0.0: no "-0.000"

    print("MODEL = np.array([  # x to the subject's left, y up, z out of the face; centimetres")
    for name, row in zip(KEYPOINT_NAMES, model):
        vertex = f"vertex {chosen[name][0]}" if len(chosen[name]) == 1 else \
            f"mean of {len(chosen[name])} vertices" + (f" {chosen[name]}" if len(chosen[name]) < 3 else "")
        print(f"    [{row[0]:.3f}, {row[1]:.3f}, {row[2]:.3f}],  # {name}: z of {vertex}")
    print("])")


if __name__ == "__main__":
    main()
