"""Run a short block whole: a Ctrl-C that arrives inside it is raised when it ends."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["deferred_interrupt"]


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold SIGINT until the block is done, then deliver it to the handler that was installed.

    Used where a few assignments must happen together or not at all (an edit's commit): a
    ``KeyboardInterrupt`` raised between two of them would leave a half-applied edit. Outside
    the main thread (where Python delivers no signals) the block simply runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list = []
    try:
        previous = signal.signal(signal.SIGINT, lambda sig, frame: received.append(frame))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, received[0])
