"""`facekeypoints serve`: an HTTP API and a web page over `FaceKeypoints`, on FastAPI and uvicorn.

    POST /v1/faces      an image (multipart field `file`, repeatable, or the raw body) -> the records that
                        `predict --json` writes for those files
    WS   /v1/track      a live video, one encoded frame per binary message -> a record per frame, followed by a
                        `photos.Tracker` (one per connection)
    GET  /v1/models     the loaded models and their keypoint names
    GET  /healthz       liveness
    GET  /docs          the OpenAPI docs
    GET  /              the web page (photo or webcam), its files served by the package: nothing from a CDN

FastAPI and uvicorn come with the `serve` extra (`pip install "facekeypoints[serve]"`); the rest of the package
does not need them. See docs/serving.md.
"""

from __future__ import annotations

from .settings import API_KEY_ENV, Settings

__all__ = ["API_KEY_ENV", "Settings", "create_app", "load_models", "serve"]


def __getattr__(name: str):
    # FastAPI and uvicorn on first use: `Settings` (the command line's defaults) needs neither
    if name in ("create_app", "load_models"):
        from . import app

        return getattr(app, name)
    if name == "serve":
        from .run import serve

        return serve
    raise AttributeError(f"module 'facekeypoints.serve' has no attribute {name!r}")
