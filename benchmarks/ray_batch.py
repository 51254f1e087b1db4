"""The Ray path against plain `detect_files` on the same 500 photos, in one run, and where the time goes:

    python benchmarks/ray_batch.py [--photos ../shared/data/photos] [--count 500] [--batch-size 32]

1. 500 photos made from the shared ones in a temporary folder: each photo at full size and shrunk to 3/4, 1/2
   and 1/3, re-saved as JPEG at qualities 80-95 (so that no two files are the same), cycled to --count.
2. Plain: `FaceKeypoints().detect_files(folder)` with its defaults (on 2 CPUs: one process, OpenCV's and the
   model's threads, BlazeFace on one), and with `workers=` one process per CPU (the parallelism Ray gets); images/s.
3. Ray: a local cluster of all CPUs (`ray.init`, timed apart), then `ray_data.predict_files(folder)`: one actor per
   CPU, each with one thread, batches of --batch-size photos read and decoded by the actors; images/s and the
   ratio to plain, also less each job's fixed cost (the actors' start-up: the model and detector loaded once per
   actor; timed as a job of one photo), whether the records are identical, and each actor's peak resident
   memory (sampled). Also the CPU time a photo took, all processes counted (for Ray: the driver and every process
   of the cluster it started, sampled from /proc): on a shared machine the wall-clock ratio also reflects how many
   busy processes each side had against the others' work; CPU time does not.
4. Where the CPU time goes, in this process, one thread, over the same photos in batches: reading and decoding the
   files, the detector (BlazeFace, batched over each batch's images, and image by image), cutting the crops, the
   keypoint model (once per batch over its faces).
5. BlazeFace's stacks: 32 copies of one photo (512x512) image by image, then batched with stacks of at most 2^16 to
   2^22 floats a network run (`blazeface.RUN_VALUES`), ms a photo.

The machine is shared: run it twice.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import cv2

from facekeypoints import FaceKeypoints
from facekeypoints.inference import load_model
from facekeypoints.photos import BlazeFaceDetector, blazeface, cut_faces, detect, detect_images, expand_inputs
from facekeypoints.photos.batch import decoded
from facekeypoints.photos.crops import Crop
from facekeypoints.photos.results import FileResult, answer

PHOTOS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "photos"
SCALES = (1.0, 0.75, 0.5, 1 / 3)


def make_photos(source: Path, folder: Path, count: int) -> list[Path]:
    originals = [cv2.imread(str(p)) for p in sorted(source.glob("*")) if p.suffix.lower() in (".jpg", ".png")]
    variants = [(image, scale) for image in originals for scale in SCALES]
    paths = []
    for i in range(count):
        image, scale = variants[i % len(variants)]
        if scale != 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        path = folder / f"{i // len(variants):03d}" / f"photo{i:04d}.jpg"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 80 + i % 16])
        paths.append(path)
    return paths


def cpu_name() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines()
        name = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name"))
    except (OSError, StopIteration):
        name = platform.processor() or "unknown CPU"
    return f"{name}, {os.cpu_count()} CPUs"


def actor_memory() -> dict[int, float]:
    """Resident memory (MB) of each Ray Data actor process on this machine, by process id."""
    sizes = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::MapWorker("):
                rss = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("VmRSS"))
                sizes[int(entry.name)] = int(rss.split()[1]) / 1024
        except (OSError, StopIteration):
            continue
    return sizes


def descendants_cpu() -> dict[int, float]:
    """CPU seconds (user + system) so far of each process below this one (Ray's cluster processes, its workers)."""
    parents, cpu = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
                cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    mine, found = {os.getpid()}, {}
    for _ in range(8):  # down the tree, a level a pass
        for pid, parent in parents.items():
            if parent in mine and pid not in found:
                found[pid] = cpu[pid]
        mine |= set(found)
    return found


def own_cpu() -> float:
    """CPU seconds of this process and of its children that have been waited for (a pool's workers)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def plain_run(folder: Path, workers: int | None) -> tuple[list[dict], float, float]:
    fk = FaceKeypoints()
    started, cpu = time.perf_counter(), own_cpu()
    records = [result.to_dict() for result in fk.detect_files(folder, workers=workers)]
    return records, time.perf_counter() - started, own_cpu() - cpu


def ray_run(folder: Path, batch_size: int) -> dict:
    import ray

    from facekeypoints import ray_data

    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR")
    cluster = time.perf_counter() - started
    try:
        # A job of one photo: what each job costs whatever its size (the actors' start-up: the model and the
        # detector loaded once per actor, the scheduling)
        before = descendants_cpu()
        started, cpu = time.perf_counter(), own_cpu()
        list(ray_data.predict_files([next(folder.rglob("*.jpg"))], batch_size=batch_size))
        fixed = time.perf_counter() - started
        fixed_cpu = own_cpu() - cpu + sum(s - before.get(pid, 0) for pid, s in descendants_cpu().items())
        before = descendants_cpu()
        started, cpu = time.perf_counter(), own_cpu()
        records, memory, seen = [], {}, dict(before)
        for result in ray_data.predict_files([folder], batch_size=batch_size):
            records.append(result.to_dict())
            if len(records) % 5 == 1:  # an actor that ends takes its CPU time since the last look with it
                for pid, mb in actor_memory().items():
                    memory[pid] = max(mb, memory.get(pid, 0))
                seen.update(descendants_cpu())
        job = time.perf_counter() - started
        seen.update(descendants_cpu())  # processes that ended since the last look are counted to that look
        job_cpu = own_cpu() - cpu + sum(seconds - before.get(pid, 0) for pid, seconds in seen.items())
    finally:
        ray.shutdown()
    return {"records": records, "cluster": cluster, "fixed": fixed, "job": job, "cpu": job_cpu, "fixed_cpu": fixed_cpu,
            "memory": sorted(memory.values())}


def stages(paths: list[Path], batch_size: int) -> dict[str, float]:
    """CPU seconds per stage over all the photos, one thread, in batches of `batch_size` (CPU time: the machine
    is shared, and wall time would count the others' work)."""
    cv2.setNumThreads(1)
    detector, model = BlazeFaceDetector(threads=1), load_model(threads=1)
    took = dict.fromkeys(("read + decode", "detector, batched", "detector, image by image", "crops", "keypoints"), 0.0)
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        t0 = time.process_time()
        images = [decoded(path.read_bytes(), name=path) for path in chunk]
        t1 = time.process_time()
        found = detect_images(detector, images)
        t2 = time.process_time()
        for image in images:
            detect(detector, image)
        t3 = time.process_time()
        cut = [cut_faces(image, d, [Crop.from_detection(one) for one in d]) for image, d in zip(images, found)]
        t4 = time.process_time()
        answer([(FileResult(path, None), one) for path, one in zip(chunk, cut)], model)
        t5 = time.process_time()
        for key, seconds in zip(took, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            took[key] += seconds
    return took


def stacks(photo: Path) -> list[tuple[str, float]]:
    """CPU ms a photo for 32 copies of `photo`, image by image and with each stack size."""
    detector, images = BlazeFaceDetector(threads=1), [decoded(photo)] * 32
    detector.detect_batch(images[:2])  # warm up
    took = []
    started = time.process_time()
    for image in images:
        detector(image)
    took.append(("image by image", 1000 * (time.process_time() - started) / len(images)))
    default = blazeface.RUN_VALUES
    try:
        for power in (16, 18, 20, 22):
            blazeface.RUN_VALUES = 1 << power
            started = time.process_time()
            detector.detect_batch(images)
            took.append((f"stacks of 2^{power} floats", 1000 * (time.process_time() - started) / len(images)))
    finally:
        blazeface.RUN_VALUES = default
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_photos(args.photos, folder, args.count)
        paths = expand_inputs(folder)
        print(f"{len(paths)} photos ({len(SCALES)} sizes of each of the shared photos) on {cpu_name()}")
        plain, plain_seconds, plain_cpu = plain_run(folder, None)
        pooled, pooled_seconds, pooled_cpu = plain_run(folder, os.cpu_count())
        on_ray = ray_run(folder, args.batch_size)
        plain_rate, pooled_rate = len(plain) / plain_seconds, len(pooled) / pooled_seconds
        job_rate = len(on_ray["records"]) / on_ray["job"]
        steady_rate = len(on_ray["records"]) / (on_ray["job"] - on_ray["fixed"])
        print(f"plain detect_files:     {plain_seconds:6.1f} s  {plain_rate:6.1f} images/s  (its defaults)")
        print(f"plain, {os.cpu_count()} workers:       {pooled_seconds:6.1f} s  {pooled_rate:6.1f} images/s  "
              f"(ratio to plain {pooled_rate / plain_rate:.2f})")
        print(f"Ray cluster start:      {on_ray['cluster']:6.1f} s  (ray.init, once per cluster)")
        print(f"Ray job of one photo:   {on_ray['fixed']:6.1f} s  (each job's fixed cost: actors' start-up)")
        print(f"Ray predict_files:      {on_ray['job']:6.1f} s  {job_rate:6.1f} images/s  "
              f"(ratio to plain {job_rate / plain_rate:.2f}, to {os.cpu_count()} workers {job_rate / pooled_rate:.2f})")
        print(f"Ray less the fixed cost:{on_ray['job'] - on_ray['fixed']:6.1f} s  {steady_rate:6.1f} images/s  "
              f"(ratio to plain {steady_rate / plain_rate:.2f}, to {os.cpu_count()} workers "
              f"{steady_rate / pooled_rate:.2f})")
        print(f"CPU time a photo: plain {1000 * plain_cpu / len(plain):.0f} ms, {os.cpu_count()} workers "
              f"{1000 * pooled_cpu / len(plain):.0f} ms, Ray {1000 * on_ray['cpu'] / len(plain):.0f} ms (all of the "
              f"cluster's processes; ratio to plain {on_ray['cpu'] / plain_cpu:.2f}); Ray's job of one photo "
              f"{on_ray['fixed_cpu']:.1f} s")
        faces = sum(len(r.get("faces", [])) for r in plain)
        print(f"records identical: {on_ray['records'] == plain == pooled}; faces {faces}")
        print("actors' resident memory: " + ", ".join(f"{mb:.0f} MB" for mb in on_ray["memory"]))
        took = stages(paths, args.batch_size)
        total = sum(v for k, v in took.items() if k != "detector, image by image")
        print(f"where the CPU time goes (one thread, batches of {args.batch_size}, {len(paths)} photos):")
        for key, seconds in took.items():
            share = "" if key == "detector, image by image" else f"  {100 * seconds / total:4.1f} %"
            print(f"  {key:26s} {1000 * seconds / len(paths):6.2f} ms/photo{share}")
        default = blazeface.RUN_VALUES.bit_length() - 1
        print(f"BlazeFace, 32 copies of a 512x512 photo, one thread (default stacks: 2^{default}):")
        for label, ms in stacks(next(p for p in sorted(args.photos.glob("*.png")))):
            print(f"  {label:26s} {ms:6.1f} ms/photo")


if __name__ == "__main__":
    main()
