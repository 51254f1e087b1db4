"""`facekeypoints serve`'s flags, beside the settings they fill (`Settings`): the command line only parses them."""

from __future__ import annotations

import argparse
import os

from .._args import COUNT, NATURAL, POSITIVE, number, option
from ..inference.loading import BACKENDS
from ..photos import DEFAULT_DETECTOR, DETECTORS, MAX_SPREAD, MIN_CROP
from .settings import API_KEY_ENV, Settings

DEFAULTS = Settings()  # the server's default limits


def add_serve_parser(command, func, default_model: str) -> argparse.ArgumentParser:
    p = command("serve", func, "an HTTP API and a web page (photo, webcam) for the keypoints",
                "Serve POST /v1/faces (images in, the records of predict --json out), a WebSocket for live video, "
                "/v1/models, /healthz, the API docs at /docs and a web page at /. Needs the serve extra. See "
                "docs/serving.md.", force=None)
    option(p, "--host", default="127.0.0.1", help="the address to listen on (0.0.0.0: every network; then set "
           "--api-key)")
    option(p, "--port", type=number(int, 1, 65536), default=8000, help="the port")
    p.add_argument("--model", action="append", help=f"a model to load (repeat for several; requests choose with "
                   f"?model=; the first is the default; default: {default_model})")
    option(p, "--workers", type=COUNT, default=1, help="server processes, each with the models loaded")
    p.add_argument("--api-key", default=os.environ.get(API_KEY_ENV), help="every request must carry this key "
                   f"(X-API-Key header; the page: /?api_key=KEY) (default: ${API_KEY_ENV})")
    option(p, "--max-bytes", type=COUNT, default=DEFAULTS.max_bytes, help="the largest request body")
    option(p, "--max-images", type=COUNT, default=DEFAULTS.max_images, help="images in one request")
    option(p, "--max-pixels", type=POSITIVE, default=DEFAULTS.max_pixels, help="refuse larger images (from their "
           "header)")
    option(p, "--timeout", type=POSITIVE, default=DEFAULTS.idle_timeout, metavar="S", help="cut off a client "
           f"silent this long while it sends a request (headers or body; all of it within {DEFAULTS.body_timeout:g} s)")
    option(p, "--detector", choices=sorted(DETECTORS), default=DEFAULT_DETECTOR, help="the face detector")
    option(p, "--backend", choices=BACKENDS, default=BACKENDS[0], help="as predict's")
    option(p, "--min-face", type=NATURAL, default=MIN_CROP, metavar="PX", help="smaller face crops get no keypoints")
    option(p, "--max-spread", type=POSITIVE, default=MAX_SPREAD, metavar="PX", help="as predict's")
    return p


def settings_from(args) -> Settings:
    """The server's limits from the parsed flags."""
    return Settings(max_bytes=args.max_bytes, max_images=args.max_images, max_pixels=args.max_pixels,
                    idle_timeout=args.timeout, api_key=args.api_key or None)
