"""Running the app on uvicorn, with a protocol that cuts off clients too slow to send a request's headers
(uvicorn's own times out only an idle kept-alive connection, and the body's limits are the app's)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import sys

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..photos import DEFAULT_DETECTOR
from ..shipped import DEFAULT_MODEL, model_files
from .app import Settings, create_app, load_models

MAX_CONNECTIONS = 256  # connections at once; more are answered 503 (each may hold a body of max_bytes)
_CONFIG_ENV = "FKD_SERVE_CONFIG"  # how the parent hands its arguments to worker processes (--workers)


class SlowClientProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers are not all in within `timeout` seconds
    of its opening or of its last answer (`Settings.idle_timeout`, set by `serve`)."""

    timeout = Settings.idle_timeout

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._awaiting = self.cycle  # the headers are in when a new cycle starts
        self._header_timer = self.loop.call_later(self.timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not self._awaiting:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._disarm()
            self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        # still waiting, and still this connection's protocol (a WebSocket upgrade hands the transport on)
        if self.cycle is self._awaiting and not self.transport.is_closing() and self.transport.get_protocol() is self:
            self.transport.close()


def serve(models=(DEFAULT_MODEL,), host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          settings: Settings = Settings(), detector: str = DEFAULT_DETECTOR, backend: str = "auto",
          quiet: bool = False, **options) -> None:
    """Serve these models (names or files; the first is the default) until Ctrl-C. workers: processes, each with
    the models loaded. options: as `FaceKeypoints` takes them (min_crop, max_spread)."""
    config = {"models": [str(m) for m in models], "settings": dataclasses.asdict(settings), "detector": detector,
              "backend": backend, "options": options}
    kwargs = {"host": host, "port": port, "http": SlowClientProtocol, "limit_concurrency": MAX_CONNECTIONS,
              "ws_max_size": settings.max_bytes, "log_level": "warning" if quiet else "info",
              "access_log": not quiet, "timeout_graceful_shutdown": 5}
    # loaded (for worker processes: found) before listening, so that a bad model name fails here, in one line
    app = _app(config) if workers == 1 else None
    if app is None:
        for model in config["models"]:
            model_files(model)
    shown = f"[{host}]" if ":" in host else host
    print(f"facekeypoints: starting a server of {', '.join(config['models'])} on http://{shown}:{port}/ (the page; "
          "API docs at /docs)" + ("" if settings.api_key else "; no API key"), file=sys.stderr)
    if not settings.api_key and not _loopback(host):
        print(f"facekeypoints: warning: {host} is reachable from other machines and no --api-key is set",
              file=sys.stderr)
    if app is not None:
        uvicorn.run(app, **kwargs)
    else:
        os.environ[_CONFIG_ENV] = json.dumps(config)
        uvicorn.run("facekeypoints.serve.run:app_from_environment", factory=True, workers=workers, **kwargs)


def app_from_environment():
    """The app of a worker process (uvicorn --workers), from the arguments its parent left in the environment."""
    return _app(json.loads(os.environ[_CONFIG_ENV]))


def _app(config: dict):
    settings = Settings(**config["settings"])
    SlowClientProtocol.timeout = settings.idle_timeout  # here, where each worker process builds its app
    models = load_models(config["models"], config["detector"], config["backend"], max_pixels=settings.max_pixels,
                         **config["options"])
    return create_app(models, settings, config["detector"])


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
