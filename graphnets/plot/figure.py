"""Where the pictures are drawn: matplotlib imported on first use, and the ``ax=`` rule.

Every function of :mod:`graphnets.plot` draws into the ``Axes`` it is given, or into a new
figure, and returns that ``Axes``. matplotlib is imported only when something is drawn, so
``import graphnets`` stays fast; where there is no display (a server, a worker, CI) pyplot gets
the file-only Agg backend.
"""

from __future__ import annotations

import os
import sys

__all__ = ["pyplot", "axes", "check_net"]


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def pyplot():
    """``matplotlib.pyplot``, imported on first use; the Agg backend where there is no display
    (unless ``MPLBACKEND`` or an earlier import of pyplot chose one).

    Example:
        >>> pyplot().__name__
        'matplotlib.pyplot'
    """
    import matplotlib

    if (
        "matplotlib.pyplot" not in sys.modules
        and not os.environ.get("MPLBACKEND")
        and not _has_display()
    ):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def axes(ax=None, *, figsize: tuple[float, float] = (6.0, 4.0)):
    """``ax`` if it is a matplotlib ``Axes``; a new figure's ``Axes`` of ``figsize`` inches if
    ``ax`` is ``None``.

    Raises:
        TypeError: if ``ax`` is anything else.

    Example:
        >>> axes().figure.get_size_inches().tolist()
        [6.0, 4.0]
    """
    if ax is None:
        return pyplot().subplots(figsize=figsize)[1]
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes (e.g. from plt.subplots()) or None, got "
            f"{type(ax).__name__}"
        )
    return ax


def check_net(net, function: str):
    """``net`` if it is a graphnets net (a ``GraphNet`` or an ``UnrolledNet``).

    Raises:
        TypeError: naming ``function`` and what was given.
    """
    from ..nn.base import BaseGraphNet

    if not isinstance(net, BaseGraphNet):
        raise TypeError(
            f"plot.{function} expects a graphnets net (GraphNet or UnrolledNet), got "
            f"{type(net).__name__}; build one with graphnets.from_networkx, mlp, from_torch, ..."
        )
    return net
