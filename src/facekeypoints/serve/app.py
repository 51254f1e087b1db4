"""The ASGI app: routes, limits and errors. Every bad request is answered with a 4xx and a JSON body
{"error": "what is wrong"}; nothing a client sends can reach a 500 or stop the server."""

from __future__ import annotations

import asyncio
import copy
import functools
import secrets
import time
from http.cookies import CookieError, SimpleCookie
from importlib import metadata, resources
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs

from fastapi import Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from ..api import FaceKeypoints
from ..errors import FacekeypointsError
from ..photos import DEFAULT_DETECTOR, FileResult, ImageError, ImageTooLarge, Tracker, decode_bytes, eight_bit
from .settings import Settings

KEY_COOKIE = "facekeypoints_key"
STATIC = Path(str(resources.files("facekeypoints") / "serve" / "static"))


def load_models(names, detector: str = DEFAULT_DETECTOR, backend: str = "auto", **options) -> dict[str, FaceKeypoints]:
    """One `FaceKeypoints` per model name (or file), the first the default; options as `FaceKeypoints` takes them."""
    return {str(name): FaceKeypoints(name, detector=detector, backend=backend, **options) for name in names}


class _Refused(HTTPException):
    """A request refused before any work, answered with its status and {"error": detail}."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers={"Connection": "close"} if status in (408, 413) else None)


class _Limits:
    """ASGI middleware, outermost: the API key, and the request body capped in size and in time."""

    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings

    def _key(self, scope) -> tuple[str, bool]:
        """The key a request carries, and whether it came in the query (`?api_key=`: how a browser opens the page;
        it then gets the key as a cookie, for the page's own requests and its WebSocket)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        if given:
            return given, False
        query = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("api_key") or [""])[0]
        if query:
            return query, True
        try:
            cookie = SimpleCookie(headers.get("cookie", "")).get(KEY_COOKIE)
        except CookieError:
            cookie = None
        return (cookie.value if cookie else ""), False

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if self.settings.api_key:
            given, in_query = self._key(scope)
            if not secrets.compare_digest(given.encode(), self.settings.api_key.encode()):
                if scope["type"] == "websocket":
                    return await send({"type": "websocket.close", "code": 1008, "reason": "missing or wrong API key"})
                return await _error(401, "missing or wrong API key: send it in the X-API-Key header (or open the "
                                         "page as /?api_key=KEY)")(scope, receive, send)
            if in_query and scope["type"] == "http":
                send = _with_cookie(send, given)
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        limit = self.settings.max_bytes
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            message = (f"the body is {int(length)} bytes, over the limit of {limit} (--max-bytes)" if length.isdigit()
                       else "a Content-Length that is not a number")
            return await _error(413 if length.isdigit() else 400, message)(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline, received, done = loop.time() + self.settings.body_timeout, 0, False

        async def capped():
            nonlocal received, done
            if done:  # the body is in: what comes now is the client leaving, whenever it does
                return await receive()
            wait = min(self.settings.idle_timeout, deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), max(wait, 0.001))
            except (asyncio.TimeoutError, TimeoutError):
                raise _Refused(408, f"the body came too slowly (idle {self.settings.idle_timeout:g} s or "
                                    f"{self.settings.body_timeout:g} s in all, at most)") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                done = not message.get("more_body", False)
                if received > limit:
                    raise _Refused(413, f"the body is over the limit of {limit} bytes (--max-bytes)")
            return message

        return await self.app(scope, capped, send)


def _with_cookie(send, key: str):
    async def sending(message):
        if message["type"] == "http.response.start":
            cookie = SimpleCookie()
            cookie[KEY_COOKIE] = key
            cookie[KEY_COOKIE].update({"httponly": True, "samesite": "Strict", "path": "/"})
            message = dict(message, headers=[*message.get("headers", []),
                                             (b"set-cookie", cookie[KEY_COOKIE].OutputString().encode("latin-1"))])
        await send(message)
    return sending


QUERY = {"model", "min_size", "max_faces", "api_key"}


def create_app(models: dict[str, FaceKeypoints], settings: Settings = Settings(), detector: str = DEFAULT_DETECTOR
               ) -> _Limits:
    """The ASGI app serving these models (`load_models`; the first is the default) within these limits: the
    FastAPI app (its `.app`) inside the middleware that checks the API key and caps bodies."""
    if not models:
        raise ValueError("no model to serve")
    default = next(iter(models))
    gate = asyncio.Semaphore(settings.workers())
    # FastAPIOffline: FastAPI with the docs' Swagger UI served from its package, not a CDN
    app = FastAPIOffline(title="facekeypoints", version=metadata.version("facekeypoints"), redoc_url=None,
                         description="Facial keypoints of the faces in images: the records `facekeypoints predict "
                         '--json` writes, over HTTP. Errors are JSON {"error": "..."} with a 4xx status.')
    page = (STATIC / "index.html").read_text(encoding="utf-8")

    async def work(fn: Callable):
        """The CPU work of a request, in a thread, at most `concurrency` at once: the rest wait their turn."""
        async with gate:
            return await run_in_threadpool(fn)

    def chosen(model: str | None, min_size: float | None) -> FaceKeypoints:
        name = default if model is None else model
        if name not in models:
            raise _Refused(400, f"unknown model {name!r}: this server has {', '.join(models)}")
        fk = models[name]
        if min_size is not None:  # the same detector (its loaded nets shared), looking for smaller or larger faces
            fk = copy.copy(fk)
            fk.detector = copy.copy(fk.detector)
            fk.detector.min_size = min_size
        return fk

    def unknown_options(request) -> None:
        unknown = sorted(set(request.query_params) - QUERY)
        if unknown:
            raise _Refused(400, f"unknown option {', '.join(map(repr, unknown))}: the options are "
                                f"{', '.join(sorted(QUERY - {'api_key'}))}")

    @app.exception_handler(HTTPException)
    async def refused(request, exc: HTTPException):
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        said = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        return _error(422, said or "invalid request")

    @app.exception_handler(ImageError)
    async def not_an_image(request, exc: ImageError):
        return _error(413 if isinstance(exc, ImageTooLarge) else 415, str(exc))

    @app.exception_handler(FacekeypointsError)
    async def bad_input(request, exc: FacekeypointsError):
        return _error(400, str(exc))

    @app.exception_handler(Exception)
    async def bug(request, exc: Exception):  # a bug, not the client's fault: said, and the server goes on
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return page

    @app.get("/healthz", summary="Liveness: the server is up and its models are loaded")
    async def healthz():
        return {"status": "ok", "models": list(models)}

    @app.get("/v1/models", summary="The loaded models: names, keypoint sets, detector")
    async def list_models():
        # aliases by point name (the records name points, not indices): how the page finds e.g. the nose tip
        # that a 68-point model's pose is drawn from
        return {"default": default, "models": [
            {"name": name, "backend": fk.model.backend, "keypoint_set": fk.model.keypoint_set.name,
             "keypoints": list(fk.model.keypoint_set.names),
             "aliases": {alias: [fk.model.keypoint_set.names[i] for i in points]
                         for alias, points in fk.model.keypoint_set.aliases.items()},
             "detector": detector, "uncertainty": fk.model.uncertainty is not None} for name, fk in models.items()]}

    error = {"content": {"application/json": {"schema": {"type": "object", "properties": {
        "error": {"type": "string"}}}}}}
    body = {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}

    @app.post("/v1/faces", summary="The faces and keypoints in one or more images", openapi_extra={
        "requestBody": body}, responses={
        400: {"description": "an unknown option, model or form field; no image", **error},
        408: {"description": "the body came too slowly", **error}, 401: {"description": "no API key", **error},
        413: {"description": "too many bytes or pixels", **error}, 415: {"description": "not an image", **error},
        422: {"description": "an option's value is wrong", **error}})
    async def faces(request: Request, model: str | None = Query(None, description="a loaded model (/v1/models)"),
                    min_size: float | None = Query(None, gt=0, description="the smallest face to look for, px "
                                                   "(default: 1/20 of the image's long side, at least 24)"),
                    max_faces: int | None = Query(None, ge=1, description="keep only the largest N faces")):
        """Send an image as the raw body (any Content-Type but multipart) or as multipart form data in the field
        `file` (repeat it for several). The answer is the list of records that `facekeypoints predict --json`
        writes for those files: one per image, in order, `source` its file name ("upload" for a raw body)."""
        unknown_options(request)
        fk = chosen(model, min_size)
        uploads = await _images(request, settings.max_images)

        def run() -> list[dict]:
            records = []
            for name, data in uploads:
                record = fk.detect_encoded(data, name).to_dict()
                if max_faces is not None:
                    record["faces"] = record["faces"][:max_faces]  # largest first
                records.append(record)
            return records

        return await work(run)

    @app.websocket("/v1/track")
    async def track(socket: WebSocket, model: str | None = None, min_size: float | None = None):
        """A live video: each binary message one encoded frame (JPEG, PNG); each answer a record as `predict
        --json` writes for a video frame, its faces followed by this connection's own tracker, plus `ms`: the
        server's time on it. Errors are {"error": ...}; the connection goes on. Send the next frame after the
        answer to the last one."""
        await socket.accept()
        try:
            unknown_options(socket)
            if min_size is not None and not min_size > 0:
                raise _Refused(400, "min_size must be above 0")
            fk = chosen(model, min_size)
        except _Refused as exc:
            return await socket.close(1008, str(exc.detail)[:120])
        tracker, frame = fk.tracker(), 0
        while True:
            try:
                message = await asyncio.wait_for(socket.receive(), 6 * settings.idle_timeout)
            except (asyncio.TimeoutError, TimeoutError):
                return await socket.close(1001, "no frame for a while")
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                await socket.send_json({"error": "send each frame as a binary message: an encoded image"})
                continue
            started = time.monotonic()
            try:
                result = await work(functools.partial(_follow, tracker, data, fk.max_pixels, frame, started))
            except ImageError as exc:
                await socket.send_json({"error": str(exc)})
                continue
            record = result.to_dict()
            record["ms"] = round(1000 * (time.monotonic() - started), 1)
            await socket.send_json(record)
            frame += 1

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return _Limits(app, settings)


def _follow(tracker: Tracker, data: bytes, max_pixels: float, frame: int, seconds: float) -> FileResult:
    image = eight_bit(decode_bytes(data, f"frame {frame}", max_pixels))
    faces = tracker(image, seconds)
    return FileResult(Path("camera"), frame, image.shape[1], image.shape[0], faces, not_faces=tracker.not_faces)


async def _images(request: Request, most: int) -> list[tuple[str, bytes]]:
    """(name, bytes) of each image of a request: the multipart form's `file` fields, or the raw body (whatever
    its Content-Type says: `curl --data-binary` calls it a urlencoded form)."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form(max_files=most, max_fields=most)
        try:  # closed whatever happens: large parts are spooled to temporary files
            other = sorted(set(form) - {"file"})
            if other:
                raise _Refused(400, f"unknown form field {', '.join(map(repr, other))}: send images in `file`")
            uploads = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
            if not uploads or len(uploads) != len(form.getlist("file")):
                raise _Refused(400, "no image: send each as a file in the form field `file`")
            return [(f.filename or "upload", await f.read()) for f in uploads]
        finally:
            await form.close()
    body = await request.body()
    if not body:
        raise _Refused(400, "no image: send one as the body, or as multipart form data in the field `file`")
    return [("upload", body)]
