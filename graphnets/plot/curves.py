"""Pictures of results: learning curves, accuracy against compression, a measure against a
property, predictions against the truth.

These draw tables and arrays that the library writes (``curves.csv`` and ``results.csv`` of
``graphnets experiment``, the records of :func:`graphnets.train.fit`, the accuracies of a pruning
schedule), so that the experiment's report, the pruning study and the benchmarks draw through
one module and look alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .figure import axes

__all__ = ["learning_curves", "compression", "scatter", "predictions"]


def _columns(table, names: Sequence[str], function: str) -> None:
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ValueError(
            f"plot.{function}: the table has no column {', '.join(map(repr, missing))}; "
            f"its columns are {', '.join(map(str, table.columns))}"
        )


def _label_axes(ax, xlabel: str, ylabel: str) -> None:
    """Label the axes unless the caller already did."""
    if not ax.get_xlabel():
        ax.set_xlabel(xlabel)
    if not ax.get_ylabel():
        ax.set_ylabel(ylabel)


def learning_curves(
    curves,
    metric: str = "test_acc",
    *,
    by: str | Sequence[str] = "id",
    hue: str | None = None,
    colors: Mapping | None = None,
    names: Mapping | None = None,
    ax=None,
    **style,
):
    """``metric`` per epoch, one line per training.

    Args:
        curves (pandas.DataFrame or list of dict): one row per epoch with the columns
            ``epoch``, ``metric`` and ``by``: ``curves.csv`` of ``graphnets experiment``, or
            the records of :func:`graphnets.train.fit` (one training).
        metric (str): the column to draw (default: ``"test_acc"``; also ``"loss"``,
            ``"train_acc"``). A ``"loss"`` axis is logarithmic.
        by (str or list of str): the columns that tell trainings apart (default: ``"id"``;
            ignored where absent).
        hue (str, optional): a column that colours the lines, one legend entry per value
            (default: none, all lines in one colour).
        colors (dict, optional): colour per ``hue`` value (default: matplotlib's cycle).
        names (dict, optional): legend name per ``hue`` value (default: the value).
        ax (matplotlib.axes.Axes, optional): where to draw (default: a new figure).
        **style: passed to ``Axes.plot`` (default: thin translucent lines with dots).

    Returns:
        matplotlib.axes.Axes: ``ax``, one line per training.

    Raises:
        ValueError: if ``epoch``, ``metric`` or ``hue`` is not a column.

    Example:
        >>> from graphnets import plot
        >>> records = [{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.8}]
        >>> ax = plot.learning_curves(records)
        >>> ax.lines[0].get_ydata().tolist()
        [0.5, 0.8]
    """
    import pandas as pd

    table = curves if isinstance(curves, pd.DataFrame) else pd.DataFrame(list(curves))
    _columns(table, ["epoch", metric] + ([hue] if hue else []), "learning_curves")
    ax = axes(ax)
    keys = [by] if isinstance(by, str) else list(by)
    keys = [k for k in keys if k in table.columns]
    groups = table.groupby(keys, sort=True) if keys else [((), table)]
    style = {"alpha": 0.35 if keys else 1.0, "lw": 0.8, "marker": ".", "ms": 3, **style}
    palette: dict = dict(colors or {})
    defaults = iter(_cycle_colours())
    seen: set = set()
    for _, part in groups:
        kw = dict(style)
        if hue:
            value = part[hue].iloc[0]
            if value not in palette:
                palette[value] = next(defaults)
            kw.setdefault("color", palette[value])
            if value not in seen:
                kw["label"] = (names or {}).get(value, value)
                seen.add(value)
        part = part.sort_values("epoch")
        ax.plot(part["epoch"].to_numpy(), part[metric].to_numpy(), **kw)
    if metric == "loss":
        ax.set_yscale("log")
    _label_axes(
        ax, "epoch", {"loss": "training loss", "test_acc": "test accuracy"}.get(metric, metric)
    )
    if seen:
        ax.legend(fontsize=7)
    return ax


def _cycle_colours() -> list:
    from matplotlib import rcParams

    colours = rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    return colours * 100


def compression(
    compression,
    accuracy,
    *,
    ax=None,
    label: str | None = None,
    band: bool = True,
    **style,
):
    """Accuracy against compression: the mean over repeats, with a ±1 std band.

    Args:
        compression (array-like): ``[S]`` the fraction of edges removed at each step, in
            ``[0, 1]`` (the axis shows per cent).
        accuracy (array-like): ``[S]`` (one run) or ``[R, S]`` (``R`` repeats) accuracies.
        ax (matplotlib.axes.Axes, optional): where to draw (default: a new figure).
        label (str, optional): legend entry of the line (default: none).
        band (bool): shade ±1 std over the repeats when ``R > 1`` (default: ``True``).
        **style: passed to ``Axes.plot`` (default: ``marker="o", ms=3``).

    Shapes:
        - **compression:** ``[S]``; **accuracy:** ``[S]`` or ``[R, S]``.

    Returns:
        matplotlib.axes.Axes: ``ax``; the mean is ``ax.lines[-1]``, the band (if any)
        ``ax.collections[-1]``.

    Raises:
        ValueError: if the shapes disagree or a compression is outside ``[0, 1]``.

    Example:
        >>> from graphnets import plot
        >>> ax = plot.compression([0.0, 0.5, 0.9], [[0.9, 0.9, 0.7], [0.9, 0.8, 0.5]])
        >>> ax.lines[0].get_xdata().tolist(), ax.lines[0].get_ydata().round(2).tolist()
        ([0.0, 50.0, 90.0], [0.9, 0.85, 0.6])
    """
    c = np.asarray(compression, dtype=float)
    acc = np.asarray(accuracy, dtype=float)
    acc = acc[None] if acc.ndim == 1 else acc
    if c.ndim != 1 or acc.ndim != 2 or acc.shape[1] != c.size:
        raise ValueError(
            f"plot.compression expects compression [S] and accuracy [S] or [R, S], got "
            f"{list(c.shape)} and {list(np.shape(accuracy))}"
        )
    if c.size and (np.nanmin(c) < 0 or np.nanmax(c) > 1):
        raise ValueError(
            f"compression must be fractions of edges removed, in [0, 1], got values from "
            f"{np.nanmin(c):g} to {np.nanmax(c):g}"
        )
    ax = axes(ax)
    mean, std = acc.mean(0), acc.std(0)
    (line,) = ax.plot(100 * c, mean, label=label, **{"marker": "o", "ms": 3, **style})
    if band and acc.shape[0] > 1:
        ax.fill_between(100 * c, mean - std, mean + std, color=line.get_color(), alpha=0.15, lw=0)
    _label_axes(ax, "compression (% of edges removed)", "test accuracy")
    if label is not None:
        ax.legend(fontsize=7)
    return ax


def scatter(
    table,
    x: str,
    y: str,
    *,
    hue: str | None = None,
    colors: Mapping | None = None,
    names: Mapping | None = None,
    ax=None,
    **style,
):
    """``table[y]`` against ``table[x]``, one colour per ``hue`` value: a measure against a
    property (accuracy against a graph property in the experiment's report).

    Args:
        table (pandas.DataFrame): one row per point, e.g. ``results.csv``.
        x, y (str): the columns on the axes.
        hue (str, optional): a column that colours the points, one legend entry per value.
        colors (dict, optional): colour per ``hue`` value (default: matplotlib's cycle).
        names (dict, optional): legend name per ``hue`` value (default: the value).
        ax (matplotlib.axes.Axes, optional): where to draw (default: a new figure).
        **style: passed to ``Axes.scatter`` (default: ``s=12, alpha=0.7``).

    Returns:
        matplotlib.axes.Axes: ``ax``, one point collection per ``hue`` value (or one).

    Raises:
        ValueError: if ``x``, ``y`` or ``hue`` is not a column.

    Example:
        >>> import pandas as pd
        >>> from graphnets import plot
        >>> t = pd.DataFrame({"depth": [3, 4, 5], "acc": [0.9, 0.8, 0.7], "prior": list("aab")})
        >>> [len(c.get_offsets()) for c in plot.scatter(t, "depth", "acc", hue="prior").collections]
        [2, 1]
    """
    _columns(table, [x, y] + ([hue] if hue else []), "scatter")
    ax = axes(ax)
    style = {"s": 12, "alpha": 0.7, **style}
    groups = table.groupby(hue, sort=True) if hue else [(None, table)]
    for value, part in groups:
        kw = dict(style)
        if hue:
            if colors and value in colors:
                kw.setdefault("color", colors[value])
            kw["label"] = (names or {}).get(value, value)
        ax.scatter(part[x].to_numpy(), part[y].to_numpy(), **kw)
    _label_axes(ax, x, y)
    if hue:
        ax.legend(fontsize=7)
    return ax


def predictions(actual, predicted, *, ax=None, **style):
    """Predicted against actual values, with the dashed line of a perfect prediction.

    Args:
        actual (array-like): ``[n]`` the true values.
        predicted (array-like): ``[n]`` the predictions (e.g. out-of-fold).
        ax (matplotlib.axes.Axes, optional): where to draw (default: a new figure).
        **style: passed to ``Axes.scatter`` (default: ``s=12, alpha=0.7``).

    Returns:
        matplotlib.axes.Axes: ``ax``; the points ``ax.collections[-1]``, the diagonal
        ``ax.lines[-1]``.

    Raises:
        ValueError: if the two are not of the same length.

    Example:
        >>> from graphnets import plot
        >>> ax = plot.predictions([0.2, 0.5, 0.9], [0.3, 0.5, 0.7])
        >>> ax.lines[0].get_xdata().tolist()
        [0.2, 0.9]
    """
    y = np.asarray(actual, dtype=float).ravel()
    p = np.asarray(predicted, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(
            f"plot.predictions expects as many predictions as actual values, got {p.size} "
            f"and {y.size}"
        )
    ax = axes(ax)
    ax.scatter(y, p, **{"s": 12, "alpha": 0.7, **style})
    if y.size:
        lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
    _label_axes(ax, "actual", "predicted")
    return ax
