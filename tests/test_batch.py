"""The batch API (`FaceKeypoints.detect_batch`): images in memory answered in one call, the detector and the model
each run once over the batch, with the records `predict --json` writes for the same files."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from facekeypoints import FaceKeypoints
from facekeypoints.photos import BlazeFaceDetector, blazeface, decode_image, read_colour


@pytest.fixture(scope="module")
def fk():
    return FaceKeypoints()


@pytest.fixture(scope="module")
def plain(fk, real_photos):
    return [result.to_dict() for result in fk.detect_files(real_photos, workers=0)]


def test_bytes_paths_arrays_and_pil_images_give_the_records_of_files(fk, real_photos, plain):
    sources = [str(path) for path in real_photos]
    assert [r.to_dict() for r in fk.detect_batch([p.read_bytes() for p in real_photos], sources=sources)] == plain
    assert [r.to_dict() for r in fk.detect_batch([str(p) for p in real_photos])] == plain
    arrays = [decode_image(p) for p in real_photos]  # BGR, as OpenCV decodes files
    assert [r.to_dict() for r in fk.detect_batch(arrays, "bgr", sources)] == plain
    rgb = [Image.fromarray(cv2.cvtColor(a, cv2.COLOR_BGR2RGB)) for a in arrays]
    assert [r.to_dict() for r in fk.detect_batch(rgb, sources=sources)] == plain
    assert all(len(record["faces"]) == 1 for record in plain)


def test_bad_items_get_error_records_and_the_others_their_faces(fk, real_photos, plain):
    png = io.BytesIO()
    Image.open(real_photos[0]).save(png, "PNG")
    items = [b"\xff\xd8 not a jpeg", png.getvalue(), np.zeros(3), 42, np.full((40, 40), np.nan)]
    results = fk.detect_batch(items)
    assert [r.error is None for r in results] == [False, True, False, False, False]
    assert results[0].error == "<image 0>: not an image OpenCV can decode"
    assert results[1].to_dict() == {**plain[0], "source": "<image 1>"}
    assert "expected an image (H, W) or (H, W, C)" in results[2].error
    assert results[3].error == ("<image 3>: expected a file path, an encoded image file's bytes, a numpy array or a "
                                "PIL image, got int")
    assert "<image 4>: expected float grey levels" in results[4].error
    assert results[0].to_dict() == {"source": "<image 0>", "frame": None, "error": results[0].error}
    with pytest.raises(ValueError, match="one source per image"):
        fk.detect_batch(items, sources=["a"])


def test_detect_files_says_which_types_it_takes(fk):
    with pytest.raises(TypeError, match=r"expected paths .* got ndarray; images in memory .*detect_batch"):
        list(fk.detect_files([np.zeros((64, 64, 3), np.uint8)]))


def test_the_detector_and_the_model_run_once_over_the_batch(real_photos, monkeypatch):
    """Images of one size share every network run: each run of a batch holding four copies of two images has at
    least four inputs. And the model is called once for all the batch's faces."""
    monkeypatch.setattr(blazeface, "RUN_VALUES", 1 << 24)  # stacks of any of these inputs (the default: small ones)
    detector = BlazeFaceDetector()
    image = read_colour(real_photos[1])  # 1000x665: turned, another shape
    turned = np.ascontiguousarray(np.rot90(image))  # looks turned: the turned views are run too
    runs = []
    for session in detector.sessions.values():
        real = session.run
        monkeypatch.setattr(session, "run", lambda out, feed, real=real: runs.append(len(feed["input"])) or
                            real(out, feed), raising=False)
    alone = [detector(image), detector(turned)]
    single = list(runs)
    runs.clear()
    batch = detector.detect_batch([image, turned] * 4)
    assert sum(runs) == 4 * sum(single) and min(runs) >= 4 and len(runs) <= len(single)
    for found, expected in zip(batch, alone * 4):
        assert [(d.box, d.score) for d in found] == [(d.box, d.score) for d in expected]
        assert all(np.array_equal(a.points, b.points) for a, b in zip(found, expected))

    fk = FaceKeypoints(detector=detector)
    calls = []
    real_predict = fk.model.predict_with_spread
    monkeypatch.setattr(fk.model, "predict_with_spread", lambda crops: calls.append(len(crops)) or
                        real_predict(crops), raising=False)
    results = fk.detect_batch([p.read_bytes() for p in real_photos])
    assert calls == [len(real_photos)] and all(len(r.faces) == 1 for r in results)
