"""The server's limits, apart from the app so that the command line can show their defaults without FastAPI."""

from __future__ import annotations

import os
from dataclasses import dataclass

API_KEY_ENV = "FKD_API_KEY"  # the key, when --api-key is not given


@dataclass(frozen=True)
class Settings:
    """The server's limits. max_bytes: the largest request body (all its images together) and WebSocket frame.
    max_images: images in one request. max_pixels: pixels in one image, checked from its header before it is
    decoded (a server's default is below `predict`'s: 50 MP is a large phone photo, and several are decoded at
    once). body_timeout: seconds a client may take to send a request's body; idle_timeout: seconds a client may
    leave the body, or a WebSocket, without a byte (slow clients are cut, not waited for). concurrency: images
    decoded and run at once (more wait; default: one per CPU). api_key: if set, every request must carry it."""

    max_bytes: int = 20_000_000
    max_images: int = 16
    max_pixels: float = 50_000_000
    body_timeout: float = 60.0
    idle_timeout: float = 10.0
    concurrency: int = 0
    api_key: str | None = None

    def workers(self) -> int:
        return self.concurrency or os.cpu_count() or 1
