"""Small numpy helpers on the build path.

``np.unique`` imports ``numpy.ma`` on its first call (~20 ms), a third of a cold first build of
a 1,000-node net; these sort-based equivalents import nothing.
"""

from __future__ import annotations

import numpy as np

__all__ = ["unique_counts", "unique_sorted"]


def unique_sorted(a: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``a`` (``np.unique(a)``).

    Example:
        >>> unique_sorted(np.array([3, 1, 3, 2])).tolist()
        [1, 2, 3]
    """
    s = np.sort(np.asarray(a).ravel())
    if s.size == 0:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def unique_counts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of ``a`` and how often each occurs
    (``np.unique(a, return_counts=True)``).

    Example:
        >>> [v.tolist() for v in unique_counts(np.array([3, 1, 3, 2]))]
        [[1, 2, 3], [1, 1, 2]]
    """
    s = np.sort(np.asarray(a).ravel())
    if s.size == 0:
        return s, np.zeros(0, dtype=np.int64)
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    starts = np.flatnonzero(keep)
    counts = np.diff(np.append(starts, s.size))
    return s[starts], counts
