"""Torch's build lock, made safe to interrupt.

``torch.utils.cpp_extension`` guards a build with a ``lock`` file in the build folder; a process
that finds one waits, forever, for it to go. A build stopped part-way (Ctrl-C or a kill during
the first compile) leaves the file behind, and every later process would hang. Before building,
:func:`wait_or_clear` waits while a lock is young (another process is building) and removes one
older than :data:`STALE_AFTER_S`, which no build of ours lasts.
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["STALE_AFTER_S", "wait_or_clear"]

#: Seconds after which a build lock is taken to be left by a stopped build (a build takes
#: 20-60 s, a few minutes on a loaded machine).
STALE_AFTER_S = 300.0


def wait_or_clear(
    folder: str | None, what: str, *, stale_after_s: float = STALE_AFTER_S, poll_s: float = 0.5
) -> bool:
    """Wait while ``folder/lock`` is younger than ``stale_after_s``; remove it once older.

    Args:
        folder: the build folder (``None``: nothing to do).
        what: the kernel's name, for the messages on stderr.

    Returns:
        bool: whether a stale lock was removed.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> open(os.path.join(folder, "lock"), "w").close()
        >>> os.utime(os.path.join(folder, "lock"), (0, 0))  # a lock from 1970: stale
        >>> wait_or_clear(folder, "test kernel")
        True
        >>> os.path.exists(os.path.join(folder, "lock"))
        False
    """
    if folder is None:
        return False
    lock = os.path.join(folder, "lock")
    told = False
    while True:
        try:
            age = time.time() - os.path.getmtime(lock)
        except FileNotFoundError:
            return False
        if age > stale_after_s:
            try:
                os.remove(lock)
            except FileNotFoundError:
                return False
            print(
                f"graphnets: removed the lock of a {what} build stopped {age / 60:.0f} min ago "
                f"({lock}); building again",
                file=sys.stderr,
                flush=True,
            )
            return True
        if not told:
            print(
                f"graphnets: waiting for another process's build of the {what} ({lock}) ...",
                file=sys.stderr,
                flush=True,
            )
            told = True
        time.sleep(poll_s)
