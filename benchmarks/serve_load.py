"""`facekeypoints serve` under load: N concurrent clients posting 640x480 photos to POST /v1/faces for a fixed
time, against the real server on loopback; then the same with a share of bad uploads mixed in.

    python benchmarks/serve_load.py [--seconds 20] [--clients 1 4 16 64] [--bad 0.25] [--model keypointnet]

For each N: requests/s, p50 and p99 latency, errors (good requests that did not get a 200: must be 0), the
server's CPU time per request (its overhead over the work itself, which other load on a shared machine does not
hide) and its resident memory at the start and the end of that run (it must stay flat). The ceiling is
`FaceKeypoints.detect_encoded` (what the server does per request, without HTTP) on the same JPEG bytes in this
process, one per CPU at once as the server runs them, measured before the server starts and again after it has
stopped; one at a time is shown too (what `predict` does in one process). The mixed run sends, among good
photos, bad uploads of every kind (not an image, a truncated JPEG, too many pixels, too many bytes, an unknown option): each must get its
4xx, and no good request may fail. The photos: ../shared/data/photos (else the shipped sample portrait), each
scaled into a 640x480 frame, JPEG. Clients are threads of this process, one keep-alive connection each.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"
MAX_BYTES = 2_000_000  # the server's --max-bytes here: the "too many bytes" upload is just past it


def photos() -> list[bytes]:
    """The shared photos (or the sample portrait), each letterboxed into 640x480 and JPEG-encoded."""
    from facekeypoints.shipped import sample_image

    paths = sorted(p for p in PHOTOS.glob("*") if p.suffix.lower() in (".jpg", ".png")) or [sample_image()]
    encoded = []
    for path in paths:
        image = cv2.imread(str(path))
        scale = min(640 / image.shape[1], 480 / image.shape[0])
        small = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
        frame = np.full((480, 640, 3), 90, np.uint8)
        y, x = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
        frame[y:y + small.shape[0], x:x + small.shape[1]] = small
        encoded.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return encoded


def bad_uploads(good: bytes) -> list[tuple[str, str, bytes, int]]:
    """(kind, path, body, the status it must get)."""
    huge = io.BytesIO()
    Image.new("L", (10000, 6000)).save(huge, "PNG")  # 60 MP declared in a few kB
    return [("not an image", "/v1/faces", b"GIF89a but not really" * 20, 415),
            ("truncated JPEG", "/v1/faces", good[:len(good) // 3], 415),
            ("too many pixels", "/v1/faces", huge.getvalue(), 413),
            ("too many bytes", "/v1/faces", b"\xff" * (MAX_BYTES + 1), 413),
            ("unknown option", "/v1/faces?colour=red", good, 400)]


def ceiling(fk, images: list[bytes], seconds: float, threads: int) -> tuple[float, float]:
    """Images per second of the server's own work (`detect_encoded`) here, in `threads` threads sharing one
    `FaceKeypoints`, as the server's requests do (it runs one per CPU at once); and the CPU time per image, ms
    (all threads: what a shared machine's other load does not change much)."""
    counts = [0] * threads
    started, cpu = time.perf_counter(), time.process_time()

    def loop(index: int) -> None:
        while time.perf_counter() - started < seconds:
            fk.detect_encoded(images[(counts[index] + index) % len(images)], "photo.jpg")
            counts[index] += 1

    team = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in team:
        thread.start()
    for thread in team:
        thread.join()
    done = sum(counts)
    return done / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / done


def cpu_seconds(pid: int) -> float:
    """User and system time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Client(threading.Thread):
    """Posts until told to stop, over one keep-alive connection (a new one after the server closes it)."""

    def __init__(self, port: int, images: list[bytes], stop: threading.Event, bad: float, seed: int):
        super().__init__(daemon=True)
        self.port, self.images, self.stop, self.bad = port, images, stop, bad
        self.random = random.Random(seed)
        self.bads = bad_uploads(images[0])
        self.latencies: list[float] = []  # of good requests answered 200
        self.errors: list[str] = []  # good requests that failed: must stay empty
        self.refused: dict[str, int] = {}  # bad uploads answered as they must be
        self.wrong: list[str] = []  # bad uploads answered otherwise
        self.connection = None

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            self.connection.request("POST", path, body=body)
            response = self.connection.getresponse()
            data = response.read()
            if response.getheader("connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
            return response.status, data
        except Exception:
            self.connection.close()
            self.connection = None
            raise

    def run(self) -> None:
        while not self.stop.is_set():
            if self.random.random() < self.bad:
                kind, path, body, status = self.random.choice(self.bads)
                try:
                    got, _ = self.post(path, body)
                except OSError:  # the server may close before the client has sent a body it refused
                    got = status if kind == "too many bytes" else -1
                (self.refused.__setitem__(kind, self.refused.get(kind, 0) + 1) if got == status
                 else self.wrong.append(f"{kind}: {got}"))
                continue
            started = time.perf_counter()
            try:
                status, data = self.post("/v1/faces", self.random.choice(self.images))
            except Exception as exc:  # noqa: BLE001 (any failure of a good request counts)
                self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if status == 200 and data.startswith(b"[{"):
                self.latencies.append(time.perf_counter() - started)
            else:
                self.errors.append(f"{status}: {data[:100]!r}")


def load(port: int, pid: int, images: list[bytes], clients: int, seconds: float, bad: float) -> dict:
    stop = threading.Event()
    team = [Client(port, images, stop, bad, seed) for seed in range(clients)]
    before, cpu = rss_mb(pid), cpu_seconds(pid)
    started = time.perf_counter()
    for client in team:
        client.start()
    time.sleep(seconds)
    stop.set()
    for client in team:
        client.join(180)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    latencies = np.array([t for c in team for t in c.latencies]) * 1000
    refused: dict[str, int] = {}
    for client in team:
        for kind, n in client.refused.items():
            refused[kind] = refused.get(kind, 0) + n
    return {"clients": clients, "rps": len(latencies) / elapsed, "p50": float(np.percentile(latencies, 50)),
            "p99": float(np.percentile(latencies, 99)), "good": len(latencies),
            "errors": [e for c in team for e in c.errors], "refused": refused,
            "wrong": [w for c in team for w in c.wrong], "rss": (before, rss_mb(pid)),
            "cpu_ms": 1000 * cpu / max(1, len(latencies))}  # the bad uploads' cost included


def start_server(model: str) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "facekeypoints", "serve", "--quiet", "--port", str(port),
                               "--model", model, "--max-bytes", str(MAX_BYTES)])
    for _ in range(600):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not come up")


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="each run's length")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--bad", type=float, default=0.25, help="the share of bad uploads in the mixed run")
    parser.add_argument("--mixed-clients", type=int, default=16)
    parser.add_argument("--model", default="keypointnet")
    args = parser.parse_args()
    images = photos()
    print(f"{cpu_name()}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}); {len(images)} 640x480 "
          f"JPEGs; {args.seconds:g} s a run; model {args.model}", flush=True)
    from facekeypoints import FaceKeypoints

    fk = FaceKeypoints(args.model)
    fk.detect_encoded(images[0])  # warm
    alone, alone_cpu = ceiling(fk, images, args.seconds, 1)
    cpus = os.cpu_count() or 1
    top, top_cpu = ceiling(fk, images, args.seconds, cpus)
    print(f"without HTTP, FaceKeypoints.detect_encoded in this process: one at a time {alone:.1f} images/s "
          f"({alone_cpu:.0f} ms of CPU each; what `predict` does on 2 CPUs or fewer, without workers); {cpus} at "
          f"once, as the server runs them, {top:.1f} images/s ({top_cpu:.0f} ms of CPU each): the ceiling",
          flush=True)
    server, port = start_server(args.model)
    try:
        load(port, server.pid, images, 4, 3, 0)  # warm
        print("\n| clients | bad share | requests/s | of ceiling | p50 ms | p99 ms | errors | bad refused | "
              "server CPU ms per good request | server RSS MB start → end |\n|---|---|---|---|---|---|---|---|---|---|")
        runs = [(n, 0.0) for n in args.clients] + [(args.mixed_clients, args.bad)]
        for clients, bad in runs:
            r = load(port, server.pid, images, clients, args.seconds, bad)
            refused = f"{sum(r['refused'].values())}" if bad else "–"
            if r["wrong"]:
                refused += f" ({len(r['wrong'])} answered wrongly)"
            print(f"| {clients} | {bad:.0%} | {r['rps']:.1f} | {r['rps'] / top:.0%} | {r['p50']:.0f} | "
                  f"{r['p99']:.0f} | {len(r['errors'])} | {refused} | {r['cpu_ms']:.0f} | "
                  f"{r['rss'][0]:.0f} → {r['rss'][1]:.0f} |",
                  flush=True)
            for line in (r["errors"] + r["wrong"])[:5]:
                print(f"    {line}", flush=True)
            if bad:
                print("    bad uploads refused: " + ", ".join(f"{k} {n}" for k, n in sorted(r["refused"].items())),
                      flush=True)
    finally:
        server.terminate()
        server.wait(30)
    after, after_cpu = ceiling(fk, images, args.seconds, cpus)
    print(f"the ceiling again, after: {after:.1f} images/s ({after_cpu:.0f} ms of CPU each; a busy machine moves "
          f"the first figure, less the second); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
