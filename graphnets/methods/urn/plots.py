"""Pictures of an emerged URN, as the paper's Fig. 3 and Fig. 4: the activity of every kept
neuron at every iteration, and the weight matrix between them, neurons sorted by the iteration
at which they first become active (so an emergent MLP shows as blocks below the diagonal).

Drawn through :func:`graphnets.plot.pyplot`, as every picture of graphnets: matplotlib is
imported on first use, with the file-only Agg backend where there is no display.

Not done here: no animation of the training (the paper's video).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ...plot.figure import pyplot
from .emerge import Emergence
from .model import URN

__all__ = ["emergence_figure", "neuron_order"]


def neuron_order(report: Emergence, d_out: int = 0) -> np.ndarray:
    """The kept neurons (``first_active >= 0``), sorted by first active iteration, then index;
    the last ``d_out`` neurons (the URN's outputs) at the end, as the paper draws them.

    Example:
        >>> import torch
        >>> from graphnets.methods.urn import URN, emerge
        >>> urn = URN(8, 2, 2, 1, seed=0)
        >>> _, report = emerge(urn, torch.randn(4, 2, generator=torch.Generator().manual_seed(0)))
        >>> order = neuron_order(report)
        >>> bool((report.first_active[order].diff() >= 0).all())
        True
    """
    first = report.first_active.numpy()
    kept = np.flatnonzero(first >= 0)
    is_out = kept >= first.size - d_out
    return kept[np.lexsort((kept, first[kept], is_out))]


@torch.no_grad()
def emergence_figure(
    urn: URN,
    x: torch.Tensor,
    report: Emergence,
    path: str | os.PathLike | None = None,
    *,
    title: str | None = None,
):
    """Activities (left) and the sorted weight matrix (right) of the kept neurons (Fig. 3, 4).

    Left: the fraction of the samples of ``x`` on which every kept neuron ``i`` (columns, sorted
    by :func:`neuron_order`, the output neurons last) is active (``N_i^{(l)} ≠ 0``) at every
    iteration ``l = 0 … I`` (rows): a neuron of an emergent MLP lights up in one row only.
    Right: ``|W_ij|`` above the report's threshold between the kept neurons (rows ``i`` the
    destinations, columns ``j`` the sources, the same order), on a log scale with zeros blank.
    Dashed lines separate the iterations of first activity.

    Args:
        urn (URN): the URN the report was made from.
        x (Tensor): ``[B, d_in]``, the data of :func:`~graphnets.urn.emerge`.
        report (Emergence): its report.
        path (str, optional): where to write the PNG (default: ``None``, not written).
        title (str, optional): the figure's title.

    Returns:
        matplotlib.figure.Figure: the figure (closed if written to ``path``).

    Raises:
        TypeError: if ``report`` is not an :class:`Emergence`.
        ValueError: if it is the report of a URN of another size.
    """
    if not isinstance(report, Emergence):
        raise TypeError(
            f"expected the Emergence report of emerge(urn, x), got {type(report).__name__}"
        )
    if report.first_active.numel() != urn.S:
        raise ValueError(
            f"expected the report of this URN ({urn.S} neurons), got one of a URN of "
            f"{report.first_active.numel()} neurons"
        )
    from matplotlib.colors import LogNorm

    plt = pyplot()  # the one place that picks a backend: Agg only where there is no display

    order = neuron_order(report, urn.d_out)
    first = report.first_active.numpy()[order]
    first[order >= urn.S - urn.d_out] = urn.iterations + 1  # the outputs: a block of their own
    bounds = np.flatnonzero(np.diff(first)) + 0.5
    idx = torch.from_numpy(order)
    act = (urn.activities(x)[:, :, idx] != 0).double().mean(1).cpu().numpy()
    W = urn.weight_matrix().detach()[idx][:, idx].abs().cpu().numpy()
    W = np.ma.masked_where(W <= report.threshold, W)

    fig, (ax_a, ax_w) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1, 1]})
    im = ax_a.imshow(act, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ax_a.set_xlabel(f"kept neurons ({order.size}), by first active iteration")
    ax_a.set_ylabel("iteration")
    ax_a.set_yticks(range(act.shape[0]))
    ax_a.set_title("activity: fraction of x with N ≠ 0")
    fig.colorbar(im, ax=ax_a, fraction=0.04)
    if W.count():
        im_w = ax_w.imshow(
            W, cmap="magma_r", norm=LogNorm(vmin=W.min(), vmax=W.max()), interpolation="nearest"
        )
        fig.colorbar(im_w, ax=ax_w, fraction=0.04)
    ax_w.set_xlabel("source neuron j (same order)")
    ax_w.set_ylabel("destination neuron i")
    ax_w.set_title(f"|W_ij| ({int(W.count())} nonzero)")
    for b in bounds:
        ax_a.axvline(b, color="white", lw=0.8, ls="--")
        ax_w.axvline(b, color="tab:blue", lw=0.6, ls="--")
        ax_w.axhline(b, color="tab:blue", lw=0.6, ls="--")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=110, bbox_inches="tight")
        plt.close(fig)
    return fig
