r"""Emergence: read a trained URN off as an ordinary feed-forward GraphNet (``004_…`` §2).

A URN computes ``ŷ`` through ``I`` iterations of one weight matrix. On a data set ``x`` most of
its neurons are never active and most of its weights are zero, and what is left is a small
feed-forward net. :func:`emerge` builds it as the URN's graph unrolled over the iterations and
restricted to what ``x`` uses:

1. weights: the zero ones are not edges; among the others, the smallest are dropped as long as
   the outputs on ``x`` move by at most ``tol / 2`` (a bisection over the distinct magnitudes;
   the other half of ``tol`` is left to rounding, since the emergent net sums in another order);
2. nodes: neuron ``i`` at iteration ``l`` is a node ``(i, l)`` if it is active (nonzero) on some
   sample of ``x``; inactive values are zero on ``x`` and are left out exactly;
3. edges: a weight ``W_ij`` joins every node that carries a part of ``N_j^{(l-1)}`` to ``(i,
   l)``: ``(j, l-1)``; the input node ``("x", j)`` at ``l = 1`` (and at every ``l`` for residual
   input neurons, Eq. 7: skip edges); every earlier ``(j, m)`` for residual output neurons
   (Eq. 6, which accumulate);
4. outputs: ``(o, I)`` for each output neuron ``o``, or, for residual outputs, a linear node
   ``("y", k)`` summing the ``(o, l)`` with weight 1;
5. nodes with no path to an output go, and those no input reaches (constants) are folded into
   the biases they feed (:meth:`~graphnets.GraphNet.prune_dead`).

The result is a GraphNet whose outputs on ``x`` equal the URN's to within ``tol`` (the report's
``max_diff`` says by how much): the paper's check by "setting all other weights to zero". When
every kept neuron is active at one iteration only, it is an MLP whose layers are the
iterations: each neuron is assigned to the iteration at which it first becomes active (§2).

Not done here: no generalisation check beyond ``x`` (a neuron never active on ``x`` may be
active on other inputs; pass the data the structure should hold for).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ...core.structure import Structure
from ...nn.graphnet import GraphNet
from .model import URN

__all__ = ["Emergence", "emerge", "choose_threshold", "direction_counts"]


@dataclass
class Emergence:
    """What :func:`emerge` found.

    Attributes:
        threshold: weights with ``|w| <= threshold`` were dropped (``0.0``: only exact zeros).
        tol: the tolerance asked for.
        max_diff: the largest ``|emergent(x) − urn(x)|`` over ``x`` and the outputs.
        active: URN neurons active (nonzero on some sample) at some iteration ``1 … I``, with
            the threshold applied (the paper's count of active neurons).
        layers: one dict per iteration ``l = 0 … I``: ``neurons`` (nodes ``(i, l)`` kept; at
            ``l = 0`` the inputs with an edge), ``hidden`` (those of neurons that are not output
            neurons of the URN), ``edges`` (edges into them).
        hidden: ``[layers[l]["hidden"] for l = 1 … I]``: the hidden layer sizes.
        forward, backward, same: kept URN weights ``j → i`` between kept neurons whose
            destination first becomes active later than, earlier than, or at the same iteration
            as its source (the colours of Fig. 6, by iteration).
        skip_edges: edges of the emergent net that skip at least one iteration.
        reused: neurons kept at more than one iteration (0 for a plain MLP).
        neurons: distinct URN neurons in the emergent net (inputs with an edge included).
        edges: edges of the emergent net.
        urn_edges: nonzero URN weights after the threshold.
        first_active: ``LongTensor [S]``, the iteration each kept neuron first appears at in the
            emergent net (inputs ``0``), ``-1`` for neurons left out.
        z_directions: with a geometry, the same weights as ``forward``/``backward``/``same``
            counted by height instead: ``{"forward": z_i > z_j, "backward": z_i < z_j,
            "lateral": z_i = z_j}`` (Fig. 6); else ``None``.
    """

    threshold: float
    tol: float
    max_diff: float
    active: int
    layers: list[dict]
    hidden: list[int]
    forward: int
    backward: int
    same: int
    skip_edges: int
    reused: int
    neurons: int
    edges: int
    urn_edges: int
    first_active: torch.Tensor = field(repr=False)
    z_directions: dict[str, int] | None = None

    def table(self) -> str:
        """The layers as a markdown table."""
        rows = ["| iteration | neurons | hidden | edges in |", "|---|---|---|---|"]
        rows += [
            f"| {d['iteration']} | {d['neurons']} | {d['hidden']} | {d['edges']} |"
            for d in self.layers
        ]
        return "\n".join(rows)


def _outputs(urn: URN, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return urn.activities(x, weight=weight)[-1][:, urn.S - urn.d_out :]


@torch.no_grad()
def choose_threshold(urn: URN, x: torch.Tensor, budget: float) -> float:
    """The largest magnitude ``t`` such that zeroing every weight with ``|w| <= t`` moves the
    URN's outputs on ``x`` by at most ``budget`` (``0.0`` when even the smallest weight moves
    them more). A bisection over the distinct magnitudes: the move is not exactly monotone in
    ``t``, so ``t`` is a largest one found, checked, not a proven maximum.

    Example:
        >>> urn = URN(20, 2, 2, 1, seed=0)
        >>> x = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
        >>> t = choose_threshold(urn, x, 1e-3)
        >>> w = urn.net.weight.detach()
        >>> kept = torch.where(w.abs() <= t, torch.zeros_like(w), w)
        >>> moved = urn.activities(x, weight=kept)[-1, :, -1] - urn(x)[:, 0]
        >>> int((kept == 0).sum()), bool(moved.abs().max() <= 1e-3)
        (50, True)
    """
    w = urn.net.weight.detach()
    ref = _outputs(urn, x, w)
    mags = torch.unique(w.abs())
    mags = mags[mags > 0]
    lo, hi = 0, int(mags.numel())  # drop the lo smallest magnitudes: known to fit the budget

    def moves(k: int) -> float:
        dropped = torch.where(w.abs() <= mags[k - 1], torch.zeros_like(w), w)
        return float((_outputs(urn, x, dropped) - ref).abs().max())

    while lo < hi:
        mid = (lo + hi + 1) // 2
        if moves(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return float(mags[lo - 1]) if lo else 0.0


def direction_counts(src_level: np.ndarray, dst_level: np.ndarray) -> tuple[int, int, int]:
    """``(forward, backward, same)``: how many of the pairs have ``dst > src``, ``dst < src``,
    ``dst == src``.

    Example:
        >>> direction_counts(np.array([0, 1, 2]), np.array([1, 1, 0]))
        (1, 1, 1)
    """
    return (
        int((dst_level > src_level).sum()),
        int((dst_level < src_level).sum()),
        int((dst_level == src_level).sum()),
    )


@torch.no_grad()
def emerge(urn: URN, x: torch.Tensor, *, tol: float = 1e-5) -> tuple[GraphNet, Emergence]:
    """The feed-forward GraphNet that a trained URN is on ``x`` (see the module docstring).

    Args:
        urn (URN): a trained URN.
        x (Tensor): ``[B, d_in]``, the data the structure is read on (e.g. the test set).
        tol (float): how far the emergent net's outputs may lie from the URN's on ``x``
            (default: ``1e-5``; ``0`` drops only exact zeros).

    Returns:
        ``(net, report)``: a feed-forward :class:`~graphnets.GraphNet` with inputs ``("x",
        k)``, hidden nodes ``(i, l)`` (neuron ``i`` at iteration ``l``) and outputs ``(o, I)``
        (``("y", k)`` for residual outputs), in the URN's dtype, and an :class:`Emergence`.

    Shapes:
        - **x:** ``[B, d_in]``; **net(x):** ``[B, d_out]``, equal to ``urn(x)`` within ``tol``.

    Raises:
        TypeError: if ``urn`` is not a URN, or ``x`` is not a tensor of its dtype and device.
        ValueError: for a negative or non-finite ``tol``, or ``x`` of the wrong shape.

    Example:
        >>> import torch
        >>> urn = URN(12, 3, 2, 1, seed=0)
        >>> x = torch.randn(16, 2)
        >>> net, report = emerge(urn, x)
        >>> bool((net(x) - urn(x)).abs().max() <= 1e-5), report.max_diff <= 1e-5
        (True, True)
        >>> [d["iteration"] for d in report.layers]
        [0, 1, 2, 3]
    """
    if not isinstance(urn, URN):
        raise TypeError(f"expected a graphnets.urn.URN, got {type(urn).__name__}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < float("inf"):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    ref = urn(x)  # checks x
    if x.dim() == 1:
        x, ref = x[None], ref[None]
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one sample: emergence is read on data")
    S, I, d_in, d_out = urn.S, urn.iterations, urn.d_in, urn.d_out
    w = urn.net.weight.detach()
    threshold = choose_threshold(urn, x, tol / 2) if tol > 0 else 0.0
    wt = torch.where(w.abs() <= threshold, torch.zeros_like(w), w)
    values = urn.activities(x, weight=wt)
    active = (values[1:] != 0).any(1).cpu().numpy()  # [I, S]: active[l - 1, i]
    act = np.zeros((I + 1, S), dtype=bool)
    act[1:] = active

    src_all, dst_all = urn.net.edge_index.numpy()
    nz = (wt != 0).cpu().numpy()
    src, dst = src_all[nz], dst_all[nz]
    wv = wt[torch.from_numpy(np.flatnonzero(nz)).to(w.device)].cpu()
    o0 = S - d_out
    is_out = np.zeros(S, dtype=bool)
    is_out[o0:] = True

    # nodes: inputs, then (i, l) for every active neuron and every output neuron at l = I
    labels: list = [("x", k) for k in range(d_in)]
    acts = ["identity"] * d_in
    biases = [0.0] * d_in
    node = np.full((I + 1, S), -1, dtype=np.int64)
    node[0, :d_in] = np.arange(d_in)
    present = act.copy()
    if urn.residual != "output":
        present[I, o0:] = True
    neuron_acts = urn.net.structure.activations
    b = urn.net.bias.detach().cpu()
    for ell in range(1, I + 1):
        ids = np.flatnonzero(present[ell])
        node[ell, ids] = len(labels) + np.arange(ids.size)
        labels += [(int(i), ell) for i in ids]
        acts += [neuron_acts[i] for i in ids]
        biases += b[torch.from_numpy(ids)].tolist()

    # edges: every node carrying a part of N_j^(l-1) -> (i, l), weight W_ij
    e_src: list[np.ndarray] = []
    e_dst: list[np.ndarray] = []
    e_w: list[torch.Tensor] = []
    for ell in range(1, I + 1):
        into = present[ell, dst]
        parts = [node[ell - 1, src]]  # (j, l-1), or ("x", j) at l = 1
        if urn.residual == "input" and ell > 1:
            parts.append(np.where(src < d_in, node[0, src], -1))
        if urn.residual == "output":
            parts += [np.where(is_out[src], node[m, src], -1) for m in range(1, ell - 1)]
        for part in parts:
            ok = into & (part >= 0)
            e_src.append(part[ok])
            e_dst.append(node[ell, dst[ok]])
            e_w.append(wv[torch.from_numpy(ok)])
    if urn.residual == "output":
        outputs = list(range(len(labels), len(labels) + d_out))
        labels += [("y", k) for k in range(d_out)]
        acts += ["identity"] * d_out
        biases += [0.0] * d_out
        for k in range(d_out):
            carried = node[1:, o0 + k]
            carried = carried[carried >= 0]
            e_src.append(carried)
            e_dst.append(np.full(carried.size, outputs[k], dtype=np.int64))
            e_w.append(torch.ones(carried.size, dtype=wv.dtype))
    else:
        outputs = node[I, o0:].tolist()
    edge_index = torch.from_numpy(np.stack([np.concatenate(e_src), np.concatenate(e_dst)]))
    structure = Structure(edge_index, labels, list(range(d_in)), outputs, acts)
    net = GraphNet(
        structure,
        torch.cat(e_w),
        torch.tensor(biases, dtype=torch.float64),
        dtype=w.dtype,
        device=w.device,
    )
    if net.dead_nodes():
        net.prune_dead()
    max_diff = float((net(x) - ref).abs().max())
    return net, _report(urn, net, act, src, dst, threshold, tol, max_diff, int(nz.sum()))


def _report(urn, net, act, src, dst, threshold, tol, max_diff, urn_edges) -> Emergence:
    S, I = urn.S, urn.iterations
    s = net.structure
    esrc, edst = s.edge_index.numpy()
    has_out = np.zeros(s.num_nodes, dtype=bool)
    has_out[esrc] = True
    level = np.full(s.num_nodes, -1, dtype=np.int64)  # the iteration of every node
    neuron = np.full(s.num_nodes, -1, dtype=np.int64)
    for k, lab in enumerate(s.labels):
        if lab[0] == "x":
            level[k], neuron[k] = 0, lab[1]
        elif lab[0] == "y":
            level[k] = I + 1  # the sum of the residual outputs: after the last iteration
        else:
            neuron[k], level[k] = lab
    layers = []
    for ell in range(I + 1):
        here = level == ell
        if ell == 0:
            here &= has_out
        hidden = here & (neuron >= 0) & (neuron < S - urn.d_out)
        if ell == 0:
            hidden[:] = False
        layers.append(
            {
                "iteration": ell,
                "neurons": int(here.sum()),
                "hidden": int(hidden.sum()),
                "edges": int(here[edst].sum()),
            }
        )
    kept = (neuron >= 0) & ((level > 0) | has_out)
    first = np.full(S, -1, dtype=np.int64)
    for k in np.flatnonzero(kept)[np.argsort(-level[kept], kind="stable")]:
        first[neuron[k]] = level[k]  # the smallest level wins: written last
    both = (first[src] >= 0) & (first[dst] >= 0)
    forward, backward, same = direction_counts(first[src[both]], first[dst[both]])
    z_directions = None
    if urn.geometry is not None:
        z = urn.geometry.z().numpy()
        f, bw, lat = direction_counts(z[src[both]], z[dst[both]])
        z_directions = {"forward": f, "backward": bw, "lateral": lat}
    counts = np.bincount(neuron[kept], minlength=S)
    return Emergence(
        threshold=threshold,
        tol=float(tol),
        max_diff=max_diff,
        active=int(act[1:].any(0).sum()),
        layers=layers,
        hidden=[d["hidden"] for d in layers[1:]],
        forward=forward,
        backward=backward,
        same=same,
        skip_edges=int((level[edst] - level[esrc] > 1).sum()),
        reused=int((counts > 1).sum()),
        neurons=int((counts > 0).sum()),
        edges=s.num_edges,
        urn_edges=urn_edges,
        first_active=torch.from_numpy(first),
        z_directions=z_directions,
    )
