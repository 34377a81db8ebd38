"""Pictures of one net: its graph, its weight matrix, its activity and its levels.

All four read a net (a ``GraphNet`` or an ``UnrolledNet``) and change nothing. Nodes are placed
and ordered by level, inputs left (or top), outputs right (or bottom): the order of
``net.order``, the rows of ``net.to_dense()``.

Weights are coloured on one diverging scale, symmetric around 0: red positive, blue negative,
the strongest ``|w|`` of the net at either end. Lines and markers are matplotlib collections
tagged with a ``gid`` (``"feed-forward"``, ``"skip"``, ``"recurrent"``, ``"input"``, ...), so a
caller can restyle one kind after drawing.
"""

from __future__ import annotations

import numpy as np
import torch

from .._util.checks import positive_int
from .figure import axes, check_net

__all__ = ["graph", "weights", "activity", "levels", "EDGE_KINDS"]

#: The kinds of edges :func:`graph` tells apart: between adjacent levels (straight), over one
#: or more levels (arcs above), and delayed (dashed arcs below).
EDGE_KINDS = ("feed-forward", "skip", "recurrent")

_STYLE = {"feed-forward": "solid", "skip": "solid", "recurrent": (0, (3, 2))}
_ROLES = (("input", "#4d4d4d", "s"), ("hidden", "#ffffff", "o"), ("output", "#222222", "D"))


def _weight_colours(w: np.ndarray, cmap: str):
    """RGBA per weight: diverging colour by sign and size, stronger weights more opaque."""
    from matplotlib import colormaps

    scale = float(np.abs(w).max()) if w.size else 0.0
    scale = scale if scale > 0 else 1.0
    t = np.abs(w) / scale
    rgba = colormaps[cmap](0.5 + 0.5 * w / scale)
    rgba[:, 3] = 0.25 + 0.75 * t
    return rgba, t, scale


def _arc(x0, y0, x1, y1, bend: float, points: int = 16) -> np.ndarray:
    """A quadratic Bézier from ``(x0, y0)`` to ``(x1, y1)`` as ``[points, 2]``, its control
    ``bend`` above the higher end (``bend > 0``) or below the lower one (``bend < 0``)."""
    t = np.linspace(0.0, 1.0, points)[:, None]
    p0, p2 = np.array([x0, y0]), np.array([x1, y1])
    p1 = np.array([(x0 + x1) / 2, (max(y0, y1) if bend > 0 else min(y0, y1)) + bend])
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _positions(level: np.ndarray) -> np.ndarray:
    """``[N, 2]``: x the level, y the rank within the level (node-index order), centred."""
    pos = np.zeros((level.size, 2))
    pos[:, 0] = level
    for ell in np.unique(level):
        nodes = np.flatnonzero(level == ell)
        pos[nodes, 1] = (nodes.size - 1) / 2 - np.arange(nodes.size)
    return pos


def _colorbar(ax, cmap: str, scale: float, label: str) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mappable = ScalarMappable(Normalize(-scale, scale), cmap)
    ax.figure.colorbar(mappable, ax=ax, label=label, fraction=0.04, pad=0.02)


def graph(
    net,
    *,
    ax=None,
    max_edges: int = 4000,
    labels: bool | None = None,
    cmap: str = "RdBu_r",
    colorbar: bool = True,
):
    """Draw ``net`` by levels: inputs left, outputs right, one column per level.

    Edges are coloured by their weight (red positive, blue negative) and drawn thicker and more
    opaque the larger ``|w|``. Edges between adjacent levels are straight lines; **skip** edges
    (over one level or more) are arcs above; **recurrent** edges (delay ``>= 1``) are dashed arcs
    below. Inputs are grey squares, hidden nodes white circles, outputs black diamonds.

    A net of more than ``max_edges`` edges is drawn **aggregated**: each level a block (its
    height grows with the square root of its node count, labelled with the count), and one
    bundle per pair of levels, labelled with its number of edges, as thick as the log of that
    number and coloured by the bundle's net sign ``Σw / Σ|w|`` (grey where signs balance). A
    100,000-edge net draws in well under a second.

    Args:
        net (BaseGraphNet): the net (a ``GraphNet`` or an ``UnrolledNet``).
        ax (matplotlib.axes.Axes, optional): where to draw (default: a new figure).
        max_edges (int): the most edges drawn one by one (default: ``4000``).
        labels (bool, optional): write node labels (default: when the net has at most 40
            nodes and is not aggregated).
        cmap (str): a diverging matplotlib colormap (default: ``"RdBu_r"``).
        colorbar (bool): add a colour bar of the weights (default: ``True``).

    Returns:
        matplotlib.axes.Axes: ``ax``. Its collections carry the ``gid`` of what they draw:
        ``"feed-forward"``, ``"skip"``, ``"recurrent"`` (edges, one segment per edge, or per
        bundle when aggregated), ``"input"``, ``"hidden"``, ``"output"`` (nodes).

    Raises:
        TypeError: if ``net`` is not a graphnets net or ``ax`` not an ``Axes``.
        ValueError: if ``max_edges`` is not a positive int.

    Example:
        >>> import graphnets
        >>> from graphnets import plot
        >>> net = graphnets.mlp([3, 4, 2], seed=0)
        >>> net.add_edges([(0, 0)], [(2, 1)])   # a skip edge  # doctest: +ELLIPSIS
        EditRecord(...)
        >>> ax = plot.graph(net)
        >>> [(c.get_gid(), len(c.get_paths())) for c in ax.collections[:2]]  # edges
        [('feed-forward', 20), ('skip', 1)]
        >>> [(c.get_gid(), len(c.get_offsets())) for c in ax.collections[2:]]  # nodes
        [('input', 3), ('hidden', 4), ('output', 2)]
    """
    check_net(net, "graph")
    max_edges = positive_int(max_edges, "max_edges")
    ax = axes(ax, figsize=(7.0, 4.5))
    s = net.structure
    level = np.asarray(s.level)
    src, dst = (a.cpu().numpy() for a in s.edge_index)
    delay = s.delay.cpu().numpy()
    w = net.weight.detach().cpu().double().numpy()
    recurrent = delay > 0
    skip = ~recurrent & (level[dst] - level[src] > 1)
    kinds = np.where(recurrent, 2, np.where(skip, 1, 0))
    if s.num_edges > max_edges:
        scale = _aggregated(ax, level, src, dst, kinds, w, cmap)
        labels = False
    else:
        scale = _detailed(ax, s, level, src, dst, kinds, w, cmap, labels)
    depth = s.num_levels
    ax.set_xticks(range(depth), [str(ell) for ell in range(depth)])
    ax.set_xlabel("level")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlim(-0.6, depth - 0.4)
    ax.set_title(
        f"{s.num_nodes} nodes, {s.num_edges} edges, {depth} levels"
        + (" (aggregated by level)" if s.num_edges > max_edges else ""),
        fontsize=9,
        loc="left",
    )
    present = sorted(set(kinds.tolist()))
    if present and (len(present) > 1 or present != [0]):
        from matplotlib.lines import Line2D

        ax.legend(
            handles=[
                Line2D([], [], color="0.3", linestyle=_STYLE[EDGE_KINDS[k]], label=EDGE_KINDS[k])
                for k in present
            ],
            fontsize=7,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncol=3,
            frameon=False,
            borderaxespad=0.2,
        )
    if colorbar and s.num_edges:
        _colorbar(ax, cmap, scale, "net sign Σw/Σ|w|" if s.num_edges > max_edges else "weight")
    return ax


def _detailed(ax, s, level, src, dst, kinds, w, cmap, labels) -> float:
    from matplotlib.collections import LineCollection

    pos = _positions(level)
    rgba, t, scale = _weight_colours(w, cmap)
    height = max(1.0, float(np.ptp(pos[:, 1])) if len(pos) else 1.0)
    for k, kind in enumerate(EDGE_KINDS):
        ids = np.flatnonzero(kinds == k)
        if not ids.size:
            continue
        ids = ids[np.argsort(t[ids], kind="stable")]  # strong edges on top
        lines = []
        for e in ids.tolist():
            (x0, y0), (x1, y1) = pos[src[e]], pos[dst[e]]
            if kind == "feed-forward":
                lines.append(np.array([[x0, y0], [x1, y1]]))
            elif kind == "skip":
                lines.append(_arc(x0, y0, x1, y1, 0.1 * height * (x1 - x0)))
            elif src[e] == dst[e]:  # a self loop: a small dashed circle below the node
                a = np.linspace(0, 2 * np.pi, 17)
                lines.append(np.c_[x0 + 0.12 * np.sin(a), y0 - 0.18 + 0.18 * np.cos(a)])
            else:
                lines.append(_arc(x0, y0, x1, y1, -0.1 * height * (1 + abs(x1 - x0))))
        ax.add_collection(
            LineCollection(
                lines,
                colors=rgba[ids],
                linewidths=0.4 + 1.8 * t[ids],
                linestyles=_STYLE[kind],
                gid=kind,
                zorder=1,
            )
        )
    roles = np.full(s.num_nodes, 1)
    roles[s.inputs.cpu().numpy()] = 0
    roles[s.outputs.cpu().numpy()] = 2
    size = float(np.clip(2000 / max(1, s.num_nodes), 6, 60))
    for r, (role, colour, marker) in enumerate(_ROLES):
        nodes = np.flatnonzero(roles == r)
        if nodes.size:
            ax.scatter(
                pos[nodes, 0],
                pos[nodes, 1],
                s=size,
                c=colour,
                marker=marker,
                edgecolors="black",
                linewidths=0.6,
                zorder=3,
                gid=role,
            )
    if labels is None:
        labels = s.num_nodes <= 40
    if labels:
        for i, label in enumerate(s.labels):
            ax.annotate(
                str(label),
                pos[i],
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                zorder=4,
            )
    ax.autoscale_view()
    return scale


def _aggregated(ax, level, src, dst, kinds, w, cmap) -> float:
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    depth = int(level.max()) + 1 if level.size else 0
    counts = np.bincount(level, minlength=depth)
    heights = 0.6 + 2.4 * np.sqrt(counts / max(1, counts.max()))
    for ell in range(depth):
        ax.add_patch(
            Rectangle(
                (ell - 0.12, -heights[ell] / 2),
                0.24,
                heights[ell],
                facecolor="0.85",
                edgecolor="black",
                lw=0.6,
                zorder=3,
                gid="level",
            )
        )
        ax.text(ell, 0, f"{counts[ell]:,}", ha="center", va="center", fontsize=7, zorder=4)
    # one bundle per (kind, source level, destination level)
    key = (kinds * depth + level[src]) * depth + level[dst]
    uniq, inverse, n = np.unique(key, return_inverse=True, return_counts=True)
    total = np.bincount(inverse, weights=w, minlength=uniq.size)
    mass = np.bincount(inverse, weights=np.abs(w), minlength=uniq.size)
    sign = np.divide(total, mass, out=np.zeros_like(total), where=mass > 0)
    width = 0.6 + 4.0 * np.log1p(n) / np.log1p(n.max())
    top = heights.max() / 2
    for k, kind in enumerate(EDGE_KINDS):
        ids = np.flatnonzero(uniq // (depth * depth) == k)
        if not ids.size:
            continue
        lines, mids = [], []
        for b in ids.tolist():
            la, lb = divmod(int(uniq[b]) % (depth * depth), depth)
            if kind == "feed-forward":
                line = np.array([[la + 0.12, 0.0], [lb - 0.12, 0.0]])
            elif kind == "skip":
                line = _arc(la, heights[la] / 2, lb, heights[lb] / 2, 0.5 * top * (lb - la))
            else:
                line = _arc(la, -heights[la] / 2, lb, -heights[lb] / 2, -0.6 * top)
                if la == lb:
                    a = np.linspace(0, 2 * np.pi, 25)
                    line = np.c_[la + 0.2 * np.sin(a), -heights[la] / 2 - 0.3 + 0.3 * np.cos(a)]
            lines.append(line)
            mids.append(line.mean(0) if len(line) == 2 else line[len(line) // 2])
        # balanced bundles (net sign near 0) turn grey rather than the colormap's white
        rgba = colormaps[cmap](0.5 + 0.5 * sign[ids])
        mix = (1 - np.abs(sign[ids]))[:, None] * 0.7
        rgba[:, :3] = (1 - mix) * rgba[:, :3] + mix * 0.55
        ax.add_collection(
            LineCollection(
                lines,
                colors=rgba,
                linewidths=width[ids],
                linestyles=_STYLE[kind],
                gid=kind,
                zorder=1,
            )
        )
        for b, (x, y) in zip(ids.tolist(), mids, strict=True):
            ax.text(
                x,
                y,
                f"{n[b]:,}",
                ha="center",
                va="bottom",
                fontsize=7,
                zorder=4,
                gid=f"{kind}-count",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
    ax.autoscale_view()
    ax.set_ylim(-2.2 * top - 0.4, 2.2 * top + 0.4)
    return 1.0


def _level_bounds(net) -> tuple[np.ndarray, list[int]]:
    """The level of every position of ``net.order``, and where each level starts."""
    level = np.asarray(net.structure.level)[net.schedule.order.cpu().numpy()]
    starts = [0] + (np.flatnonzero(np.diff(level)) + 1).tolist()
    return level, starts


def _mark_levels(ax, net, *, columns: bool) -> None:
    """Lines between the levels of ``net.order`` (rows, and columns too), ticks at their
    middles."""
    level, starts = _level_bounds(net)
    bounds = starts[1:]
    for b in bounds:
        ax.axhline(b - 0.5, color="black", lw=0.6, gid="level-boundary")
        if columns:
            ax.axvline(b - 0.5, color="black", lw=0.6, gid="level-boundary")
    ends = starts[1:] + [len(level)]
    middles = [(a + b - 1) / 2 for a, b in zip(starts, ends, strict=True)]
    names = [str(int(level[a])) for a in starts]
    if len(starts) <= 40:
        ax.set_yticks(middles, names)
        if columns:
            ax.set_xticks(middles, names)


def weights(
    net,
    *,
    delay: int = 0,
    ax=None,
    cmap: str = "RdBu_r",
    colorbar: bool = True,
    max_nodes: int = 5000,
):
    """The weight matrix ``W[dst, src]`` (``net.to_dense(delay)``), rows and columns in
    ``net.order``, with lines between the levels.

    A layered net gives the block sub-diagonal matrix of ``004_…`` Eq. 1 (``z = W a + b`` for
    all nodes at once), and its sparsity pattern is the picture of ``004_…`` Fig. 3. Cells
    without an edge are light grey, so a missing edge and a zero weight differ; weights use the
    diverging scale of :func:`graph`. Ticks name the levels.

    Args:
        net (BaseGraphNet): the net.
        delay (int): draw the edges of this delay (default: ``0``, the feed-forward ones).
        ax (matplotlib.axes.Axes, optional): where to draw (default: a new figure).
        cmap (str): a diverging matplotlib colormap (default: ``"RdBu_r"``).
        colorbar (bool): add a colour bar (default: ``True``).
        max_nodes (int): refuse larger nets, whose ``N × N`` matrix would not fit a picture
            (default: ``5000``).

    Shapes:
        - **image:** ``[N, N]``, ``NaN`` where there is no edge.

    Returns:
        matplotlib.axes.Axes: ``ax``; ``ax.images[0]`` holds the matrix, the level lines
        have the ``gid`` ``"level-boundary"``.

    Raises:
        TypeError: if ``net`` is not a graphnets net or ``ax`` not an ``Axes``.
        ValueError: for a bad ``delay``, or a net of more than ``max_nodes`` nodes.

    Example:
        >>> import graphnets
        >>> from graphnets import plot
        >>> ax = plot.weights(graphnets.mlp([3, 4, 2], seed=0))
        >>> ax.images[0].get_array().shape, len(ax.lines)
        ((9, 9), 4)
    """
    check_net(net, "weights")
    max_nodes = positive_int(max_nodes, "max_nodes")
    n = net.num_nodes
    if n > max_nodes:
        raise ValueError(
            f"plot.weights draws an N x N matrix and expects at most max_nodes={max_nodes} "
            f"nodes, got a net of {n}; pass a larger max_nodes, or use plot.graph, which "
            "aggregates large nets"
        )
    ax = axes(ax, figsize=(5.5, 4.8))
    W = net.to_dense(delay).detach().cpu().double().numpy()
    s = net.structure
    pos = net.schedule.position.cpu().numpy()
    ids = (s.delay == delay).nonzero()[:, 0]
    src, dst = (a.cpu().numpy() for a in s.edge_index[:, ids])
    present = np.zeros((n, n), dtype=bool)
    present[pos[dst], pos[src]] = True
    W[~present] = np.nan
    scale = float(np.nanmax(np.abs(W))) if present.any() else 1.0
    scale = scale if scale > 0 else 1.0
    from matplotlib import colormaps

    colours = colormaps[cmap].with_extremes(bad="0.92")
    image = ax.imshow(W, cmap=colours, vmin=-scale, vmax=scale, interpolation="nearest")
    _mark_levels(ax, net, columns=True)
    ax.set_xlabel("source level (columns in net.order)")
    ax.set_ylabel("destination level (rows)")
    ax.set_title(f"weights, delay {delay}: {ids.numel()} edges", fontsize=9)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="weight", fraction=0.046, pad=0.04)
    return ax


def activity(
    net,
    x: torch.Tensor,
    *,
    ax=None,
    pre: bool = False,
    cmap: str = "viridis",
    colorbar: bool = True,
):
    """The value of every node for every sample of a batch: one row per node in
    ``net.order`` (levels marked), one column per sample.

    What the neurons do, level by level: dead or saturated nodes are flat rows, and how a
    level reacts to different inputs shows across the columns (the activity picture of the
    URN). Values come from :func:`graphnets.kernels.trace.trace`, so they are the ones
    ``net(x)`` computes.

    Args:
        net (BaseGraphNet): a feed-forward net (unroll a recurrent one first).
        x (Tensor): ``[B, n_inputs]`` the batch, in the net's dtype.
        ax (matplotlib.axes.Axes, optional): where to draw (default: a new figure).
        pre (bool): draw the pre-activations ``z`` instead of the activations ``a``
            (default: ``False``).
        cmap (str): a matplotlib colormap (default: ``"viridis"``).
        colorbar (bool): add a colour bar (default: ``True``).

    Shapes:
        - **x:** ``[B, n_inputs]``; **image:** ``[N, B]``.

    Returns:
        matplotlib.axes.Axes: ``ax``; ``ax.images[0]`` holds the ``[N, B]`` values.

    Raises:
        TypeError: if ``net`` is not a graphnets net, ``x`` not a floating tensor of the
            net's dtype, or ``ax`` not an ``Axes``.
        ValueError: if ``x`` is not ``[B, n_inputs]``, or the net is recurrent.

    Example:
        >>> import torch, graphnets
        >>> from graphnets import plot
        >>> net = graphnets.mlp([3, 4, 2], seed=0)
        >>> ax = plot.activity(net, torch.randn(16, 3))
        >>> ax.images[0].get_array().shape
        (9, 16)
    """
    from ..kernels.trace import trace

    check_net(net, "activity")
    n_in = len(net.inputs)
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(
            f"x must be a floating torch.Tensor [B, {n_in}], got "
            + (f"a tensor of {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__)
        )
    if x.dim() != 2 or x.shape[1] != n_in:
        raise ValueError(
            f"x must be [B, {n_in}] (a batch of the net's inputs), got {list(x.shape)}"
        )
    dtype = net.weight.dtype
    if x.dtype != dtype:
        raise TypeError(f"x is {x.dtype} but the net computes in {dtype}; pass x.to({dtype})")
    if net.structure.is_recurrent:
        raise ValueError(
            "plot.activity draws a feed-forward net; this one has delayed edges: unroll it "
            "first (graphnets.unroll(net, steps)) and draw the unrolled net"
        )
    ax = axes(ax, figsize=(6.0, 4.8))
    with torch.no_grad():
        t = trace(net, x.to(net.weight.device))
        values = t.pre_activations() if pre else t.activations()
    order = net.schedule.order.cpu()
    V = values[:, order.to(values.device)].T.cpu().double().numpy()
    image = ax.imshow(V, aspect="auto", cmap=cmap, interpolation="nearest")
    _mark_levels(ax, net, columns=False)
    ax.set_xlabel("sample")
    ax.set_ylabel("level (rows: nodes in net.order)")
    ax.set_title(
        ("pre-activations z" if pre else "activations a") + f" of {len(V)} nodes", fontsize=9
    )
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="z" if pre else "a", fraction=0.046, pad=0.04)
    return ax


#: Bar colours of the kernels :func:`levels` shows.
KERNEL_COLOURS = {
    "bias": "0.75",
    "dense": "tab:blue",
    "sparse": "tab:orange",
    "scatter": "tab:green",
    "fused": "tab:purple",
}


def levels(net, *, ax=None, log: bool = True):
    """Nodes and in-edges of every level as bars, coloured by the kernel that runs the level.

    The picture of ``net.level_table()``: per level, a light bar of its nodes and a dark bar
    of its in-edges, both coloured by the level's kernel, with the kernel named above.

    Args:
        net (BaseGraphNet): the net.
        ax (matplotlib.axes.Axes, optional): where to draw (default: a new figure).
        log (bool): a logarithmic count axis (default: ``True``).

    Returns:
        matplotlib.axes.Axes: ``ax``; the bars are ``ax.containers[0]`` (nodes) and
        ``ax.containers[1]`` (in-edges), one bar per level.

    Raises:
        TypeError: if ``net`` is not a graphnets net or ``ax`` not an ``Axes``.

    Example:
        >>> import graphnets
        >>> from graphnets import plot
        >>> ax = plot.levels(graphnets.mlp([3, 4, 2], seed=0, kernel="levelwise"))
        >>> [int(b.get_height()) for b in ax.containers[1]]  # in-edges per level
        [0, 12, 8]
    """
    check_net(net, "levels")
    ax = axes(ax, figsize=(max(4.0, 0.5 * net.depth + 2), 3.5))
    table = net.level_table()
    x = np.array([r["level"] for r in table])
    nodes = np.array([r["nodes"] for r in table], dtype=float)
    edges = np.array([r["edges"] for r in table], dtype=float)
    kernels = [r["kernel"] for r in table]
    colours = [KERNEL_COLOURS.get(k, "0.5") for k in kernels]
    ax.bar(x - 0.2, nodes, 0.4, color=colours, alpha=0.45, edgecolor="black", lw=0.5, label="nodes")
    ax.bar(x + 0.2, edges, 0.4, color=colours, edgecolor="black", lw=0.5, label="in-edges")
    if log:
        ax.set_yscale("log")
    top = max(nodes.max(), edges.max(), 1.0)
    for ell, kernel in zip(x.tolist(), kernels, strict=True):
        ax.text(ell, top * (1.6 if log else 1.05), kernel, ha="center", fontsize=7, rotation=90)
    ax.set_ylim(top=top * (12 if log else 1.3))
    ax.set_xticks(x.tolist() if len(x) <= 40 else [])
    ax.set_xlabel("level")
    ax.set_ylabel("count")
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    return ax
