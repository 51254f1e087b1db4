"""Ray Data on a real local cluster (two CPUs, two actor processes): the records of a run without Ray, file for
file; an unreadable file's error record; an actor killed (SIGKILL) mid-job, with nothing lost or doubled."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import cv2
import pytest

from facekeypoints import FaceKeypoints
from facekeypoints.cli import main
from facekeypoints.photos import face_rows

ray = pytest.importorskip("ray", reason="Ray is the [ray] extra (pip install '.[ray]'); `make test` installs it")
ray_data = pytest.importorskip("facekeypoints.ray_data")

ACTOR = "ray::MapWorker(MapBatches(KeypointsActor))"  # the process title Ray gives each actor


@pytest.fixture(scope="module")
def cluster():
    # Small on purpose: two CPUs (two actors of one CPU each), a small object store.
    ray.init(num_cpus=2, object_store_memory=200 * 1024**2, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def archive(tmp_path_factory, real_photos):
    """The shared photos, copies of them in a subfolder, smaller copies, and a file that is no image."""
    folder = tmp_path_factory.mktemp("archive")
    (folder / "copies").mkdir()
    for path in real_photos:
        shutil.copy(path, folder / path.name)
        shutil.copy(path, folder / "copies" / path.name)
        image = cv2.imread(str(path))
        cv2.imwrite(str(folder / "copies" / f"{path.stem}_half.jpg"), cv2.resize(image, None, fx=0.5, fy=0.5))
    (folder / "copies" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return folder


@pytest.fixture(scope="module")
def plain(archive):
    """The records of the same folder without Ray."""
    return [result.to_dict() for result in FaceKeypoints().detect_files(archive, workers=0)]


def test_the_cli_on_ray_writes_the_records_of_a_plain_run_file_for_file(cluster, archive, plain, tmp_path, capsys):
    without, on_ray = tmp_path / "plain.jsonl", tmp_path / "ray.jsonl"
    assert main(["predict", str(archive), "--json", str(without), "-q"]) == 1  # the broken file
    assert main(["predict", str(archive), "--ray", "local", "--workers", "2", "--json", str(on_ray), "-q"]) == 1
    assert "broken.jpg: not an image OpenCV can decode" in capsys.readouterr().err
    assert on_ray.read_bytes() == without.read_bytes()  # same records, same order, byte for byte
    records = [json.loads(line) for line in on_ray.read_text().splitlines()]
    assert records == plain and len(records) == 13
    assert [r["source"] for r in records if "error" in r] == [str(archive / "copies" / "broken.jpg")]
    assert all(len(r["faces"]) == 1 for r in records if "error" not in r)


def _actor_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(ACTOR.encode()):
                pids.append(int(entry.name))
        except OSError:  # a process that ended while we looked
            continue
    return pids


def test_a_killed_actor_is_retried_and_nothing_is_lost_or_doubled(cluster, archive, plain):
    killed = None
    records = []
    # One image a batch, so that each actor always has one in hand when the first records come back.
    for result in ray_data.predict_files([archive], concurrency=2, batch_size=1):
        records.append(result.to_dict())
        if killed is None:
            actors = _actor_pids()
            assert len(actors) == 2, actors  # two worker processes, one per CPU
            killed = actors[0]
            os.kill(killed, signal.SIGKILL)
    assert killed is not None and killed not in _actor_pids()
    assert records == plain  # all 13, in order, each once


class _DiesOnce(ray_data.KeypointsActor):
    """An actor whose process SIGKILLs itself the first time it is handed `victim`, in the middle of its batch."""

    def __init__(self, victim: str, marker: str, **options):
        super().__init__(**options)
        self.victim, self.marker = victim, marker

    def __call__(self, batch):
        if any(str(path) == self.victim for path in batch["path"]) and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(batch)


def test_a_batch_whose_actor_dies_in_it_is_run_again_once(cluster, archive, plain, tmp_path):
    ray.cloudpickle.register_pickle_by_value(__import__(__name__))  # the workers cannot import this test module
    paths = [record["source"] for record in plain]
    marker = tmp_path / "killed"
    dataset = ray.data.from_items([{"path": path} for path in paths], override_num_blocks=len(paths) // 2)
    done = dataset.map_batches(_DiesOnce, fn_constructor_kwargs={"victim": paths[5], "marker": str(marker)},
                               batch_size=2, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=2))
    records = [json.loads(row["record"]) for row in done.take_all()]
    assert marker.exists()  # it did die, holding paths[5]
    assert sorted(records, key=lambda r: r["source"]) == sorted(plain, key=lambda r: r["source"])


def test_datasets_of_file_bytes_of_paths_and_of_decoded_images(cluster, archive, plain):
    by_source = {record["source"]: record for record in plain}
    files = ray.data.read_binary_files(str(archive), include_paths=True)
    # One actor: the read tasks need the other CPU.
    records = [json.loads(row["record"]) for row in
               ray_data.predict_dataset(files, concurrency=1, batch_size=4).take_all()]
    assert len(records) == len(plain)
    for record in records:
        source = "/" + record["source"].lstrip("/")  # Ray's local paths may come without the leading slash
        assert {**record, "source": source} == by_source[source]

    rows = ray_data.predict_dataset(files, concurrency=1, rows="faces").take_all()
    assert sorted(rows, key=lambda r: r["source"].lstrip("/")) == sorted(
        (row for record in plain for row in face_rows(record)), key=lambda r: r["source"].lstrip("/"))

    # Decoded by Ray (PIL, RGB): the same faces, as a decoder may differ by a level here and there.
    good = sorted(str(p) for p in (archive / "copies").iterdir() if p.name != "broken.jpg")  # Ray's reader would fail
    images = ray.data.read_images(good, include_paths=True)
    decoded = {}
    for row in ray_data.predict_dataset(images, concurrency=1, batch_size=2).take_all():
        decoded[os.path.basename(row["source"])] = json.loads(row["record"])
    for name, record in decoded.items():
        plain_one = by_source[str(archive / "copies" / name)]
        assert len(record["faces"]) == len(plain_one["faces"]) == 1
        assert all(abs(a - b) <= 2 for a, b in zip(record["faces"][0]["box"], plain_one["faces"][0]["box"]))
