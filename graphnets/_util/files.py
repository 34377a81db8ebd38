"""Write a file so that a reader never sees it half written, whatever kills the writer."""

from __future__ import annotations

import os
import tempfile

__all__ = ["atomic_write", "TMP_PREFIX"]

#: Prefix of the temporary files :func:`atomic_write` leaves behind only if the process dies.
TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, flushed to
    disk, then renamed over ``path`` (``os.replace``). A kill at any moment leaves either the
    old file or the new one, never a mix; the file gets the usual permissions (``0o666`` less
    the umask), not the temporary file's ``0o600``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX, suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
