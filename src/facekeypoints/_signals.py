"""Ctrl-C and SIGTERM as a request to stop at the next safe point, so that what was done is kept."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM (`kill`, a job scheduler's stop; background jobs ignore Ctrl-C) ask the
    work to stop: calling the object says whether one came, and the loop that asks ends where its outputs are
    whole. A second signal stops at once (KeyboardInterrupt: nothing half-written is kept). `message`, if
    any, is printed to stderr when the first one comes. Calling `request()` asks to stop as a signal would.
    Handlers can be set in the main thread only: elsewhere the object only answers `request()`."""

    def __init__(self, message: str = ""):
        self.message, self.requested, self.previous = message, False, {}

    def __call__(self) -> bool:
        return self.requested

    def request(self) -> None:
        self.requested = True

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.message:  # os.write: safe in a handler, which may run in the middle of another print
            os.write(2, f"\n{self.message}\n".encode())

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self.previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self.previous = {}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within it, SIGTERM (`kill`) ends the program as Ctrl-C does, through KeyboardInterrupt: temporary files
    are removed and outputs left as they were, where the default would end it on the spot. Work that keeps what
    was done (`StopSignals`) sets its own handler while it runs. The previous handler is put back on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
